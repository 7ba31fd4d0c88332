import { appendFile, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCluster } from '@kv/local-cluster';
import { get, listAll, put, status, waitConverged } from './client';

interface Acked {
  version: number;
  value: unknown;
}

/** Writers that keep going through a leader crash, remembering every write answered 200. */
async function stormThroughCrash(leader: string, options: { writers: number; writes: number; keys: number; crashAt: number; crash: () => Promise<void> }) {
  const acked = new Map<string, Acked>();
  let next = 0;
  let failures = 0;
  const writer = async () => {
    while (next < options.writes && failures < 200) {
      const index = next++;
      if (index === options.crashAt) await options.crash();
      const key = `key${index % options.keys}`;
      try {
        const res = await put(leader, key, { index });
        if (res.status !== 200) continue;
        const version = res.body.version as number;
        if ((acked.get(key)?.version ?? 0) < version) acked.set(key, { version, value: { index } });
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.writers }, writer));
  return acked;
}

async function followerLog(dataDir: string): Promise<string> {
  const logs = (await readdir(dataDir)).filter((f) => f.startsWith('log.')).sort();
  return path.join(dataDir, logs[logs.length - 1]);
}

describe('DATA_DIR: no acknowledged write lost across kill -9', () => {
  let dataRoot: string;
  let cluster: LocalCluster | undefined;

  beforeEach(async () => {
    dataRoot = await mkdtemp(path.join(tmpdir(), 'kv-durability-'));
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('keeps every write the leader acknowledged when it is killed mid-storm, and continues versions above them', async () => {
    cluster = await LocalCluster.start({ dataRoot, leaderEnv: { WRITE_QUORUM: '2' } });
    const leader = cluster.leader;
    const acked = await stormThroughCrash(leader.url, { writers: 8, writes: 1500, keys: 300, crashAt: 700, crash: () => leader.kill() });
    expect(acked.size).toBeGreaterThan(100);

    await leader.start();
    expect(leader.lines.some((l) => /restored \d+ keys/.test(l))).toBe(true);
    for (const [key, write] of acked) {
      const read = await get(leader.url, key);
      expect(read.status).toBe(200);
      expect(read.body.version).toBeGreaterThanOrEqual(write.version);
      if (read.body.version === write.version) expect(read.body.value).toEqual(write.value);
    }
    const highestAcked = Math.max(...[...acked.values()].map((w) => w.version));
    const after = await put(leader.url, 'after-restart', 1, 5);
    expect(after.status).toBe(200);
    expect(after.body.version).toBeGreaterThan(highestAcked);
    await waitConverged(leader.url, cluster.followers.map((f) => f.url), 5000);
  });

  it('serves a restarted follower from disk at once, even with the leader paused, then catches up only the delta', async () => {
    cluster = await LocalCluster.start({ dataRoot, leaderEnv: { WRITE_QUORUM: '5' } });
    const [follower] = cluster.followers;
    for (let i = 0; i < 300; i++) expect(await put(cluster.leader.url, `k${i}`, i)).toMatchObject({ status: 200 });
    const before = (await status(follower.url)).body as { appliedVersion: number; keys: number };
    expect(before).toMatchObject({ appliedVersion: 300, keys: 300 });

    await follower.kill();
    for (let i = 0; i < 10; i++) expect(await put(cluster.leader.url, `late${i}`, i, 4)).toMatchObject({ status: 200 });
    const entriesBefore = await replicatedEntries(cluster.leader.url, follower.url);

    cluster.leader.pause();
    try {
      await follower.start();
      expect((await status(follower.url)).body).toMatchObject({ appliedVersion: 300, keys: 300 });
      expect((await get(follower.url, 'k299')).body).toMatchObject({ value: 299, version: 300 });
    } finally {
      cluster.leader.resume();
    }
    await waitConverged(cluster.leader.url, [follower.url], 5000);
    // Only what it missed travelled again, not the 300 keys it kept on disk.
    const sent = (await replicatedEntries(cluster.leader.url, follower.url)) - entriesBefore;
    expect(sent).toBeGreaterThanOrEqual(10);
    expect(sent).toBeLessThan(100);
  });

  it.each([
    ['garbage after the last record', (file: string) => appendFile(file, Buffer.from([0x09, 0, 0, 0, 1, 2, 3, 4, 0x7b, 0x22]))],
    ['a truncated last record', async (file: string) => truncate(file, (await stat(file)).size - 4)],
  ])('starts after %s in its log, keeps what it acknowledged before, and converges', async (_name, damage) => {
    cluster = await LocalCluster.start({ dataRoot, leaderEnv: { WRITE_QUORUM: '5' } });
    const victim = cluster.followers[2];
    for (let i = 0; i < 50; i++) expect(await put(cluster.leader.url, `k${i}`, i)).toMatchObject({ status: 200 });
    await victim.kill();
    await damage(await followerLog(path.join(dataRoot, victim.name)));

    await victim.start();
    expect(victim.lines.some((l) => /dropped a torn tail of \d+ bytes/.test(l))).toBe(true);
    // Everything before the torn record is served from disk.
    const served = await listAll(victim.url);
    expect(served.length).toBeGreaterThanOrEqual(49);
    await waitConverged(cluster.leader.url, [victim.url], 5000);
  });
});

async function replicatedEntries(leader: string, follower: string): Promise<number> {
  const text = await (await fetch(`${leader}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`kv_replicated_entries_total{follower="${follower}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
