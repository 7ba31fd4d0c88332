import { mean, percentile, summarize } from './statistics';

describe('percentile', () => {
  it('interpolates linearly between the nearest ranks (numpy default)', () => {
    const sorted = [10, 20, 30, 40];
    expect(percentile(sorted, 0)).toBe(10);
    expect(percentile(sorted, 1)).toBe(40);
    expect(percentile(sorted, 0.5)).toBe(25);
    expect(percentile(sorted, 0.25)).toBeCloseTo(17.5, 12);
    expect(percentile(sorted, 0.99)).toBeCloseTo(39.7, 12);
  });

  it('matches the closed form on 1..100', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBeCloseTo(50.5, 12);
    expect(percentile(sorted, 0.95)).toBeCloseTo(95.05, 12);
    expect(percentile(sorted, 0.99)).toBeCloseTo(99.01, 12);
  });

  it('returns the only sample of a one-sample set for every p', () => {
    for (const p of [0, 0.5, 0.99, 1]) expect(percentile([7], p)).toBe(7);
  });

  it('refuses an empty set and a p outside [0, 1]', () => {
    expect(() => percentile([], 0.5)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts a copy and reports mean, spread and percentiles', () => {
    const samples = [5, 1, 4, 2, 3];
    const summary = summarize(samples);
    expect(samples).toEqual([5, 1, 4, 2, 3]);
    expect(summary).toMatchObject({ count: 5, mean: 3, min: 1, p50: 3, max: 5 });
    expect(summary?.stddev).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(summary?.meanCi95).toBeCloseTo((1.96 * Math.sqrt(2.5)) / Math.sqrt(5), 12);
    expect(summary?.p95).toBeCloseTo(4.8, 12);
    expect(summary?.p99).toBeCloseTo(4.96, 12);
  });

  it('sorts numerically, not as strings', () => {
    expect(summarize([100, 9, 20])).toMatchObject({ min: 9, p50: 20, max: 100 });
  });

  it('is null for no samples (every write failed) and has no spread for one', () => {
    expect(summarize([])).toBeNull();
    expect(summarize(new Float64Array([42]))).toMatchObject({ count: 1, mean: 42, stddev: 0, meanCi95: 0, p99: 42 });
  });

  it('computes the mean', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(() => mean([])).toThrow(RangeError);
  });
});
