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

  write(chunk: string | Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  end(chunk: string): this {
    this.ended = chunk;
    return this;
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
    expect(many.every((watcher) => watcher.events().join() === '1:put:a')).toBe(true);
  });
});
