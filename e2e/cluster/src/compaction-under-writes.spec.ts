import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCluster } from '@kv/local-cluster';
import { listAll, put } from './client';

const SMALL_KEYS = 2500;
const MIB = 1024 * 1024;
const OVERWRITERS = 8;

describe('DATA_DIR: a snapshot taken while writes continue loses nothing', () => {
  let dataRoot: string;
  let cluster: LocalCluster | undefined;

  beforeEach(async () => {
    dataRoot = await mkdtemp(path.join(tmpdir(), 'kv-compaction-'));
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('keeps every small key after kill -9 when the log was compacted while they were being overwritten', async () => {
    cluster = await LocalCluster.start({ dataRoot, followers: 1, leaderEnv: { WRITE_QUORUM: '0' } });
    const leader = cluster.leader;
    const acked = new Map<string, number>();
    const write = async (key: string, value: unknown) => {
      const res = await put(leader.url, key, value, 0);
      expect(res.status).toBe(200);
      acked.set(key, Math.max(acked.get(key) ?? 0, res.body.version as number));
    };
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < SMALL_KEYS) await write(`k${next++}`, next);
    }));

    // Past 64 MiB of log the leader writes a snapshot; small keys are overwritten meanwhile.
    const big = 'x'.repeat(MIB - 100);
    let bigWrites = 0;
    let done = false;
    // Many writers: each change is in the store before it waits for the disk, so many land
    // between two records of the snapshot.
    const overwriter = async (w: number) => {
      for (let i = w; !done; i += OVERWRITERS) await write(`k${(i * 7919) % SMALL_KEYS}`, { again: i });
    };
    const bigWriter = async () => {
      const logDir = path.join(dataRoot, 'leader');
      while (!(await readdir(logDir)).includes('snapshot') || bigWrites < 70) {
        await write('big', `${bigWrites++}${big}`);
        if (bigWrites > 150) break;
      }
      done = true;
    };
    await Promise.all([bigWriter(), ...Array.from({ length: OVERWRITERS }, (_, w) => overwriter(w))]);
    expect(await readdir(path.join(dataRoot, 'leader'))).toContain('snapshot');

    await leader.kill();
    await leader.start();
    const served = new Map((await listAll(leader.url)).map((item) => [item.key, item.version]));
    const missing = [...acked].filter(([key, version]) => (served.get(key) ?? 0) < version).map(([key]) => key);
    expect(missing).toEqual([]);
  }, 60_000);
});
