import { Command, InvalidArgumentError, Option } from 'commander';

/**
 * `latency`: the seed's storm under the demonstration delays, to compare with the theory.
 * `throughput`: no delay and many writers, to find how many writes per second the cluster takes.
 */
export type StormMode = 'latency' | 'throughput';

/** When a launched cluster's nodes sync their DATA_DIR journal (the FSYNC setting). */
export type FsyncPolicy = 'always' | 'batch' | 'off';

export type ClusterChoice = { readonly kind: 'launch' } | { readonly kind: 'existing'; readonly leaderUrl: string; readonly followerUrls: readonly string[] };

/** Everything one run does, validated once and frozen: nothing else reads the command line. */
export interface StormPlan {
  readonly mode: StormMode;
  readonly writes: number;
  readonly concurrency: number;
  readonly keys: number;
  readonly quorums: readonly number[];
  /** The delay model: configures a launched cluster; for an existing one it only feeds the theory. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly valueSize: number;
  readonly outDir: string;
  readonly cluster: ClusterChoice;
  /** Also storm the reference server (a bare Node HTTP server) with the same load, quorum by quorum. */
  readonly reference: boolean;
  /** Writes sent to each target before the first measured storm, not measured. */
  readonly warmupWrites: number;
  /** No write of a storm starts after this long. */
  readonly stormTimeLimitMs: number;
  /** The followers must agree with the leader within this long after each storm. */
  readonly convergeTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Run the launched leader under `node --cpu-prof` and summarize where its CPU went. */
  readonly profileLeader: boolean;
  /** The same for every launched node, leader and followers. */
  readonly profileNodes: boolean;
  /** Launch the cluster with DATA_DIR (fresh temporary directories) and this FSYNC; null: in memory. */
  readonly durability: { readonly fsync: FsyncPolicy } | null;
  /**
   * Also storm etcd with the same writes through its HTTP gateway, each quorum's storm beside
   * this store's: a cluster at a URL, or six members this run launches (skipped with a notice
   * when the etcd binary is not installed). Null: no etcd.
   */
  readonly etcd: EtcdChoice | null;
  /**
   * Watch streams held open on the first follower while the cluster is stormed a second
   * time each quorum (target `watched`, right after `cluster`): what watchers cost. With
   * etcd as a target, etcd is stormed a second time too, with as many watches on a member
   * other than the one it writes to (target `etcd-watched`, right after `etcd`).
   */
  readonly watchers: number;
  /** Which keys those watchers watch (`watcherPrefixes`): all the storm's keys each, one key each, or none. */
  readonly watchLayout: WatchLayout;
}

/**
 * `same`: every watcher watches every key the storm writes (each gets every event: the worst
 * case); `spread`: watcher i watches the storm's key i mod keys as its prefix (a few events
 * each); `idle`: each its own prefix that no write matches (no event at all).
 */
export type WatchLayout = 'same' | 'spread' | 'idle';

export type EtcdChoice = { readonly kind: 'existing'; readonly url: string } | { readonly kind: 'launch'; readonly bin: string };

/** A launched cluster has the standard five followers. */
export const LAUNCHED_FOLLOWERS = 5;

const MODE_DEFAULTS: Readonly<Record<StormMode, Pick<StormPlan, 'writes' | 'concurrency' | 'minDelayMs' | 'maxDelayMs' | 'reference'>>> = {
  // 250 writes by 10 writers: about 12 s per quorum on average over quorums 1-5, a minute in all.
  latency: { writes: 250, concurrency: 10, minDelayMs: 50, maxDelayMs: 800, reference: false },
  throughput: { writes: 20_000, concurrency: 64, minDelayMs: 0, maxDelayMs: 0, reference: true },
};

/** Latency mode's warm-up: its storms are timed by the delays, not by compiled code. Throughput mode's is as long as its storm (see resolvePlan). */
const LATENCY_WARMUP_WRITES = 20;
/** The most writes per storm, and so per warm-up. */
const MAX_WRITES = 10_000_000;

interface RawOptions {
  mode: StormMode;
  writes?: number;
  concurrency?: number;
  keys: number;
  quorums: number[];
  minDelay?: number;
  maxDelay?: number;
  valueSize: number;
  out?: string;
  leader?: string;
  followers?: string[];
  reference?: boolean;
  warmup?: number;
  timeLimit: number;
  convergeTimeout: number;
  requestTimeout: number;
  profileLeader?: boolean;
  profileNodes?: boolean;
  durable?: boolean;
  fsync?: FsyncPolicy;
  etcd?: string;
  watchers: number;
  watchLayout: WatchLayout;
  launchEtcd?: boolean;
  etcdBin: string;
}

function integerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return value;
  };
}

function parseQuorums(text: string): number[] {
  const quorums = text.split(',').map((part) => integerIn(0, 100)(part));
  if (new Set(quorums).size !== quorums.length) throw new InvalidArgumentError('lists a quorum twice');
  return quorums;
}

/** Storm traffic stays on this machine: a mistyped URL must not load someone else's server. */
function loopbackUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new InvalidArgumentError(`${text}: only http:// URLs`);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new InvalidArgumentError(`${text}: only loopback hosts (127.0.0.1, localhost, [::1])`);
  return url.origin;
}

function parseFollowers(text: string): string[] {
  return text.split(',').map((part) => loopbackUrl(part.trim()));
}

export function createStormCommand(): Command {
  return new Command('storm')
    .description('Write storm against a replicated KV cluster: latency and throughput by write quorum, next to the delay model')
    .addOption(new Option('--mode <mode>', 'latency: demonstration delays, 10 writers; throughput: zero delay, 64 writers, 20,000 writes').choices(['latency', 'throughput']).default('latency'))
    .option('--writes <n>', 'writes per quorum (default: 250; throughput mode 20000)', integerIn(1, MAX_WRITES))
    .option('--concurrency <n>', 'concurrent writers (default: 10; throughput mode 64)', integerIn(1, 1024))
    .option('--keys <n>', 'distinct keys written', integerIn(1, 100_000), 10)
    .addOption(new Option('--quorums <list>', 'write quorums to storm, comma-separated, sent as ?w=N').argParser(parseQuorums).default([1, 2, 3, 4, 5], '1,2,3,4,5'))
    .option('--min-delay <ms>', 'lowest simulated replication delay (default: 50; throughput mode 0)', integerIn(0, 60_000))
    .option('--max-delay <ms>', 'highest simulated replication delay (default: 800; throughput mode 0)', integerIn(0, 60_000))
    .option('--value-size <chars>', 'length of each written string value', integerIn(1, 1_000_000), 32)
    .option('--out <dir>', 'where results.json, results.csv and the charts go (default: perf-results/<mode>-<time>)')
    .option('--leader <url>', 'storm this existing leader instead of launching a cluster (needs --followers)', loopbackUrl)
    .option('--followers <urls>', "the existing cluster's follower URLs, comma-separated", parseFollowers)
    .option('--reference', 'also storm a bare Node HTTP server with the same load (default in throughput mode)')
    .option('--no-reference', 'skip the reference server')
    .option('--warmup <n>', 'unmeasured writes to each target before the first storm (default: 20; throughput mode as many as --writes)', integerIn(0, MAX_WRITES))
    .option('--time-limit <s>', 'no write of a storm starts after this many seconds', integerIn(1, 3600), 300)
    .option('--converge-timeout <ms>', 'how long followers may take to agree with the leader after a storm', integerIn(0, 600_000), 30_000)
    .option('--request-timeout <ms>', 'a write or read without an answer after this long fails', integerIn(1, 600_000), 30_000)
    .option('--profile-leader', "run the launched leader under node --cpu-prof; writes the profile and a summary of its top functions to the output directory")
    .option('--profile-nodes', 'profile every launched node (leader and followers); writes node-profiles.txt: busy time and top functions per process')
    .option('--durable', 'launch the cluster with DATA_DIR: every node journals to a fresh temporary directory, removed afterwards')
    .addOption(new Option('--fsync <policy>', 'with --durable: the nodes\' FSYNC setting').choices(['always', 'batch', 'off']))
    .option('--etcd <url>', "also storm this etcd member's HTTP gateway (POST /v3/kv/put) with the same writes, at zero delay", loopbackUrl)
    .option('--launch-etcd', 'also storm etcd: launch six members on loopback, data on disk in a temporary directory (skipped when etcd is not installed)')
    .option('--etcd-bin <path>', 'the etcd executable for --launch-etcd', 'etcd')
    .option('--watchers <n>', 'also storm the cluster with N watch streams open on the first follower, right after each plain storm (and etcd with N watches on a member it does not write to, when etcd is a target)', integerIn(0, 10_000), 0)
    .addOption(
      new Option('--watch-layout <layout>', "with --watchers: same = all watch the storm's keys, spread = watcher i watches key i mod --keys, idle = prefixes no write matches")
        .choices(['same', 'spread', 'idle'])
        .default('same'),
    );
}

/** The plan from parsed options: mode defaults under explicit flags, and the checks across flags. */
export function resolvePlan(options: RawOptions, now: Date): StormPlan {
  const defaults = MODE_DEFAULTS[options.mode];
  const minDelayMs = options.minDelay ?? defaults.minDelayMs;
  const maxDelayMs = options.maxDelay ?? defaults.maxDelayMs;
  if (minDelayMs > maxDelayMs) throw new InvalidArgumentError(`--min-delay (${minDelayMs}) is above --max-delay (${maxDelayMs})`);
  if ((options.leader === undefined) !== (options.followers === undefined)) throw new InvalidArgumentError('--leader and --followers go together');
  const cluster: ClusterChoice =
    options.leader !== undefined && options.followers !== undefined ? { kind: 'existing', leaderUrl: options.leader, followerUrls: options.followers } : { kind: 'launch' };
  if (options.profileLeader && cluster.kind === 'existing') throw new InvalidArgumentError('--profile-leader needs a cluster this run launches, not --leader');
  if (options.profileNodes && cluster.kind === 'existing') throw new InvalidArgumentError('--profile-nodes needs a cluster this run launches, not --leader');
  if (options.durable && cluster.kind === 'existing') throw new InvalidArgumentError('--durable needs a cluster this run launches: set DATA_DIR on the nodes of an existing cluster yourself');
  if (options.fsync !== undefined && !options.durable) throw new InvalidArgumentError('--fsync goes with --durable');
  if (options.etcd !== undefined && options.launchEtcd) throw new InvalidArgumentError('--etcd and --launch-etcd exclude each other');
  const etcd: EtcdChoice | null =
    options.etcd !== undefined ? { kind: 'existing', url: options.etcd } : options.launchEtcd ? { kind: 'launch', bin: options.etcdBin } : null;
  // etcd has no simulated network: only a zero-delay storm compares like with like.
  if (etcd && maxDelayMs > 0) throw new InvalidArgumentError('--etcd and --launch-etcd need zero delay (--mode throughput, or --max-delay 0)');
  const followerCount = cluster.kind === 'existing' ? cluster.followerUrls.length : LAUNCHED_FOLLOWERS;
  const tooHigh = options.quorums.filter((q) => q > followerCount);
  if (tooHigh.length > 0) throw new InvalidArgumentError(`--quorums ${tooHigh.join(',')} above the ${followerCount} followers`);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return Object.freeze({
    mode: options.mode,
    writes: options.writes ?? defaults.writes,
    concurrency: options.concurrency ?? defaults.concurrency,
    keys: options.keys,
    quorums: Object.freeze([...options.quorums]),
    minDelayMs,
    maxDelayMs,
    valueSize: options.valueSize,
    outDir: options.out ?? `perf-results/${options.mode}-${stamp}`,
    cluster,
    reference: options.reference ?? defaults.reference,
    // Throughput mode warms up with as many writes as it measures: the followers' frame path
    // reaches V8's optimized tier only after about a thousand frames each (one frame per
    // 20-30 writes at 64 writers). After 2,000 warm-up writes, `node --trace-opt` showed a
    // follower's `handleLine` still unoptimized at the end of a 20,000-write storm, and
    // 40,000 warm-up writes cut the followers' CPU per write by 10-18% (2026-11-30, README,
    // "Against etcd", fifth round).
    warmupWrites: options.warmup ?? (options.mode === 'throughput' ? (options.writes ?? defaults.writes) : LATENCY_WARMUP_WRITES),
    stormTimeLimitMs: options.timeLimit * 1000,
    convergeTimeoutMs: options.convergeTimeout,
    requestTimeoutMs: options.requestTimeout,
    profileLeader: options.profileLeader ?? false,
    profileNodes: options.profileNodes ?? false,
    durability: options.durable ? Object.freeze({ fsync: options.fsync ?? 'always' }) : null,
    etcd: etcd && Object.freeze(etcd),
    watchers: options.watchers,
    watchLayout: options.watchLayout,
  });
}

/** Parses a command line (without `node` and the script) into a plan; commander reports bad flags. */
export function parseStormPlan(argv: readonly string[], now: Date, command: Command = createStormCommand()): StormPlan {
  command.parse([...argv], { from: 'user' });
  try {
    return resolvePlan(command.opts<RawOptions>(), now);
  } catch (error) {
    if (error instanceof InvalidArgumentError) command.error(`error: ${error.message}`);
    throw error;
  }
}
