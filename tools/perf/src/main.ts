/**
 * `npm run storm`: a write storm against a replicated KV cluster (launched here, or an existing
 * one), by write quorum, measured next to the delay model's theory. Writes results.json,
 * results.csv, latency.png and throughput.png, prints a table, and exits 1 when a storm was
 * cut short or the followers never converged.
 */
import os from 'node:os';
import path from 'node:path';
import type { NodeProcess } from '@kv/local-cluster';
import type { DelayModel } from './delay-model';
import { leaderProfileDir, profilingEnv, summarizeLeaderProfile, summarizeNodeProfiles } from './leader-profile';
import { LoadClient } from './load-client';
import { describeMachine } from './machine';
import { writeResultFiles } from './results-files';
import { formatSummary, formatTable } from './results-table';
import { LAUNCHED_FOLLOWERS, parseStormPlan, type StormPlan } from './storm-plan';
import { findProblems, throughputRatios, type RunResults, type StormMeasurement } from './storm-results';
import { runStorms } from './storm-runner';
import { connectExistingCluster, launchLocalCluster, launchReferenceServer, type ClusterTarget } from './storm-target';
import { connectEtcd, findEtcd, launchEtcd, type EtcdTarget } from './etcd-cluster';
import { etcdWatchMember } from './etcd-watchers';

const nodeProfileDir = (outDir: string) => path.resolve(outDir, 'node-profiles');

/** The bundle sits in dist/tools/perf; the leader and follower builds in dist/apps. */
const DIST_DIR = path.resolve(__dirname, '..', '..');

async function main(): Promise<number> {
  const plan = parseStormPlan(process.argv.slice(2), new Date());
  const startedAt = new Date();
  const loadAverageStart = os.loadavg()[0];
  let cluster: ClusterTarget | null = null;
  let reference: NodeProcess | null = null;
  let load: LoadClient | null = null;
  let etcd: EtcdTarget | null = null;

  const release = async () => {
    await load?.close();
    await etcd?.stop();
    etcd = null;
    await reference?.stop();
    await cluster?.stop();
    load = null;
    reference = null;
    cluster = null;
  };
  // Ctrl-C stops the nodes this run started before leaving.
  const interrupt = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping ...\n`);
    void release().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  let model: DelayModel;
  let measurements: StormMeasurement[];
  let leaderUrl: string;
  let etcdInfo: RunResults['etcd'];
  try {
    process.stdout.write(describePlan(plan));
    const delays = { followers: LAUNCHED_FOLLOWERS, minDelayMs: plan.minDelayMs, maxDelayMs: plan.maxDelayMs };
    // With --profile-nodes the leader's profile lies beside the followers'.
    const leaderExtraEnv = plan.profileLeader && !plan.profileNodes ? profilingEnv(leaderProfileDir(plan.outDir)) : {};
    cluster =
      plan.cluster.kind === 'launch'
        ? await launchLocalCluster(delays, DIST_DIR, leaderExtraEnv, plan.durability, plan.profileNodes ? profilingEnv(nodeProfileDir(plan.outDir)) : {})
        : await connectExistingCluster(plan.cluster.leaderUrl, plan.cluster.followerUrls);
    leaderUrl = cluster.leaderUrl;
    model = { followers: cluster.leaderFollowers, minDelayMs: plan.minDelayMs, maxDelayMs: plan.maxDelayMs };
    const tooHigh = plan.quorums.filter((q) => q > model.followers);
    if (tooHigh.length > 0) throw new Error(`the leader has ${model.followers} followers: it cannot take quorum ${tooHigh.join(', ')}`);
    process.stdout.write(`cluster: leader ${cluster.leaderUrl}, followers ${cluster.followerUrls.join(' ')}${cluster.launched ? ' (launched by this run)' : ''}\n`);
    if (plan.reference) {
      reference = await launchReferenceServer(model);
      process.stdout.write(`reference server: ${reference.url}\n`);
    }
    if (plan.etcd?.kind === 'existing') etcd = await connectEtcd(plan.etcd.url);
    else if (plan.etcd?.kind === 'launch') {
      // Benchmarks only, never CI's business: a machine without etcd skips the target.
      if (findEtcd(plan.etcd.bin) === null) process.stdout.write(`etcd: ${plan.etcd.bin} not found, skipping the etcd target (Debian: apt-get install etcd-server)\n`);
      else etcd = await launchEtcd({ bin: plan.etcd.bin, log: (line) => process.stdout.write(line) });
    }
    if (etcd) etcdInfo = { url: etcd.url, members: etcd.memberUrls.length, launched: etcd.launched, version: etcd.version };
    const etcdWatchUrl = etcd ? etcdWatchMember(etcd.url, etcd.memberUrls) : null;
    if (etcd && etcdWatchUrl !== null && plan.watchers > 0) {
      const watchUrl = etcdWatchUrl;
      if (etcdInfo) etcdInfo = { ...etcdInfo, watchUrl };
      process.stdout.write(`etcd: ${plan.watchers} watchers on ${watchUrl}${watchUrl === etcd.url ? ' (the member the storm writes to: no other member known)' : ', not the member the storm writes to'}\n`);
    }
    load = LoadClient.start();
    measurements = await runStorms(
      plan,
      model,
      {
        leaderUrl: cluster.leaderUrl,
        followerUrls: cluster.followerUrls,
        referenceUrl: reference?.url ?? null,
        etcdUrl: etcd?.url ?? null,
        etcdWatchUrl,
        pids: { cluster: cluster.pids, reference: reference?.pid !== undefined ? [reference.pid] : [], etcd: etcd?.pids ?? [] },
      },
      load,
    );
  } finally {
    await release();
  }

  const results: RunResults = {
    tool: 'kv-perf-storm',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: describeMachine(loadAverageStart),
    settings: {
      mode: plan.mode,
      writesPerQuorum: plan.writes,
      concurrency: plan.concurrency,
      keys: plan.keys,
      valueSize: plan.valueSize,
      warmupWrites: plan.warmupWrites,
      quorums: plan.quorums,
      delayModel: model,
      launchedCluster: plan.cluster.kind === 'launch',
      leaderUrl,
      durability: plan.durability,
    },
    measurements,
    throughputRatio: throughputRatios(measurements),
    ...(etcdInfo ? { etcd: etcdInfo, etcdRatio: throughputRatios(measurements, 'etcd') } : {}),
    problems: findProblems(measurements),
  };
  const files = await writeResultFiles(plan.outDir, results);
  // The leader writes its profile as it exits, so this comes after release().
  if (plan.profileLeader) process.stdout.write(`\n${await summarizeLeaderProfile(plan.profileNodes ? nodeProfileDir(plan.outDir) : leaderProfileDir(plan.outDir))}`);
  if (plan.profileNodes) process.stdout.write(`\n${(await summarizeNodeProfiles(nodeProfileDir(plan.outDir))).split('\n\n')[0]}\n(details: ${path.join(plan.outDir, 'node-profiles.txt')})\n`);
  process.stdout.write(`\n${formatTable(measurements)}\n`);
  const summary = formatSummary(results);
  if (summary) process.stdout.write(`${summary}\n`);
  process.stdout.write(`latencies in ms; theory: k-th smallest of ${model.followers} delays uniform in [${model.minDelayMs}, ${model.maxDelayMs}] ms\n`);
  process.stdout.write(`wrote ${files.join(', ')}\n`);
  return results.problems.length > 0 ? 1 : 0;
}

function describePlan(plan: StormPlan): string {
  return (
    `storm (${plan.mode} mode): quorums ${plan.quorums.join(',')}, ${plan.writes} writes per quorum by ${plan.concurrency} writers over ${plan.keys} keys, ` +
    `delays ${plan.minDelayMs}-${plan.maxDelayMs} ms${plan.cluster.kind === 'existing' ? ' (assumed: the theory only)' : ''}, ` +
    `${plan.reference ? 'with' : 'without'} the reference server` +
    `${plan.durability ? `, nodes with DATA_DIR (FSYNC=${plan.durability.fsync})` : ''}` +
    `${plan.etcd ? `, beside etcd (${plan.etcd.kind === 'launch' ? 'six members launched here, data on disk' : plan.etcd.url})` : ''}\n`
  );
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`storm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
