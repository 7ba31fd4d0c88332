import fc from 'fast-check';
import { VersionedStore } from './versioned-store';
import { Entry } from './entry';

const put = (key: string, version: number, value: unknown = `v${version}`): Entry =>
  ({ key, version, deleted: false, value }) as Entry;
const del = (key: string, version: number): Entry => ({ key, version, deleted: true });

function snapshot(store: VersionedStore): Entry[] {
  return [...store.entriesByVersion()];
}

describe('VersionedStore', () => {
  it('applies only entries newer than what the key holds', () => {
    const store = new VersionedStore();
    expect(store.apply(put('a', 2))).toBe(true);
    expect(store.apply(put('a', 1))).toBe(false);
    expect(store.apply(put('a', 2, 'other'))).toBe(false);
    expect(store.get('a')).toEqual(put('a', 2));
  });

  it('keeps a tombstone so an older write arriving after a delete does not resurrect the key', () => {
    const store = new VersionedStore();
    store.apply(put('a', 1));
    store.apply(del('a', 3));
    expect(store.apply(put('a', 2))).toBe(false);
    expect(store.get('a')).toBeUndefined();
    expect(store.head('a')).toEqual(del('a', 3));
    expect(store.keyCount).toBe(0);
    expect(store.tombstoneCount).toBe(1);
  });

  it('lists live keys in UTF-8 byte order, not UTF-16 order', () => {
    const store = new VersionedStore();
    const keys = ['b', 'a', '\u{1F600}', '\uFF01', 'ab', 'é'];
    keys.forEach((key, i) => store.apply(put(key, i + 1)));
    const listed = store.list({ limit: 100 }).items.map((e) => e.key);
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(listed).toEqual(byBytes);
    expect(listed.indexOf('\uFF01')).toBeLessThan(listed.indexOf('\u{1F600}'));
  });

  it('filters by prefix, resumes after a key, and pages with next', () => {
    const store = new VersionedStore();
    ['user:1', 'user:2', 'user:3', 'users', 'video:1', 'a'].forEach((k, i) => store.apply(put(k, i + 1)));
    store.apply(del('user:2', 10));

    const first = store.list({ prefix: 'user:', limit: 1 });
    expect(first.items.map((e) => e.key)).toEqual(['user:1']);
    expect(first.next).toBe('user:1');

    const second = store.list({ prefix: 'user:', after: first.next as string, limit: 1 });
    expect(second.items.map((e) => e.key)).toEqual(['user:3']);
    expect(second.next).toBeNull();

    expect(store.list({ prefix: 'user', limit: 10 }).items.map((e) => e.key)).toEqual(['user:1', 'user:3', 'users']);
    expect(store.list({ after: 'user:3', limit: 10 }).items.map((e) => e.key)).toEqual(['users', 'video:1']);
    expect(store.list({ prefix: 'user:', after: 'a', limit: 10 }).items).toHaveLength(2);
    expect(store.list({ prefix: 'zzz', limit: 10 })).toEqual({ items: [], next: null });
  });

  it('reports next as null when the page ends exactly at the last key', () => {
    const store = new VersionedStore();
    store.apply(put('a', 1));
    store.apply(put('b', 2));
    expect(store.list({ limit: 2 }).next).toBeNull();
    expect(store.list({ limit: 1 }).next).toBe('a');
  });

  it('reads the delta above a version in version order, tombstones included', () => {
    const store = new VersionedStore();
    store.apply(put('a', 1));
    store.apply(put('b', 2));
    store.apply(put('a', 3));
    store.apply(del('b', 4));
    store.apply(put('c', 5));
    expect(store.entriesAfter(1, 5, 10)).toEqual([put('a', 3), del('b', 4), put('c', 5)]);
    expect(store.entriesAfter(0, 4, 10)).toEqual([put('a', 3), del('b', 4)]);
    expect(store.entriesAfter(0, 5, 2)).toEqual([put('a', 3), del('b', 4)]);
  });

  it('drops tombstones up to a version and nothing else', () => {
    const store = new VersionedStore();
    store.apply(del('a', 1));
    store.apply(put('b', 2));
    store.apply(del('c', 3));
    expect(store.dropTombstonesThrough(2)).toBe(1);
    expect(store.head('a')).toBeUndefined();
    expect(store.head('c')).toEqual(del('c', 3));
    expect(store.get('b')).toEqual(put('b', 2));
    expect(store.entriesAfter(0, 10, 10)).toEqual([put('b', 2), del('c', 3)]);
    expect(store.maxVersion).toBe(3);
  });

  it('reaches one state from every order of the same entries (property)', () => {
    const entryArb = fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd'),
      deleted: fc.boolean(),
      value: fc.jsonValue(),
    });
    fc.assert(
      fc.property(
        fc.array(entryArb, { minLength: 1, maxLength: 30 }).chain((raw) => {
          const entries = raw.map((e, i): Entry =>
            e.deleted ? del(e.key, i + 1) : put(e.key, i + 1, e.value),
          );
          return fc.tuple(fc.constant(entries), fc.shuffledSubarray(entries, { minLength: entries.length }));
        }),
        ([inOrder, shuffled]) => {
          const expected = new VersionedStore();
          inOrder.forEach((e) => expected.apply(e));
          const actual = new VersionedStore();
          shuffled.forEach((e) => actual.apply(e));
          // Duplicates (a redelivered message) must not change anything either.
          shuffled.slice(0, 5).forEach((e) => actual.apply(e));
          expect(snapshot(actual)).toEqual(snapshot(expected));
          expect(actual.list({ limit: 100 })).toEqual(expected.list({ limit: 100 }));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('VersionedStore.freeze', () => {
  it('keeps the state of the moment it was taken, whatever the store does afterwards', () => {
    const store = new VersionedStore();
    for (let v = 1; v <= 500; v++) store.apply({ key: `k${v}`, version: v, deleted: false, value: v });
    store.apply({ key: 'gone', version: 501, deleted: true });
    const view = store.freeze();
    const before = [...view.entriesByVersion()];
    for (let v = 1; v <= 500; v += 2) store.apply({ key: `k${v}`, version: 1000 + v, deleted: true });
    store.dropTombstonesThrough(2000);
    store.clear();
    expect([...view.entriesByVersion()]).toEqual(before);
    expect(view.keyCount).toBe(500);
    expect(view.tombstoneCount).toBe(1);
    expect(view.maxVersion).toBe(501);
    expect(view.get('k1')).toEqual({ key: 'k1', version: 1, deleted: false, value: 1 });
    expect(store.keyCount).toBe(0);
  });

  it('cannot be changed through its indexes', () => {
    const view = new VersionedStore().freeze() as unknown as VersionedStore;
    expect(() => view.apply({ key: 'a', version: 1, deleted: false, value: 1 })).toThrow(/frozen/);
  });
});

describe('VersionedStore.list byte bound', () => {
  const big = (n: number) => 'x'.repeat(n);
  it('stops a page before the item that would pass maxBytes, with next set, and always holds one item', () => {
    const store = new VersionedStore();
    ['a', 'b', 'c', 'd'].forEach((key, i) => store.apply({ key, version: i + 1, deleted: false, value: big(100) }));
    const sizeOf = () => 100;
    expect(store.list({ limit: 10, maxBytes: 250, sizeOf })).toEqual({ items: [expect.objectContaining({ key: 'a' }), expect.objectContaining({ key: 'b' })], next: 'b' });
    expect(store.list({ limit: 10, after: 'b', maxBytes: 250, sizeOf }).items.map((e) => e.key)).toEqual(['c', 'd']);
    expect(store.list({ limit: 10, after: 'b', maxBytes: 250, sizeOf }).next).toBeNull();
    const one = store.list({ limit: 10, maxBytes: 10, sizeOf });
    expect(one.items.map((e) => e.key)).toEqual(['a']);
    expect(one.next).toBe('a');
  });
});
