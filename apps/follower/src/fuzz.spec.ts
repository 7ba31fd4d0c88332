import type { Server } from 'node:http';
import fc from 'fast-check';
import pino from 'pino';
import { VersionedStore, type Entry } from '@kv/store';
import { FollowerReplica } from '@kv/replication';
import { answerClientErrorsWithJson, createRegistry } from '@kv/node-kit';
import { answerProblems, fuzzRuns, hostileRequest, sendRaw } from '@kv/node-kit/testing';
import { createFollowerApp } from './app';

interface Snapshot {
  readonly appliedVersion: number;
  readonly leaderEpoch: number;
  readonly keys: number;
  /** The entry objects themselves: a refused request must not even replace one with an equal copy. */
  readonly entries: readonly Entry[];
}

const silent = pino({ level: 'silent' });

describe.each([
  ['with CLUSTER_TOKEN', 's3cret-token'],
  ['without CLUSTER_TOKEN', null],
])('follower under hostile input, %s', (_name, clusterToken) => {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, 'follower-under-fuzz');
  let server: Server;

  const snapshot = (): Snapshot => ({
    appliedVersion: replica.appliedVersion,
    leaderEpoch: replica.leaderEpoch,
    keys: store.keyCount,
    entries: [...store.entriesByVersion()],
  });
  const unchanged = (before: Snapshot, after: Snapshot) =>
    before.appliedVersion === after.appliedVersion &&
    before.leaderEpoch === after.leaderEpoch &&
    before.keys === after.keys &&
    before.entries.length === after.entries.length &&
    before.entries.every((entry, i) => entry === after.entries[i]);

  beforeAll(async () => {
    const app = createFollowerApp({
      store,
      replica,
      leaderUrl: 'http://leader.test',
      clusterToken,
      logger: silent,
      registry: createRegistry({ defaultMetrics: false }),
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    // As serve() does in production: malformed HTTP gets a JSON answer too.
    answerClientErrorsWithJson(server, silent);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('never answers 5xx, HTML or a stack trace, and a refused request changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest({ clusterToken }), async (raw) => {
        const before = snapshot();
        const answer = await sendRaw(server, raw);
        const problems = answerProblems(raw, answer);
        if (answer.status >= 400 && !unchanged(before, snapshot())) problems.push(`refused with ${answer.status} but the store changed`);
        if (clusterToken !== null && raw.headers['x-cluster-token'] !== clusterToken && /^\/replicate\/?(\?|$)/i.test(raw.url) && raw.method === 'POST') {
          if (answer.status !== 401) problems.push(`replication without the right token answered ${answer.status}, not 401`);
        }
        if (problems.length > 0) throw new Error(`${problems.join('; ')}: answered ${answer.status} ${answer.text.slice(0, 300)}`);
      }),
      { numRuns: fuzzRuns(500) },
    );
    // Seconds on an idle machine; the default 5 s is too tight on two shared cores.
  }, 60_000);
});
