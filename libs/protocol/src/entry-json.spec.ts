import type { Entry } from '@kv/store';
import { entryJson, entryWireBytes } from './replication-dtos';

const entry = (version: number, value: unknown = `v${version}`): Entry => ({ key: `k${version % 100}`, version, deleted: false, value } as Entry);

describe('entryJson: an entry serialized once for the five followers it goes to', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is the entry\'s JSON, for fresh, repeated, large and evicted entries alike', () => {
    const large = entry(1, 'x'.repeat(20_000));
    expect(entryJson(large)).toBe(JSON.stringify(large));
    // Far more entries than the cache holds: the oldest are recomputed, never confused.
    const entries = Array.from({ length: 20_000 }, (_, i) => entry(i + 2));
    for (const e of entries) expect(entryJson(e)).toBe(JSON.stringify(e));
    for (const e of entries.slice(0, 50)) expect(entryJson(e)).toBe(JSON.stringify(e));
    expect(entryWireBytes(entries[0])).toBe(Buffer.byteLength(JSON.stringify(entries[0])) + 1);
    expect(entryWireBytes(entry(99, 'é'))).toBe(Buffer.byteLength(JSON.stringify(entry(99, 'é'))) + 1);
  });

  it('serializes a recent entry once however often it is asked for (five followers, resends)', () => {
    const recent = Array.from({ length: 1000 }, (_, i) => entry(100_000 + i));
    const stringify = jest.spyOn(JSON, 'stringify');
    for (let round = 0; round < 5; round++) for (const e of recent) entryJson(e);
    expect(stringify).toHaveBeenCalledTimes(recent.length);
  });

  it('keeps a bounded number of entries serialized: an old one is serialized again', () => {
    const old = entry(200_000);
    entryJson(old);
    for (let i = 1; i <= 10_000; i++) entryJson(entry(200_000 + i));
    const stringify = jest.spyOn(JSON, 'stringify');
    entryJson(old);
    expect(stringify).toHaveBeenCalledTimes(1);
  });
});
