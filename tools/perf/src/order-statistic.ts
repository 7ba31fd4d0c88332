/**
 * The k-th smallest of n independent Uniform(0, 1) variables, U(k), follows Beta(k, n − k + 1).
 * A quorum-k write waits for the k-th fastest of n followers, so this is the delay model's
 * prediction of write latency, before it is scaled to [min, max] delay.
 */

function checkOrder(k: number, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k must be an integer within [1, ${n}], got ${k}`);
}

/** E[U(k)] = k / (n + 1). */
export function orderStatisticMean(k: number, n: number): number {
  checkOrder(k, n);
  return k / (n + 1);
}

/**
 * P(U(k) ≤ u): at least k of the n variables fall at or below u, a binomial tail
 * Σ_{j=k..n} C(n, j) u^j (1 − u)^(n − j), which is the regularized incomplete beta I_u(k, n − k + 1).
 * The binomial coefficients are built by multiplication: exact enough for the follower
 * counts a cluster has (tens, not thousands).
 */
export function orderStatisticCdf(k: number, n: number, u: number): number {
  checkOrder(k, n);
  if (u <= 0) return 0;
  if (u >= 1) return 1;
  let coefficient = 1; // C(n, j), starting at j = 0
  let tail = 0;
  for (let j = 0; j <= n; j++) {
    if (j > 0) coefficient = (coefficient * (n - j + 1)) / j;
    if (j >= k) tail += coefficient * u ** j * (1 - u) ** (n - j);
  }
  return Math.min(1, tail);
}

/**
 * The p-quantile of U(k) by bisection on the CDF, which is continuous and strictly
 * increasing on (0, 1): 60 halvings leave an interval below 1e-18, far under a microsecond
 * once scaled to a delay range.
 */
export function orderStatisticQuantile(k: number, n: number, p: number): number {
  checkOrder(k, n);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be within [0, 1], got ${p}`);
  let low = 0;
  let high = 1;
  for (let i = 0; i < 60; i++) {
    const middle = (low + high) / 2;
    if (orderStatisticCdf(k, n, middle) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}
