import { orderStatisticMean, orderStatisticQuantile } from './order-statistic';

/**
 * The leader's simulated network: each replication message to each of `followers` waits a
 * uniform random time in [minDelayMs, maxDelayMs] before it is sent.
 */
export interface DelayModel {
  readonly followers: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

/** The latency a write of a given quorum would have if the system added nothing to the delays. */
export interface LatencyTheory {
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/**
 * A quorum-k write answers when the k-th fastest follower acks, so it waits for the k-th
 * smallest of n uniform delays: a + (b − a)·U(k). Quorum 0 answers once the leader applied
 * the write, without waiting for any delay.
 */
export function quorumLatencyTheory(model: DelayModel, quorum: number): LatencyTheory {
  const { followers: n, minDelayMs: a, maxDelayMs: b } = model;
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > n) throw new RangeError(`quorum must be an integer within [0, ${n}], got ${quorum}`);
  if (quorum === 0) return { mean: 0, p50: 0, p95: 0, p99: 0, min: 0, max: 0 };
  const scale = (u: number) => a + (b - a) * u;
  return {
    mean: scale(orderStatisticMean(quorum, n)),
    p50: scale(orderStatisticQuantile(quorum, n, 0.5)),
    p95: scale(orderStatisticQuantile(quorum, n, 0.95)),
    p99: scale(orderStatisticQuantile(quorum, n, 0.99)),
    min: a,
    max: b,
  };
}

/**
 * One draw of the model: the k-th smallest of n uniform delays. The reference server waits
 * this long, so it shows what an ideal system with the same delays would measure.
 */
export function sampleQuorumDelay(model: DelayModel, quorum: number, random: () => number): number {
  if (quorum <= 0) return 0;
  const delays = Array.from({ length: model.followers }, () => model.minDelayMs + (model.maxDelayMs - model.minDelayMs) * random());
  delays.sort((x, y) => x - y);
  return delays[Math.min(quorum, model.followers) - 1];
}
