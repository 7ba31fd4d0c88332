import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FileJournal } from '@kv/persistence';
import type { LeaderMeta } from '@kv/replication';
import { parseLeaderConfig } from '@kv/node-kit';
import { createLeaderNode } from './leader-node';

describe('createLeaderNode with DATA_DIR', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'leader-node-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('after a recovery cut short by a crash, never gives again a version that recovery had reserved', async () => {
    // What a leader killed while persisting a recovered state leaves: the recovering marker,
    // whose reservation covers every version assigned before it (here 50,000). The state is
    // not the leader's own, and nobody else (no followers here) can tell those versions.
    const opened = await FileJournal.open<LeaderMeta>(dir, { fsync: 'always' });
    await opened.journal.commit({ clear: true, meta: { epoch: 7, leaderId: 'cutshort', reservedVersion: 50_000, droppedThrough: 0, recovering: true } });
    await opened.journal.close();

    const node = await createLeaderNode(parseLeaderConfig({ DATA_DIR: dir, FOLLOWERS: '', WRITE_QUORUM: '0' }), pino({ level: 'silent' }));
    try {
      node.start();
      const leader = await node.ready;
      expect(leader.put('after', 1, 0).entry.version).toBeGreaterThan(50_000);
    } finally {
      await node.close();
    }
  });
});
