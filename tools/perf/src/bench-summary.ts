import { percentile } from './statistics';

/** Median, fastest and slowest of a few runs of one measurement, in the unit of the runs (ms here). */
export interface RunSummary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** Summarizes the runs of one case; throws on none. */
export function summarizeRuns(values: readonly number[]): RunSummary {
  if (values.length === 0) throw new RangeError('no runs to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

/** `777 ms (739 / 777 / 824)`: the median, then every run in the order it was measured, rounded to ms. */
export function formatRuns(values: readonly number[]): string {
  return `${Math.round(summarizeRuns(values).median)} ms (${values.map((v) => Math.round(v)).join(' / ')})`;
}
