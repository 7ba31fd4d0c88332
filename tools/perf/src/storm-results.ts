/**
 * The results of a run as they are written to results.json and drawn: per quorum, what each
 * target measured next to the theory. Built by pure functions from the samples.
 */
import type { ConsistencyReport } from './consistency-check';
import { quorumLatencyTheory, type DelayModel, type LatencyTheory } from './delay-model';
import type { ReplicationCost } from './replication-metrics';
import { summarize, type LatencySummary } from './statistics';
import type { WatchLayout } from './storm-plan';
import type { StormSample } from './storm-spec';

/**
 * `cluster`: the leader and its followers; `reference`: the bare Node HTTP server under the same
 * load; `etcd`: an etcd cluster through its HTTP gateway (its own majority, whatever `w` says);
 * `watched`: the cluster again, with `--watchers` watch streams open on a follower;
 * `etcd-watched`: etcd again, with the same watchers open on a member the storm does not write to.
 */
export type TargetKind = 'cluster' | 'reference' | 'etcd' | 'watched' | 'etcd-watched';

/** The target a watched storm is the twin of: its share of throughput kept is over that one's. */
export const WATCHED_TWIN: Readonly<Partial<Record<TargetKind, TargetKind>>> = { watched: 'cluster', 'etcd-watched': 'etcd' };

/** Measured minus theory, in ms: what the system adds to the simulated network. */
export interface LatencyOverhead {
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface StormMeasurement {
  readonly target: TargetKind;
  readonly quorum: number;
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly cutShort: boolean;
  /** Null when no write succeeded. */
  readonly latency: LatencySummary | null;
  readonly durationMs: number;
  /** Successful writes per second of the storm's wall time. */
  readonly throughputPerSec: number;
  readonly theory: LatencyTheory;
  /** Little's law: writers / theoretical mean latency; null without delays (no limit from the model). */
  readonly theoryThroughputPerSec: number | null;
  readonly overhead: LatencyOverhead | null;
  /** After a cluster storm only. */
  readonly consistency: ConsistencyReport | null;
  /** The leader's replication requests and entries during the storm and its convergence; cluster storms only. */
  readonly replication: ReplicationCost | null;
  /**
   * CPU time (user + system) the target's processes used during the storm, per successful
   * write, in ms (Linux, targets this run launched). Other work on the machine delays these
   * processes but does not add to this, so it compares builds where throughput scatters.
   */
  readonly cpuMsPerWrite?: number | null;
  /**
   * CPU time (user + system) the storm tool's own process used during the storm, per
   * successful write, in ms: the load generator's thread with everything else the tool does
   * meanwhile (reading the `--watchers` streams, its progress bar: about 40 ms of CPU a second
   * whatever the rate, so slow storms read high). It runs on the cores it measures, so it
   * takes from every target alike, and a ratio of throughputs between two targets is pulled
   * toward 1 by it.
   */
  readonly generatorCpuMsPerWrite?: number | null;
  /** The watch streams held open during a `watched` or `etcd-watched` storm (counted after its convergence). */
  readonly watchers?: WatchersReport | null;
}

/** The `--watchers` streams of one `watched` (or `etcd-watched`) storm. */
export interface WatchersReport {
  readonly count: number;
  readonly layout: WatchLayout;
  /** Still open when the storm and its convergence check were over. */
  readonly openAtEnd: number;
  /** Events received over every stream, from opening to after the convergence check. */
  readonly events: number;
  /** Streams that ended (or failed) before the storm closed them. */
  readonly endedEarly: number;
  /**
   * CPU time (ms) the storm's main thread, which reads and counts every stream, used during
   * the storm, per successful write: the watchers' clients run on the cluster's cores.
   */
  readonly clientCpuMsPerWrite: number | null;
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average when the run started and ended: other work on the machine shows here. */
  readonly loadAverageStart: number;
  readonly loadAverageEnd: number;
}

export interface RunResults {
  readonly tool: 'kv-perf-storm';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  readonly settings: {
    readonly mode: string;
    readonly writesPerQuorum: number;
    readonly concurrency: number;
    readonly keys: number;
    readonly valueSize: number;
    readonly warmupWrites: number;
    readonly quorums: readonly number[];
    readonly delayModel: DelayModel;
    /** True when this run launched the cluster, so the delays are known to be the cluster's. */
    readonly launchedCluster: boolean;
    readonly leaderUrl: string;
    /** The launched nodes' DATA_DIR journal and its FSYNC, or null when they kept everything in memory. */
    readonly durability: { readonly fsync: string } | null;
  };
  readonly measurements: readonly StormMeasurement[];
  /** Cluster throughput over the reference's, per quorum, when the reference ran. */
  readonly throughputRatio: ReadonlyArray<{ readonly quorum: number; readonly ratio: number }>;
  /** Cluster throughput over etcd's in the same run, per quorum, when etcd ran. */
  readonly etcdRatio?: ReadonlyArray<{ readonly quorum: number; readonly ratio: number }>;
  /** The etcd target: where, how many members, its version; absent when etcd was not stormed. */
  readonly etcd?: { readonly url: string; readonly members: number; readonly launched: boolean; readonly version: string | null; readonly watchUrl?: string };
  /** Why the run counts as failed (storms cut short, followers that never converged); empty when it passed. */
  readonly problems: readonly string[];
}

export interface StormObservation {
  readonly target: TargetKind;
  readonly quorum: number;
  readonly sample: StormSample;
  readonly model: DelayModel;
  readonly concurrency: number;
  readonly consistency?: ConsistencyReport | null;
  readonly replication?: ReplicationCost | null;
}

export function measureStorm({ target, quorum, sample, model, concurrency, consistency = null, replication = null }: StormObservation): StormMeasurement {
  const latency = summarize(sample.latenciesMs);
  const theory = quorumLatencyTheory(model, quorum);
  const failed = sample.attempted - sample.succeeded;
  return {
    target,
    quorum,
    attempted: sample.attempted,
    succeeded: sample.succeeded,
    failed,
    failures: sample.failures,
    cutShort: sample.cutShort,
    latency,
    durationMs: sample.durationMs,
    throughputPerSec: sample.durationMs > 0 ? (sample.succeeded * 1000) / sample.durationMs : 0,
    theory,
    theoryThroughputPerSec: theory.mean > 0 ? (concurrency * 1000) / theory.mean : null,
    overhead: latency && { mean: latency.mean - theory.mean, p50: latency.p50 - theory.p50, p95: latency.p95 - theory.p95, p99: latency.p99 - theory.p99 },
    consistency,
    replication,
  };
}

export function throughputRatios(measurements: readonly StormMeasurement[], against: TargetKind = 'reference'): Array<{ quorum: number; ratio: number }> {
  const ratios: Array<{ quorum: number; ratio: number }> = [];
  for (const cluster of measurements.filter((m) => m.target === 'cluster')) {
    const reference = measurements.find((m) => m.target === against && m.quorum === cluster.quorum);
    if (reference && reference.throughputPerSec > 0) ratios.push({ quorum: cluster.quorum, ratio: cluster.throughputPerSec / reference.throughputPerSec });
  }
  return ratios;
}

/** What makes a run fail loudly: a storm stopped by its time limit, followers that never agreed. */
export function findProblems(measurements: readonly StormMeasurement[]): string[] {
  const problems: string[] = [];
  for (const m of measurements) {
    if (m.cutShort) problems.push(`${m.target} w=${m.quorum}: the time limit stopped the storm after ${m.attempted} writes`);
    if (m.consistency && !m.consistency.converged) {
      problems.push(
        `cluster w=${m.quorum}: followers did not converge: ${m.consistency.lastReadMismatches} of ${m.consistency.pairs} reads still differ from the leader ` +
          `after ${m.consistency.rounds} rounds (${m.consistency.examples.join('; ')})`,
      );
    }
  }
  return problems;
}
