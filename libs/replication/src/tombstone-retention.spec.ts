import { TombstoneRetention } from './tombstone-retention';

describe('TombstoneRetention', () => {
  it('allows dropping only versions noted at least 60 s ago', () => {
    const retention = new TombstoneRetention(60_000);
    retention.note(10, 0);
    retention.note(20, 5_000);
    retention.note(30, 30_000);
    expect(retention.dropLimit(59_999)).toBe(0);
    expect(retention.dropLimit(60_000)).toBe(10);
    expect(retention.dropLimit(64_999)).toBe(10);
    expect(retention.dropLimit(65_000)).toBe(20);
    expect(retention.dropLimit(90_000)).toBe(30);
  });

  it('stamps the versions of one slot with its last time: never dropped early', () => {
    const retention = new TombstoneRetention(60_000);
    retention.note(1, 0);
    retention.note(2, 900); // same slot as version 1: both count as written at 900
    expect(retention.dropLimit(60_000)).toBe(0);
    expect(retention.dropLimit(60_900)).toBe(2);
  });

  it('stays bounded under a steady write rate and still lets old versions go', () => {
    const retention = new TombstoneRetention(60_000);
    let version = 0;
    for (let t = 0; t <= 600_000; t += 10) retention.note(++version, t);
    expect(retention.size).toBeLessThanOrEqual(62);
    const limit = retention.dropLimit(600_000);
    // Written at 540 s or before: about 54,000 writes.
    expect(limit).toBeGreaterThan(53_000);
    expect(limit).toBeLessThanOrEqual(54_001);
  });

  it('with retention 0 it limits nothing', () => {
    expect(new TombstoneRetention(0).dropLimit(0)).toBe(Number.MAX_SAFE_INTEGER);
  });
});
