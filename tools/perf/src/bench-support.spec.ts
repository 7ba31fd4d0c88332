import { formatRuns, summarizeRuns } from './bench-summary';
import { metricValue } from './prometheus-text';
import { listingPageSize, MAX_VALUE_BYTES, stringLengthFor } from './size-scenario';
import { compareListings, describeDiff, digestOf, type ListedKey } from './state-listing';

describe('run summaries', () => {
  it('takes the median of an odd or even number of runs, and the extremes', () => {
    expect(summarizeRuns([824, 739, 777])).toEqual({ median: 777, min: 739, max: 824, runs: 3 });
    expect(summarizeRuns([10, 20])).toEqual({ median: 15, min: 10, max: 20, runs: 2 });
    expect(() => summarizeRuns([])).toThrow(RangeError);
  });

  it('prints the median, then every run in measured order', () => {
    expect(formatRuns([824.4, 739.6, 777])).toBe('777 ms (824 / 740 / 777)');
  });
});

describe('Prometheus text', () => {
  const text = [
    '# HELP kv_full_resyncs_total Full resyncs started',
    '# TYPE kv_full_resyncs_total counter',
    'kv_full_resyncs_total{follower="http://127.0.0.1:8005"} 2',
    'kv_full_resyncs_total{follower="http://127.0.0.1:8004"} 1',
    'process_resident_memory_bytes 104857600',
    'kv_full_resyncs_total_other 9',
  ].join('\n');

  it('reads one labelled sample, sums unlabelled reads, and is 0 for a sample never written', () => {
    expect(metricValue(text, 'kv_full_resyncs_total', { follower: 'http://127.0.0.1:8005' })).toBe(2);
    expect(metricValue(text, 'kv_full_resyncs_total')).toBe(3);
    expect(metricValue(text, 'kv_full_resyncs_total', { follower: 'http://127.0.0.1:8001' })).toBe(0);
    expect(metricValue(text, 'process_resident_memory_bytes') / 2 ** 20).toBe(100);
  });
});

describe('size scenarios', () => {
  it('counts the quotes in a value size: the largest value is exactly the 1 MiB the nodes take', () => {
    expect(JSON.stringify('x'.repeat(stringLengthFor(MAX_VALUE_BYTES)))).toHaveLength(MAX_VALUE_BYTES);
  });

  it('lists about 8 MiB of values per page, within the API limit', () => {
    expect(listingPageSize(32)).toBe(10_000);
    expect(listingPageSize(MAX_VALUE_BYTES)).toBe(8);
  });
});

describe('listing comparison', () => {
  const key = (version: number, value: unknown): ListedKey => ({ version, digest: digestOf(value) });
  const expected = new Map([
    ['a', key(1, 'x')],
    ['b', key(2, 'y')],
    ['c', key(3, 'z')],
  ]);

  it('finds nothing between equal listings', () => {
    expect(compareListings(expected, new Map(expected))).toEqual({ count: 0, missing: [], extra: [], changed: [] });
  });

  it('finds a missing key, an extra key, another version and another value', () => {
    const actual = new Map([
      ['a', key(1, 'other')],
      ['b', key(5, 'y')],
      ['d', key(4, 'w')],
    ]);
    const diff = compareListings(expected, actual);
    expect(diff).toMatchObject({ count: 4, missing: ['c'], extra: ['d'] });
    expect(diff.changed.map((c) => c.key)).toEqual(['a', 'b']);
    expect(describeDiff(diff)).toBe('4 keys differ: missing c; extra d; changed a (v1 -> v1), b (v2 -> v5)');
  });
});
