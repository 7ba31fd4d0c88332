import { EventSource } from 'eventsource';
import { LocalCluster } from '@kv/local-cluster';
import { call, listAll, put, waitConverged, type Item } from './client';
import { storm } from './storm';

interface Change {
  type: 'put' | 'delete' | 'reset';
  version: number;
  key: string;
  value?: unknown;
}

/** A watcher through the `eventsource` client: records every change, in arrival order. */
function watcher(url: string, lastEventId?: number) {
  const changes: Change[] = [];
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(lastEventId === undefined ? {} : { 'Last-Event-ID': String(lastEventId) }) } }),
  });
  for (const type of ['put', 'delete', 'reset'] as const) {
    source.addEventListener(type, (event) => {
      const data = JSON.parse(event.data) as { key: string; value?: unknown; version: number };
      changes.push({ type, version: data.version, key: data.key, value: data.value });
    });
  }
  const opened = new Promise<void>((resolve) => (source.onopen = () => resolve()));
  return { source, changes, opened };
}

/** Replays changes onto `state`; checks they come in strictly increasing version order. */
function replay(changes: readonly Change[], state = new Map<string, Item>()): Map<string, Item> {
  let last = 0;
  for (const change of changes) {
    expect(change.type).not.toBe('reset');
    expect(change.version).toBeGreaterThan(last);
    last = change.version;
    if (change.type === 'delete') state.delete(change.key);
    else state.set(change.key, { key: change.key, value: change.value, version: change.version });
  }
  return state;
}

const sorted = (state: Map<string, Item>) => [...state.values()].sort((a, b) => (Buffer.from(a.key) < Buffer.from(b.key) ? -1 : 1));

describe('read-your-writes and watch on real processes, delays 0-300 ms', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '1', MIN_DELAY_MS: '0', MAX_DELAY_MS: '300' } });
  });
  afterAll(async () => cluster?.stop());

  it('a client writing with w=1 and reading a random follower with minVersion never sees an older value (200 times)', async () => {
    let stale = 0;
    let reads = 0;
    const client = async (c: number) => {
      for (let i = 0; i < 50; i++) {
        const written = await put(cluster.leader.url, `ryw${c}`, i, 1);
        expect(written.status).toBe(200);
        const version = written.body.version as number;
        const follower = cluster.followers[Math.floor(Math.random() * cluster.followers.length)];
        const read = await call<Item>('GET', `${follower.url}/kv/ryw${c}?minVersion=${version}&timeout=10000`);
        reads++;
        expect(read.status).toBe(200);
        if (read.body.version < version || read.body.value !== i) stale++;
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    expect(reads).toBe(200);
    expect(stale).toBe(0);
  });

  it('a watcher on every follower during a storm of puts and deletes gets, in version order, a stream whose replay is the leader\'s final state; a reconnect with Last-Event-ID misses nothing', async () => {
    const start = (await call<{ version: number }>('GET', `${cluster.leader.url}/status`)).body.version;
    const initial = new Map((await listAll(cluster.leader.url)).map((item) => [item.key, item]));
    const watchers = cluster.followers.map((f) => watcher(`${f.url}/watch?fromVersion=${start}`));
    await Promise.all(watchers.map((w) => w.opened));
    let second: ReturnType<typeof watcher> | undefined;
    let firstPart: Change[] = [];
    const reconnecting = watcher(`${cluster.followers[0].url}/watch?fromVersion=${start}`);
    await reconnecting.opened;
    const result = await storm({
      leader: cluster.leader.url,
      writers: 6,
      writes: 1500,
      keys: 30,
      deleteEvery: 3,
      w: 1,
      onOperation: (i) => {
        if (i === 700) {
          reconnecting.source.close();
          firstPart = [...reconnecting.changes];
          const last = firstPart.length > 0 ? firstPart[firstPart.length - 1].version : start;
          // fromVersion says the start; Last-Event-ID wins.
          second = watcher(`${cluster.followers[0].url}/watch?fromVersion=${start}`, last);
        }
      },
    });
    expect(result.notOk).toBe(0);
    await waitConverged(cluster.leader.url, cluster.followers.map((f) => f.url), 10_000);
    const finalVersion = (await call<{ version: number }>('GET', `${cluster.leader.url}/status`)).body.version;
    const expected = await listAll(cluster.leader.url);
    const caughtUp = (w: { changes: Change[] }) => w.changes.length > 0 && w.changes[w.changes.length - 1].version >= finalVersion;
    const deadline = Date.now() + 10_000;
    while (![...watchers, second!].every(caughtUp) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const w of watchers) {
      expect(sorted(replay(w.changes, new Map(initial)))).toEqual(expected);
      w.source.close();
    }
    expect(sorted(replay([...firstPart, ...second!.changes], new Map(initial)))).toEqual(expected);
    second!.source.close();
  });
});

describe('watch history', () => {
  let cluster: LocalCluster;
  afterAll(async () => cluster?.stop());

  it('answers 410 HISTORY_COMPACTED to a watch from below the tombstone horizon, once deletes are older than 60 s', async () => {
    cluster = await LocalCluster.start({ leaderEnv: { WRITE_QUORUM: '5' } });
    const leader = cluster.leader.url;
    await put(leader, 'a', 1);
    await call('DELETE', `${leader}/kv/a`);
    // Kept for 60 s although every follower has it (API.md): a watch from 1 is served meanwhile.
    const abort = new AbortController();
    const early = await fetch(`${leader}/watch?fromVersion=1`, { signal: abort.signal });
    expect(early.status).toBe(200);
    abort.abort();
    await new Promise((resolve) => setTimeout(resolve, 62_000));
    await put(leader, 'b', 2); // an exchange with every follower after the 60 s
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const node of cluster.nodes) {
      const res = await call('GET', `${node.url}/watch?fromVersion=1`);
      expect(res.status).toBe(410);
      expect(res.body).toMatchObject({ code: 'HISTORY_COMPACTED', oldestVersion: 2 });
    }
  }, 120_000);
});
