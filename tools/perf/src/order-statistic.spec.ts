import { orderStatisticCdf, orderStatisticMean, orderStatisticQuantile } from './order-statistic';
import { quorumLatencyTheory, sampleQuorumDelay } from './delay-model';
import { percentile } from './statistics';

/** mulberry32: a small seeded generator, so the simulation gives the same draws on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws of the k-th smallest of n uniforms, simulated independently of the module under test. */
function simulate(k: number, n: number, draws: number, random: () => number): Float64Array {
  const samples = new Float64Array(draws);
  const values = new Float64Array(n);
  for (let i = 0; i < draws; i++) {
    for (let j = 0; j < n; j++) values[j] = random();
    values.sort();
    samples[i] = values[k - 1];
  }
  return samples.sort();
}

describe('order statistic of uniforms', () => {
  it('has the closed forms of the extremes: min and max of n', () => {
    const n = 5;
    for (const u of [0.1, 0.37, 0.8]) {
      expect(orderStatisticCdf(n, n, u)).toBeCloseTo(u ** n, 12);
      expect(orderStatisticCdf(1, n, u)).toBeCloseTo(1 - (1 - u) ** n, 12);
    }
    for (const p of [0.5, 0.95, 0.99]) {
      expect(orderStatisticQuantile(n, n, p)).toBeCloseTo(p ** (1 / n), 12);
      expect(orderStatisticQuantile(1, n, p)).toBeCloseTo(1 - (1 - p) ** (1 / n), 12);
    }
  });

  it('has the median of a symmetric Beta at 1/2 and mean k/(n+1)', () => {
    expect(orderStatisticQuantile(3, 5, 0.5)).toBeCloseTo(0.5, 12);
    expect(orderStatisticMean(2, 5)).toBeCloseTo(2 / 6, 12);
  });

  it('is a CDF: 0 below, 1 above, increasing between', () => {
    expect(orderStatisticCdf(2, 5, -1)).toBe(0);
    expect(orderStatisticCdf(2, 5, 2)).toBe(1);
    let previous = 0;
    for (let u = 0.01; u < 1; u += 0.01) {
      const value = orderStatisticCdf(2, 5, u);
      expect(value).toBeGreaterThan(previous);
      previous = value;
    }
  });

  it('refuses an order outside 1..n', () => {
    expect(() => orderStatisticCdf(0, 5, 0.5)).toThrow(RangeError);
    expect(() => orderStatisticQuantile(6, 5, 0.5)).toThrow(RangeError);
    expect(() => orderStatisticMean(1, 0)).toThrow(RangeError);
  });

  // 100,000 draws: the standard error of a mean is below 0.0006 and of a p99 below 0.001
  // on [0, 1], so a tolerance of 0.004 fails only on a real error, never on chance.
  it.each([1, 2, 3, 4, 5])('agrees with a seeded Monte-Carlo simulation for k = %i of 5', (k) => {
    const n = 5;
    const samples = simulate(k, n, 100_000, seededRandom(1000 + k));
    let sum = 0;
    for (const s of samples) sum += s;
    expect(Math.abs(sum / samples.length - orderStatisticMean(k, n))).toBeLessThan(0.004);
    for (const p of [0.05, 0.5, 0.95, 0.99]) {
      expect(Math.abs(percentile(samples, p) - orderStatisticQuantile(k, n, p))).toBeLessThan(0.004);
    }
    for (const u of [0.2, 0.5, 0.8]) {
      let below = 0;
      for (const s of samples) if (s <= u) below++;
      expect(Math.abs(below / samples.length - orderStatisticCdf(k, n, u))).toBeLessThan(0.004);
    }
  });
});

describe('quorumLatencyTheory', () => {
  const demonstration = { followers: 5, minDelayMs: 50, maxDelayMs: 800 };

  it('gives the mean a + (b − a)·k/(n+1) of the demonstration delays', () => {
    for (let k = 1; k <= 5; k++) expect(quorumLatencyTheory(demonstration, k).mean).toBeCloseTo(50 + (750 * k) / 6, 9);
    expect(quorumLatencyTheory(demonstration, 3).p50).toBeCloseTo(425, 9);
    expect(quorumLatencyTheory(demonstration, 5).p99).toBeCloseTo(50 + 750 * 0.99 ** 0.2, 9);
  });

  it('is exactly the delay for every percentile when the delay is fixed', () => {
    const fixed = { followers: 5, minDelayMs: 200, maxDelayMs: 200 };
    for (let k = 1; k <= 5; k++) expect(quorumLatencyTheory(fixed, k)).toEqual({ mean: 200, p50: 200, p95: 200, p99: 200, min: 200, max: 200 });
  });

  it('predicts no wait for quorum 0 and refuses a quorum above the follower count', () => {
    expect(quorumLatencyTheory(demonstration, 0).p99).toBe(0);
    expect(() => quorumLatencyTheory(demonstration, 6)).toThrow(RangeError);
  });

  it('samples delays whose mean matches the theory (the reference server draws these)', () => {
    const random = seededRandom(7);
    let sum = 0;
    const draws = 50_000;
    for (let i = 0; i < draws; i++) sum += sampleQuorumDelay(demonstration, 2, random);
    expect(Math.abs(sum / draws - quorumLatencyTheory(demonstration, 2).mean)).toBeLessThan(3);
    expect(sampleQuorumDelay(demonstration, 0, random)).toBe(0);
  });
});
