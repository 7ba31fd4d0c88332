import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, LocalCluster, type NodeProcess } from '@kv/local-cluster';
import { checkHistory, type Anomaly, type CheckResult } from './checker';
import { LinkProxy } from './fault-proxy';
import type { FinalState, History, Item } from './history';
import { Nemesis } from './nemesis';
import { makeSchedule } from './schedule';
import { now, Recorder, runWorkload, supportsConditionalWrites } from './workload';

export type Storage = 'memory' | 'always' | 'batch' | 'off';

export interface NemesisOptions {
  readonly seconds: number;
  readonly seed: number;
  readonly storage: Storage;
  readonly leaderWipe: boolean;
  readonly clients: number;
  readonly keys: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly writeQuorum: number;
  readonly replicationTimeoutMs: number;
  readonly distDir: string;
  readonly log: (line: string) => void;
}

export interface NemesisRun {
  readonly options: Omit<NemesisOptions, 'log'>;
  readonly conditionalWrites: boolean;
  readonly history: History;
  readonly final: FinalState;
  readonly result: CheckResult;
  readonly anomalies: Anomaly[];
  readonly pids: number[];
  /** PIDs still alive after the cluster stopped (then killed by PID): should be empty. */
  readonly leftoverPids: number[];
  readonly nodeLogs: Record<string, string[]>;
}

const FOLLOWERS = 5;

async function listAll(url: string): Promise<Item[] | null> {
  const items: Item[] = [];
  let after: string | null = null;
  try {
    for (let page = 0; page < 1000; page++) {
      const query: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
      const res = await fetch(`${url}/kv?limit=10000${query}`, { signal: AbortSignal.timeout(2000) });
      if (res.status !== 200) return null;
      const body = (await res.json()) as { items: Item[]; next: string | null };
      items.push(...body.items.map(({ key, value, version }) => ({ key, value, version })));
      after = body.next;
      if (after === null) return items;
    }
  } catch {
    return null;
  }
  return null;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * One nemesis run: a six-node cluster behind per-link proxies, clients and the seeded fault
 * schedule for `seconds`, then the faults healed and the writes stopped, the contract's
 * deadline (2 s + max delay) for convergence, the final listings, and the checks.
 * Every node is stopped by its PID at the end, whatever happened.
 */
export async function runNemesis(options: NemesisOptions): Promise<NemesisRun> {
  const { log } = options;
  const dataRoot = options.storage === 'memory' ? null : await mkdtemp(path.join(tmpdir(), 'kv-nemesis-'));
  const ports: number[] = [];
  while (ports.length < FOLLOWERS + 1) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const proxies: LinkProxy[] = [];
  let cluster: LocalCluster | undefined;
  const pids = new Set<number>();
  try {
    for (let i = 0; i < FOLLOWERS; i++) proxies.push(await LinkProxy.start(ports[i + 1], options.seed + i));
    cluster = await LocalCluster.start({
      ports,
      distDir: options.distDir,
      ...(dataRoot === null ? {} : { dataRoot }),
      env: { LOG_LEVEL: 'warn', ...(dataRoot === null ? {} : { FSYNC: options.storage }) },
      leaderEnv: {
        FOLLOWERS: proxies.map((p) => p.url).join(','),
        WRITE_QUORUM: String(options.writeQuorum),
        MIN_DELAY_MS: String(options.minDelayMs),
        MAX_DELAY_MS: String(options.maxDelayMs),
        REPLICATION_TIMEOUT_MS: String(options.replicationTimeoutMs),
        // The link proxies delay, duplicate and reorder each request: the leader sends a POST per request.
        REPLICATION_STREAM: 'off',
      },
    });
    for (const node of cluster.nodes) if (node.pid !== undefined) pids.add(node.pid);
    const followerNames = cluster.followers.map((f) => f.name);
    const keyPrefix = `n${options.seed}-`;
    const conditionalWrites = await supportsConditionalWrites(cluster.leader.url, `probe-${options.seed}`);
    log(`conditional writes (?ifVersion=): ${conditionalWrites ? 'supported, in the mix' : 'answered 400, left out'}`);

    const originMs = performance.now();
    const recorder = new Recorder(originMs);
    const nodes = new Map<string, NodeProcess>(cluster.nodes.map((n) => [n.name, n]));
    const links = new Map(followerNames.map((name, i) => [name, proxies[i]]));
    const nemesis = new Nemesis({ nodes, links, dataRoot, pids, log }, originMs);
    const schedule = makeSchedule({ seed: options.seed, seconds: options.seconds, followers: followerNames, persistent: dataRoot !== null, leaderWipe: options.leaderWipe });
    log(`schedule: ${schedule.length} faults over ${options.seconds} s`);
    nemesis.start(schedule);
    await runWorkload(
      {
        leader: { name: 'leader', url: cluster.leader.url },
        followers: cluster.followers.map((f) => ({ name: f.name, url: f.url })),
        clients: options.clients,
        keys: Array.from({ length: options.keys }, (_, i) => `${keyPrefix}k${i}`),
        seed: options.seed,
        originMs,
        untilMs: options.seconds * 1000,
        maxOpsPerClient: 50_000,
        conditional: conditionalWrites,
        writeTimeoutMs: options.replicationTimeoutMs + 2000,
        quorums: [1, 2, 3, 3, 3, 5],
      },
      recorder,
    );
    log(`workload done: ${recorder.ops.length} operations; healing`);
    await nemesis.heal();
    const healedMs = now(originMs);

    // Guarantee 2's deadline, counted from the moment every node serves and every link passes.
    const deadlineMs = 2000 + options.maxDelayMs;
    let convergedAfterMs: number | null = null;
    let leaderItems: Item[] | null = null;
    let followerItems: Record<string, Item[] | null> = {};
    for (let attempt = 0; attempt < 1000; attempt++) {
      leaderItems = await listAll(cluster.leader.url);
      const lists = await Promise.all(cluster.followers.map((f) => listAll(f.url)));
      followerItems = Object.fromEntries(followerNames.map((name, i) => [name, lists[i]]));
      const expected = JSON.stringify(leaderItems);
      const elapsed = now(originMs) - healedMs;
      if (leaderItems !== null && lists.every((l) => JSON.stringify(l) === expected)) {
        convergedAfterMs = elapsed;
        break;
      }
      if (elapsed > deadlineMs) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    log(convergedAfterMs === null ? `not converged within ${deadlineMs} ms` : `converged ${convergedAfterMs.toFixed(0)} ms after healing`);
    const final: FinalState = { leader: leaderItems, followers: followerItems, convergedAfterMs, deadlineMs };
    const history: History = { ops: recorder.ops, faults: nemesis.events, followers: followerNames, keyPrefix };
    const result = checkHistory(history, final);
    const anomalies = [
      ...result.anomalies,
      ...nemesis.failures.map((message): Anomaly => ({ check: 'convergence', kind: 'node-did-not-restart', message, history: [] })),
    ];
    const nodeLogs = Object.fromEntries(cluster.nodes.map((n) => [n.name, n.lines.slice(-200)]));
    return { options: strip(options), conditionalWrites, history, final, result, anomalies, pids: [...pids], leftoverPids: [], nodeLogs };
  } finally {
    await cluster?.stop().catch(() => undefined);
    for (const node of cluster?.nodes ?? []) if (node.pid !== undefined) pids.add(node.pid);
    await Promise.all(proxies.map((p) => p.close().catch(() => undefined)));
    const leftovers = [...pids].filter(alive);
    for (const pid of leftovers) process.kill(pid, 'SIGKILL');
    if (leftovers.length > 0) log(`killed leftover PIDs ${leftovers.join(', ')}`);
    lastLeftovers = leftovers;
    if (dataRoot !== null) await rm(dataRoot, { recursive: true, force: true });
  }
}

let lastLeftovers: number[] = [];
/** PIDs the last run found alive after stopping its cluster (and killed): for the e2e test. */
export const leftoverPidsOfLastRun = () => lastLeftovers;

function strip(options: NemesisOptions): Omit<NemesisOptions, 'log'> {
  return Object.fromEntries(Object.entries(options).filter(([name]) => name !== 'log')) as Omit<NemesisOptions, 'log'>;
}

export async function writeRun(outDir: string, run: NemesisRun, report: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `nemesis-${run.options.storage}-seed${run.options.seed}.json`);
  await writeFile(file, JSON.stringify({ ...run, report }, null, 1));
  return file;
}
