import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { VersionedStore, type Entry } from '@kv/store';
import { createRegistry } from './metrics';
import { flushIntervalMs, WatchHub } from './watch-hub';

/** What the hub uses of a ServerResponse: writes are recorded, nothing is ever sent. */
class FakeResponse extends EventEmitter {
  readonly chunks: Array<string | Buffer> = [];
  ended: string | null = null;
  /** Bytes "waiting in the socket": the hub's slow-consumer check reads it. */
  writableLength = 0;
  /** Writes after `end` or `close`: a real response would fail them. */
  writesAfterEnd = 0;
  /** Runs after each write: a test acts "between two writes of a flush" here. */
  onWrite: (() => void) | null = null;
  private gone = false;

  write(chunk: string | Buffer): boolean {
    if (this.gone) this.writesAfterEnd++;
    this.chunks.push(chunk);
    this.onWrite?.();
    return true;
  }

  end(chunk: string): this {
    if (this.gone) this.writesAfterEnd++;
    this.ended = chunk;
    this.gone = true;
    return this;
  }

  /** The client went away: what Node emits when the socket closes. */
  close(): void {
    this.gone = true;
    this.emit('close');
  }

  destroy(): this {
    return this;
  }

  /** Every event received so far, as `version:type:key`, comments and resets left out. */
  events(): string[] {
    const text = this.chunks.map((chunk) => chunk.toString()).join('');
    return [...text.matchAll(/^id: (\d+)\nevent: (put|delete)\ndata: \{"key":"([^"]*)"/gm)].map(([, id, type, key]) => `${id}:${type}:${key}`);
  }

  asResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}

const put = (key: string, version: number, value = `v${version}`): Entry => ({ key, version, deleted: false, value });
const del = (key: string, version: number): Entry => ({ key, version, deleted: true });

/** The flush interval of the hub is 20 ms; fake timers run it by hand. */
const FLUSH_MS = 20;

describe('WatchHub fan-out', () => {
  let store: VersionedStore;
  let hub: WatchHub;
  beforeEach(() => {
    jest.useFakeTimers();
    store = new VersionedStore();
    hub = new WatchHub({ store, registry: createRegistry({ defaultMetrics: false }) });
  });
  afterEach(() => {
    hub.closeAll();
    jest.useRealTimers();
  });

  /** A follower's path: the store applies, then the watermark advances. */
  const apply = (...entries: Entry[]) => {
    for (const entry of entries) store.apply(entry);
    hub.advance(Math.max(...entries.map((entry) => entry.version)));
  };
  const open = (prefix: string) => {
    const res = new FakeResponse();
    hub.open(res.asResponse(), prefix, hub.version);
    return res;
  };

  it('gives each watcher exactly the changes under its prefix, in version order, once, across flushes', () => {
    const all = open('');
    const users = open('user/');
    const alsoUsers = open('user/');
    const carts = open('cart/');
    const none = open('nothing/');
    apply(put('user/1', 1), put('cart/1', 2), put('user/2', 3));
    jest.advanceTimersByTime(FLUSH_MS);
    apply(put('cart/2', 4), del('user/1', 5));
    jest.advanceTimersByTime(FLUSH_MS);
    expect(all.events()).toEqual(['1:put:user/1', '2:put:cart/1', '3:put:user/2', '4:put:cart/2', '5:delete:user/1']);
    expect(users.events()).toEqual(['1:put:user/1', '3:put:user/2', '5:delete:user/1']);
    expect(alsoUsers.events()).toEqual(users.events());
    expect(carts.events()).toEqual(['2:put:cart/1', '4:put:cart/2']);
    // Nothing under its prefix changed: not even an empty write.
    expect(none.chunks).toEqual([]);
  });

  it('encodes a batch once per prefix: every watcher of a prefix is written the same bytes', () => {
    const watchers = Array.from({ length: 50 }, () => open('perf-'));
    const others = Array.from({ length: 3 }, () => open(''));
    apply(put('perf-1', 1, 'é'), put('other', 2), put('perf-2', 3, '☃'));
    jest.advanceTimersByTime(FLUSH_MS);
    const first = watchers[0].chunks[0];
    expect(Buffer.isBuffer(first)).toBe(true);
    for (const watcher of watchers) {
      expect(watcher.chunks).toHaveLength(1);
      expect(watcher.chunks[0]).toBe(first);
    }
    expect(first.toString()).toContain('"value":"é"');
    expect(watchers[0].events()).toEqual(['1:put:perf-1', '3:put:perf-2']);
    expect(others[1].chunks[0]).toBe(others[0].chunks[0]);
    expect(others[0].events()).toEqual(['1:put:perf-1', '2:put:other', '3:put:perf-2']);
  });

  it('still drops a watcher whose unread bytes pass the limit, and keeps serving the others', () => {
    const small = new WatchHub({ store, registry: createRegistry({ defaultMetrics: false }), maxBufferedBytes: 100 });
    const slow = new FakeResponse();
    const fast = new FakeResponse();
    small.open(slow.asResponse(), '', 0);
    small.open(fast.asResponse(), '', 0);
    slow.writableLength = 101;
    for (const entry of [put('a', 1), put('b', 2)]) store.apply(entry);
    small.advance(2);
    jest.advanceTimersByTime(FLUSH_MS);
    expect(slow.ended).toContain('event: reset');
    expect(slow.ended).toContain('slow-consumer');
    expect(fast.ended).toBeNull();
    for (const entry of [put('c', 3)]) store.apply(entry);
    small.advance(3);
    jest.advanceTimersByTime(FLUSH_MS);
    expect(fast.events()).toEqual(['1:put:a', '2:put:b', '3:put:c']);
    expect(slow.events()).toEqual(['1:put:a', '2:put:b']);
    small.closeAll();
  });

  it('takes a watermark step of 200,000 entries (pushing them as call arguments overflowed the stack)', () => {
    const watcher = open('');
    const step = 200_000;
    for (let version = 1; version <= step; version++) store.apply(put(`k${version}`, version, ''));
    expect(() => hub.advance(step)).not.toThrow();
    jest.advanceTimersByTime(FLUSH_MS);
    const events = watcher.events();
    expect(events).toHaveLength(step);
    expect(events[step - 1]).toBe(`${step}:put:k${step}`);
  });

  it('waits 20 ms before a flush up to 200 watchers, then 1 ms more per 10 watchers, at most 100 ms', () => {
    expect([1, 200, 500, 1000, 5000].map(flushIntervalMs)).toEqual([20, 20, 50, 100, 100]);
    const many = Array.from({ length: 1000 }, () => open(''));
    apply(put('a', 1));
    jest.advanceTimersByTime(99);
    expect(many[0].chunks).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(many[0].events()).toEqual(['1:put:a']);
    // The rest of the flush follows in steps (one fake millisecond each: how jest runs setImmediate).
    jest.advanceTimersByTime(FLUSH_MS);
    expect(many.every((watcher) => watcher.events().join() === '1:put:a')).toBe(true);
  });
});

describe('WatchHub flush in steps', () => {
  let store: VersionedStore;
  beforeEach(() => {
    jest.useFakeTimers();
    store = new VersionedStore();
  });
  afterEach(() => jest.useRealTimers());

  type HubOptions = { sliceWatchers?: number; sliceMs?: number; clock?: () => number; maxBufferedBytes?: number };
  const hubWith = (options: HubOptions = {}) => new WatchHub({ store, registry: createRegistry({ defaultMetrics: false }), ...options });
  const openOn = (hub: WatchHub, prefix: string, fromVersion = hub.version) => {
    const res = new FakeResponse();
    hub.open(res.asResponse(), prefix, fromVersion);
    return res;
  };
  const applyTo = (hub: WatchHub, ...entries: Entry[]) => {
    for (const entry of entries) store.apply(entry);
    hub.advance(Math.max(...entries.map((entry) => entry.version)));
  };
  const received = (watchers: readonly FakeResponse[]) => watchers.filter((watcher) => watcher.chunks.length > 0).length;
  /** Runs the flush timer (the next timer: keep-alives come every 10 s): the flush's first step only. */
  const firstStep = () => jest.advanceTimersToNextTimer();
  /** Runs the next pending step (a setImmediate). */
  const nextStep = () => jest.advanceTimersToNextTimer();
  /** Runs every step and flush still due. */
  const drain = () => jest.advanceTimersByTime(1000);
  /** A hub with `count` watchers of every key, stopped after the first step of the flush of `entries`. */
  const midFlush = (count: number, options: HubOptions, ...entries: Entry[]) => {
    const hub = hubWith(options);
    const watchers = Array.from({ length: count }, () => openOn(hub, ''));
    applyTo(hub, ...entries);
    firstStep();
    return { hub, watchers };
  };

  it('writes to at most 100 watchers per step, then yields to the event loop', () => {
    const { hub, watchers } = midFlush(250, {}, put('a', 1));
    expect(received(watchers)).toBe(100);
    nextStep();
    expect(received(watchers)).toBe(200);
    nextStep();
    expect(received(watchers)).toBe(250);
    expect(watchers.every((watcher) => watcher.events().join() === '1:put:a')).toBe(true);
    hub.closeAll();
  });

  it('also ends a step once it has taken sliceMs of the clock', () => {
    let now = 0;
    const hub = hubWith({ sliceMs: 3, clock: () => now });
    const watchers = Array.from({ length: 10 }, () => openOn(hub, ''));
    // Each socket write takes 1 ms of the hub's clock: three fit in a step.
    for (const watcher of watchers) watcher.onWrite = () => now++;
    applyTo(hub, put('a', 1));
    firstStep();
    expect(received(watchers)).toBe(3);
    nextStep();
    expect(received(watchers)).toBe(6);
    drain();
    expect(received(watchers)).toBe(10);
    hub.closeAll();
  });

  it('hands a watcher that opens during a flush over without gap or duplicate', () => {
    const hub = hubWith({ sliceWatchers: 1 });
    const early = Array.from({ length: 3 }, () => openOn(hub, 'k'));
    applyTo(hub, put('k1', 1), put('k2', 2), put('k3', 3));
    firstStep();
    expect(received(early)).toBe(1);
    // Mid-flush: versions 1-3 are still being written to the early watchers.
    const fromOne = openOn(hub, 'k', 1);
    const fromNow = openOn(hub, 'k');
    const snapshot = openOn(hub, 'k', 0);
    applyTo(hub, put('k1', 4));
    drain();
    applyTo(hub, del('k2', 5));
    drain();
    for (const watcher of early) expect(watcher.events()).toEqual(['1:put:k1', '2:put:k2', '3:put:k3', '4:put:k1', '5:delete:k2']);
    expect(fromOne.events()).toEqual(['2:put:k2', '3:put:k3', '4:put:k1', '5:delete:k2']);
    expect(fromNow.events()).toEqual(['4:put:k1', '5:delete:k2']);
    expect(snapshot.events()).toEqual(['1:put:k1', '2:put:k2', '3:put:k3', '4:put:k1', '5:delete:k2']);
    hub.closeAll();
  });

  it('starts the next flush only when the previous one has written to every watcher', () => {
    // One watcher per step: 40 steps of 1 fake ms outlast the next flush's 20 ms timer.
    const { hub, watchers } = midFlush(40, { sliceWatchers: 1 }, put('a', 1));
    applyTo(hub, put('b', 2));
    jest.advanceTimersByTime(25);
    applyTo(hub, put('c', 3));
    drain();
    for (const watcher of watchers) expect(watcher.events()).toEqual(['1:put:a', '2:put:b', '3:put:c']);
    hub.closeAll();
  });

  it('writes nothing more to a watcher closed during a flush, and goes on with the others', () => {
    const { hub, watchers } = midFlush(6, { sliceWatchers: 2 }, put('a', 1));
    watchers[4].close();
    drain();
    expect(watchers[4].chunks).toEqual([]);
    expect(watchers[4].writesAfterEnd).toBe(0);
    expect(hub.size).toBe(5);
    for (const i of [0, 1, 2, 3, 5]) expect(watchers[i].events()).toEqual(['1:put:a']);
    hub.closeAll();
  });

  it('a reset during a flush ends every stream at once; what the flush had left is not written, and later flushes run', () => {
    const { hub, watchers } = midFlush(6, { sliceWatchers: 2 }, put('a', 1), put('b', 2));
    // A full resync: the store is emptied and the follower starts again from version 7.
    store = new VersionedStore();
    hub.reset(7, 'resync', 'resynced');
    drain();
    expect(watchers.map((watcher) => watcher.events().length)).toEqual([2, 2, 0, 0, 0, 0]);
    for (const watcher of watchers) {
      expect(watcher.ended).toContain('resync');
      expect(watcher.writesAfterEnd).toBe(0);
    }
    expect(hub.size).toBe(0);
    const after = openOn(hub, '');
    expect(hub.version).toBe(7);
    hub.published(put('c', 8));
    drain();
    expect(after.events()).toEqual(['8:put:c']);
    hub.closeAll();
  });

  it('closeAll during a flush ends every stream with shutdown and writes nothing after', () => {
    const { hub, watchers } = midFlush(6, { sliceWatchers: 2 }, put('a', 1));
    hub.closeAll();
    drain();
    expect(watchers.map((watcher) => watcher.events().length)).toEqual([1, 1, 0, 0, 0, 0]);
    for (const watcher of watchers) {
      expect(watcher.ended).toContain('shutdown');
      expect(watcher.writesAfterEnd).toBe(0);
    }
  });

  it('drops a slow consumer when its turn in a flush comes, and the flush goes on to the rest', () => {
    const { hub, watchers } = midFlush(6, { sliceWatchers: 2, maxBufferedBytes: 100 }, put('a', 1));
    // Falls behind between two steps, before its own write.
    watchers[3].writableLength = 101;
    drain();
    expect(watchers[3].ended).toContain('slow-consumer');
    expect(watchers[3].events()).toEqual(['1:put:a']);
    applyTo(hub, put('b', 2));
    drain();
    for (const i of [0, 1, 2, 4, 5]) expect(watchers[i].events()).toEqual(['1:put:a', '2:put:b']);
    expect(watchers[3].events()).toEqual(['1:put:a']);
    expect(watchers[3].writesAfterEnd).toBe(0);
    expect(hub.size).toBe(5);
    hub.closeAll();
  });
});

describe('WatchHub prefix index', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it('gives each of 1,000 distinct prefixes exactly what the naive startsWith filter gives', () => {
    const next = random(16);
    const alphabet = ['a', 'b', '/', 'é'];
    const word = (max: number, min = 0) => Array.from({ length: min + Math.floor(next() * (max - min + 1)) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    const prefixes = new Set<string>(['', 'a', 'ab', 'ab/', 'zzz-never']);
    while (prefixes.size < 1000) prefixes.add(word(7));
    const store = new VersionedStore();
    const hub = new WatchHub({ store, registry: createRegistry({ defaultMetrics: false }), sliceWatchers: 1000 });
    const watchers = [...prefixes].map((prefix) => {
      const res = new FakeResponse();
      hub.open(res.asResponse(), prefix, 0);
      return { prefix, res };
    });
    /** What the hub queues, step by step: the naive filter runs over the same entries. */
    const queued: Entry[] = [];
    let stepFrom = 0;
    for (let version = 1; version <= 300; version++) {
      const key = word(6, 1);
      store.apply(next() < 0.2 ? del(key, version) : put(key, version));
      // Some steps span several versions (a key changed twice in one is told once): as on a follower.
      if (next() < 0.3 || version === 300) {
        queued.push(...store.entriesAfter(stepFrom, version, Infinity));
        stepFrom = version;
        hub.advance(version);
        jest.advanceTimersByTime(1000);
      }
    }
    let matched = 0;
    for (const { prefix, res } of watchers) {
      const naive = res.events().map((event) => event.split(':').slice(2).join(':'));
      expect(naive.every((key) => key.startsWith(prefix))).toBe(true);
      expect(res.events()).toEqual(queued.filter((entry) => entry.key.startsWith(prefix)).map((entry) => `${entry.version}:${entry.deleted ? 'delete' : 'put'}:${entry.key}`));
      matched += naive.length;
    }
    // The test means something only if many watchers got events, and some none.
    expect(matched).toBeGreaterThan(1000);
    expect(watchers.find(({ prefix }) => prefix === 'zzz-never')?.res.events()).toEqual([]);
    hub.closeAll();
  });

  it('looks at a change once per distinct prefix length, not once per watched prefix', () => {
    const store = new VersionedStore();
    const hub = new WatchHub({ store, registry: createRegistry({ defaultMetrics: false }), sliceWatchers: 1000 });
    // 1,000 prefixes of three lengths (p0/ to p999/), and a watcher of them all.
    const watchers = Array.from({ length: 1000 }, (_, i) => {
      const res = new FakeResponse();
      hub.open(res.asResponse(), `p${i}/`, 0);
      return res;
    });
    let keyReads = 0;
    /** An entry that counts how often its key is read: the hub's cost per change. */
    const counted = (key: string, version: number): Entry => ({
      get key() {
        keyReads++;
        return key;
      },
      version,
      deleted: false,
      value: version,
    });
    for (let version = 1; version <= 100; version++) hub.published(counted(`p${version % 10}/x`, version));
    jest.advanceTimersByTime(1000);
    // One read to find the groups and one for the frame; the naive filter read it 1,000 times.
    expect(keyReads).toBeLessThanOrEqual(2 * 100);
    expect(watchers[3].events()).toEqual(['3:put:p3/x', '13:put:p3/x', '23:put:p3/x', '33:put:p3/x', '43:put:p3/x', '53:put:p3/x', '63:put:p3/x', '73:put:p3/x', '83:put:p3/x', '93:put:p3/x']);
    expect(watchers[10].chunks).toEqual([]);
    hub.closeAll();
  });
});

