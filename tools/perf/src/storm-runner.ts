/**
 * The run's sequence: warm up each target, then for each quorum storm the reference server (when
 * asked), storm the cluster and check that the followers converge. Each storm starts once
 * the previous one has fully replicated, so quorums do not bleed into each other.
 */
import { checkConsistency, type ConsistencyReport } from './consistency-check';
import type { DelayModel } from './delay-model';
import type { LoadClient } from './load-client';
import { cpuMsOf, mainThreadCpuMs, waitCpuQuiet } from './cpu-usage';
import { PhaseProgress } from './phase-progress';
import type { StormPlan } from './storm-plan';
import { readReplicationCounters, replicationCost, type ReplicationCost } from './replication-metrics';
import { measureStorm, WATCHED_TWIN, type StormMeasurement, type TargetKind, type WatchersReport } from './storm-results';
import type { StormSample, StormSpec } from './storm-spec';
import { openWatchers, watcherPrefixes, type WatcherPool } from './watchers';
import { openEtcdWatchers, waitEtcdCaughtUp } from './etcd-watchers';

export interface StormTargets {
  readonly leaderUrl: string;
  readonly followerUrls: readonly string[];
  /** The reference server's URL, when it runs. */
  readonly referenceUrl: string | null;
  /** The etcd member the storm writes to, when etcd is a target. */
  readonly etcdUrl?: string | null;
  /** The etcd member the `--watchers` streams are held on (another than `etcdUrl` when there is one). */
  readonly etcdWatchUrl?: string | null;
  /** Each target's processes, when this run launched them: their CPU time per write is measured. */
  readonly pids?: Partial<Record<TargetKind, readonly number[]>>;
}

/** The keys every storm writes, the same for each quorum so each check reads the latest writes. */
export function stormKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `perf-${i}`);
}

const fmt = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));

export async function runStorms(plan: StormPlan, model: DelayModel, targets: StormTargets, load: LoadClient): Promise<StormMeasurement[]> {
  const keys = stormKeys(plan.keys);
  const runStamp = Date.now().toString(36);
  const spec = (targetUrl: string, quorum: number, writes: number, label: string, target: TargetKind = 'cluster'): StormSpec => ({
    targetUrl,
    protocol: target === 'etcd' || target === 'etcd-watched' ? 'etcd' : 'kv',
    quorum,
    writes,
    concurrency: plan.concurrency,
    keys,
    valueSize: plan.valueSize,
    label: `${runStamp}-${label}`,
    timeLimitMs: plan.stormTimeLimitMs,
    requestTimeoutMs: plan.requestTimeoutMs,
  });
  const storm = async (phase: string, stormSpec: StormSpec): Promise<StormSample> => {
    const progress = PhaseProgress.start(phase, stormSpec.writes, 'writes');
    const sample = await load.storm(stormSpec, (completed) => progress.update(completed));
    const failed = sample.attempted - sample.succeeded;
    const rate = sample.durationMs > 0 ? (sample.succeeded * 1000) / sample.durationMs : 0;
    progress.finish(`${phase.padEnd(22)} ${sample.succeeded} ok, ${failed} failed in ${(sample.durationMs / 1000).toFixed(1)} s (${rate.toFixed(0)} writes/s)`);
    return sample;
  };
  const waitConverged = (stormEndedAtEpochMs: number, onRound?: (agreeing: number) => void) =>
    checkConsistency({
      leaderUrl: targets.leaderUrl,
      followerUrls: targets.followerUrls,
      keys,
      stormEndedAtEpochMs,
      timeoutMs: plan.convergeTimeoutMs,
      readTimeoutMs: Math.min(plan.requestTimeoutMs, 5000),
      onRound,
    });
  const targetUrls: Array<[TargetKind, string]> = [];
  if (targets.referenceUrl) targetUrls.push(['reference', targets.referenceUrl]);
  targetUrls.push(['cluster', targets.leaderUrl]);
  // Interleaved with the plain storm, quorum by quorum: the ratio of the two is the cost.
  if (plan.watchers > 0) targetUrls.push(['watched', targets.leaderUrl]);
  // After the cluster: the cluster's convergence check runs before etcd's storm starts.
  if (targets.etcdUrl) targetUrls.push(['etcd', targets.etcdUrl]);
  // etcd without, then with the same watchers, as the cluster.
  if (targets.etcdUrl && plan.watchers > 0) targetUrls.push(['etcd-watched', targets.etcdUrl]);
  const prefixes = watcherPrefixes(plan.watchLayout, plan.watchers, keys);
  const etcdWatchUrl = targets.etcdWatchUrl ?? targets.etcdUrl ?? null;
  const openPool = async (target: TargetKind): Promise<WatcherPool | null> => {
    if (target === 'watched') return openWatchers(targets.followerUrls[0], prefixes);
    if (target === 'etcd-watched' && etcdWatchUrl !== null) return openEtcdWatchers(etcdWatchUrl, prefixes);
    return null;
  };

  /**
   * etcd answers a put once a majority has it; the other members apply it afterwards. After
   * each etcd storm (the warm-up too) the run waits until etcd's launched members are quiet,
   * as it waits for the cluster's followers to converge, so that work cannot run into the
   * next target's storm (the reference's and the cluster's, after the warm-up or with
   * --quorums 1,2,…). On the development machine they were quiet within the first half
   * second after 20,000 writes (2026-11-30).
   */
  const settleEtcd = async (target: TargetKind, phase: string): Promise<void> => {
    const launched = target === 'etcd' || target === 'etcd-watched' ? (targets.pids?.[WATCHED_TWIN[target] ?? target] ?? []) : [];
    if (launched.length === 0) return;
    // A member that has exited is left out, and said so: the others are still waited for.
    const running = launched.filter((pid) => cpuMsOf([pid]) !== null);
    const gone = launched.length - running.length;
    const members = gone > 0 ? `etcd (${gone} of its ${launched.length} members gone)` : 'etcd';
    if (running.length === 0) return void process.stdout.write(`${''.padEnd(22)} ${members}: nothing to wait for after ${phase}\n`);
    const settled = await waitCpuQuiet(() => cpuMsOf(running), { timeoutMs: plan.convergeTimeoutMs });
    const how =
      settled.outcome === 'quiet'
        ? `quiet ${settled.afterMs} ms after ${phase}`
        : settled.outcome === 'busy'
          ? `still busy ${settled.afterMs} ms after ${phase}`
          : `a member exited while waiting, ${settled.afterMs} ms after ${phase}`;
    process.stdout.write(`${''.padEnd(22)} ${members} ${how}\n`);
  };

  if (plan.warmupWrites > 0) {
    for (const [target, url] of targetUrls) {
      const sample = await storm(`warm-up ${target}`, spec(url, plan.quorums[0], plan.warmupWrites, 'warmup', target));
      // Let the warm-up finish replicating, so none of it is counted in the first storm.
      if (target === 'cluster') await waitConverged(sample.endedAtEpochMs);
      await settleEtcd(target, 'its warm-up');
    }
  }

  const measurements: StormMeasurement[] = [];
  for (const quorum of plan.quorums) {
    for (const [target, url] of targetUrls) {
      const isCluster = target === 'cluster' || target === 'watched';
      const watchers = await openPool(target);
      const countersBefore = isCluster ? await readReplicationCounters(targets.leaderUrl) : null;
      const pids = targets.pids?.[WATCHED_TWIN[target] ?? target] ?? [];
      const cpuBefore = pids.length > 0 ? cpuMsOf(pids) : null;
      const clientCpuBefore = watchers ? mainThreadCpuMs() : null;
      const generatorCpuBefore = process.cpuUsage();
      const sample = await storm(`${target} w=${quorum}`, spec(url, quorum, plan.writes, `w${quorum}`, target));
      const cpuAfter = pids.length > 0 ? cpuMsOf(pids) : null;
      const clientCpuAfter = watchers ? mainThreadCpuMs() : null;
      const cpuMsPerWrite = cpuBefore !== null && cpuAfter !== null && sample.succeeded > 0 ? (cpuAfter - cpuBefore) / sample.succeeded : null;
      const generatorCpu = process.cpuUsage(generatorCpuBefore);
      const generatorCpuMsPerWrite = sample.succeeded > 0 ? (generatorCpu.user + generatorCpu.system) / 1000 / sample.succeeded : null;
      let consistency: ConsistencyReport | null = null;
      let replication: ReplicationCost | null = null;
      if (isCluster) {
        const progress = PhaseProgress.start(`converge w=${quorum}`, keys.length * targets.followerUrls.length, 'reads agree', false);
        consistency = await waitConverged(sample.endedAtEpochMs, (agreeing) => progress.update(agreeing));
        progress.finish(
          `${`converge w=${quorum}`.padEnd(22)} ${consistency.firstReadMismatches}/${consistency.pairs} reads differed at first; ` +
            (consistency.converged ? `all agree ${consistency.convergeMs} ms after the last write` : `STILL ${consistency.lastReadMismatches} differ after ${plan.convergeTimeoutMs} ms`),
        );
        // Read after convergence, so every entry of the storm has been carried.
        const countersAfter = await readReplicationCounters(targets.leaderUrl);
        replication = countersBefore && countersAfter ? replicationCost(countersBefore, countersAfter) : null;
      }
      if (target === 'etcd-watched' && etcdWatchUrl !== null) {
        // etcd's counterpart of the convergence check: the watched member has applied every write.
        const caughtUpMs = await waitEtcdCaughtUp(url, etcdWatchUrl, plan.convergeTimeoutMs);
        process.stdout.write(
          `${`caught up w=${quorum}`.padEnd(22)} ` +
            (caughtUpMs !== null ? `the watched member had every write ${caughtUpMs} ms after the storm\n` : `the watched member did NOT catch up within ${plan.convergeTimeoutMs} ms\n`),
        );
      }
      let watched: WatchersReport | null = null;
      if (watchers) {
        const clientCpuMsPerWrite = clientCpuBefore !== null && clientCpuAfter !== null && sample.succeeded > 0 ? (clientCpuAfter - clientCpuBefore) / sample.succeeded : null;
        watched = { count: plan.watchers, layout: plan.watchLayout, openAtEnd: watchers.open, events: watchers.events, endedEarly: watchers.ended, clientCpuMsPerWrite };
        process.stdout.write(`${''.padEnd(22)} ${watchers.open} of ${plan.watchers} watchers (${plan.watchLayout}) still open, ${watchers.events} events received, ${watchers.ended} ended early` + (clientCpuMsPerWrite !== null ? `, ${clientCpuMsPerWrite.toFixed(3)} CPU ms per write reading them\n` : '\n'));
        await watchers.close();
      }
      // etcd may still be applying the storm on its other members, or hold a backlog for
      // closed watch streams: let it finish before the next storm.
      await settleEtcd(target, watchers ? 'the storm and its watchers' : 'the storm');
      const measurement: StormMeasurement = { ...measureStorm({ target, quorum, sample, model, concurrency: plan.concurrency, consistency, replication }), cpuMsPerWrite, generatorCpuMsPerWrite, watchers: watched };
      measurements.push(measurement);
      process.stdout.write(
        `${''.padEnd(22)} mean ${fmt(measurement.latency?.mean)} ms (theory ${fmt(measurement.theory.mean)}), p99 ${fmt(measurement.latency?.p99)} ms (theory ${fmt(measurement.theory.p99)})` +
          `${cpuMsPerWrite !== null ? `, ${cpuMsPerWrite.toFixed(3)} CPU ms per write (${pids.length} processes)` : ''}` +
          `${generatorCpuMsPerWrite !== null ? `; the storm's own process ${generatorCpuMsPerWrite.toFixed(3)}` : ''}\n`,
      );
    }
  }
  return measurements;
}
