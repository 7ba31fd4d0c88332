/**
 * Descriptive statistics of latency samples. Pure functions: no I/O, no clock, so the
 * numbers in the report can be checked by hand and by unit tests.
 */

/** What the report shows for one set of latency samples, all in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator). */
  readonly stddev: number;
  /** Half-width of the normal-approximation 95% confidence interval of the mean. */
  readonly meanCi95: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The p-th quantile (0 ≤ p ≤ 1) of ascending samples, interpolating linearly between the
 * two nearest ranks (Hyndman & Fan type 7, the default of numpy and R), so small samples
 * do not jump from one observation to the next.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile p must be within [0, 1], got ${p}`);
  const rank = p * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
}

export function mean(samples: ArrayLike<number>): number {
  if (samples.length === 0) throw new RangeError('mean of no samples');
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i];
  return sum / samples.length;
}

/** The summary of the samples, or null when there are none (a storm where every write failed). */
export function summarize(samples: ArrayLike<number>): LatencySummary | null {
  const count = samples.length;
  if (count === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  const average = mean(sorted);
  let squares = 0;
  for (let i = 0; i < count; i++) squares += (sorted[i] - average) ** 2;
  const stddev = count > 1 ? Math.sqrt(squares / (count - 1)) : 0;
  return {
    count,
    mean: average,
    stddev,
    meanCi95: (1.96 * stddev) / Math.sqrt(count),
    min: sorted[0],
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted[count - 1],
  };
}
