/** Parses the environment once, at start, into a frozen config; nothing else reads process.env. */

export type Env = Readonly<Record<string, string | undefined>>;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type FsyncPolicy = 'always' | 'batch' | 'off';

export interface NodeConfig {
  readonly nodeName: string;
  readonly port: number;
  readonly host: string;
  readonly clusterToken: string | null;
  readonly dataDir: string | null;
  readonly fsync: FsyncPolicy;
  readonly logLevel: LogLevel;
  /**
   * TOMBSTONE_RETENTION_MS: deletes stay tellable (to watchers, and to followers catching up
   * by a delta) at least this long (ms). API.md promises 60 s; lower values are for tests and
   * benchmarks that need a tombstone forgotten at once.
   */
  readonly tombstoneRetentionMs: number;
}

export interface LeaderConfig extends NodeConfig {
  readonly role: 'leader';
  readonly followers: readonly string[];
  readonly writeQuorum: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly replicationTimeoutMs: number;
  /** MIN_FOLLOWERS_TO_WRITE: writes are refused while fewer followers are in sync; 0 = off. */
  readonly minFollowersToWrite: number;
  /** MIN_FOLLOWERS_MAX_LAG_MS: the in-sync window (ms), see libs/replication in-sync.ts. */
  readonly minFollowersMaxLagMs: number;
  /**
   * REPLICATION_STREAM: `on` carries replication as frames of one long-lived request per
   * follower; `off`, a POST per request (what a per-request proxy in front of a follower sees).
   */
  readonly replicationStream: 'on' | 'off';
}

export interface FollowerConfig extends NodeConfig {
  readonly role: 'follower';
  readonly leaderUrl: string | null;
  /** MIN_FOLLOWERS_MAX_LAG_MS: /readyz wants the leader heard from, and caught up with, within this (ms). */
  readonly minFollowersMaxLagMs: number;
}

/** Every problem found, in one line, each naming its variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'batch', 'off'];
export const DEFAULT_WRITE_QUORUM = 3;
/** API.md, Configuration: MIN_FOLLOWERS_MAX_LAG_MS's default (Redis' min-replicas-max-lag is 10 s). */
export const DEFAULT_MIN_FOLLOWERS_MAX_LAG_MS = 10_000;

class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  integer(name: string, fallback: number, min: number, max: number, what = `an integer from ${min} to ${max}`): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      this.problems.push(`${name} must be ${what} (got ${JSON.stringify(value)})`);
      return fallback;
    }
    return Number(value);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
      return fallback;
    }
    return value as T;
  }

  /** One http(s) base URL. WHATWG URL parsing takes `http://a,http://b` as one host, so commas and spaces are refused first. */
  url(name: string, value: string, what = 'http(s) URLs'): string | null {
    try {
      if (/[\s,]/.test(value)) throw new Error('a list');
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      return value.replace(/\/+$/, '');
    } catch {
      this.problems.push(`${name} must hold ${what} (got ${JSON.stringify(value)})`);
      return null;
    }
  }

  done<T>(config: T): Readonly<T> {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    return Object.freeze(config);
  }
}

function common(read: EnvReader, role: 'leader' | 'follower'): NodeConfig {
  return {
    nodeName: read.raw('NODE_NAME') ?? role,
    port: read.integer('PORT', 8000, 0, 65535, 'a TCP port number from 0 to 65535'),
    host: read.raw('HOST') ?? '0.0.0.0',
    clusterToken: read.raw('CLUSTER_TOKEN') ?? null,
    dataDir: read.raw('DATA_DIR') ?? null,
    fsync: read.oneOf('FSYNC', FSYNC_POLICIES, 'always'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    tombstoneRetentionMs: read.integer('TOMBSTONE_RETENTION_MS', DEFAULT_TOMBSTONE_RETENTION_MS, 0, 86_400_000),
  };
}

/** API.md, Watch: a node keeps the deletes of at least the last 60 s. */
export const DEFAULT_TOMBSTONE_RETENTION_MS = 60_000;

export function parseLeaderConfig(env: Env): LeaderConfig {
  const read = new EnvReader(env);
  const base = common(read, 'leader');
  const followers = (read.raw('FOLLOWERS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => read.url('FOLLOWERS', s))
    .filter((s): s is string => s !== null);
  if (new Set(followers).size !== followers.length) read.problems.push('FOLLOWERS lists a URL twice');
  const writeQuorum = read.integer(
    'WRITE_QUORUM',
    Math.min(DEFAULT_WRITE_QUORUM, followers.length),
    0,
    followers.length,
    `an integer from 0 to ${followers.length}, the number of FOLLOWERS`,
  );
  const minDelayMs = read.integer('MIN_DELAY_MS', 0, 0, 600_000);
  const maxDelayMs = read.integer('MAX_DELAY_MS', 0, 0, 600_000);
  if (minDelayMs > maxDelayMs) read.problems.push(`MIN_DELAY_MS (${minDelayMs}) must not exceed MAX_DELAY_MS (${maxDelayMs})`);
  const replicationTimeoutMs = read.integer('REPLICATION_TIMEOUT_MS', 5000, 1, 3_600_000);
  const minFollowersToWrite = read.integer(
    'MIN_FOLLOWERS_TO_WRITE',
    0,
    0,
    followers.length,
    `an integer from 0 (off) to ${followers.length}, the number of FOLLOWERS`,
  );
  const minFollowersMaxLagMs = read.integer('MIN_FOLLOWERS_MAX_LAG_MS', DEFAULT_MIN_FOLLOWERS_MAX_LAG_MS, 1, 3_600_000);
  return read.done({
    ...base,
    role: 'leader' as const,
    followers,
    writeQuorum,
    minDelayMs,
    maxDelayMs,
    replicationTimeoutMs,
    minFollowersToWrite,
    minFollowersMaxLagMs,
    replicationStream: read.oneOf('REPLICATION_STREAM', ['on', 'off'] as const, 'on'),
  });
}

export function parseFollowerConfig(env: Env): FollowerConfig {
  const read = new EnvReader(env);
  const base = common(read, 'follower');
  const leaderRaw = read.raw('LEADER_URL');
  const leaderUrl = leaderRaw === undefined ? null : read.url('LEADER_URL', leaderRaw, 'one http(s) URL');
  const minFollowersMaxLagMs = read.integer('MIN_FOLLOWERS_MAX_LAG_MS', DEFAULT_MIN_FOLLOWERS_MAX_LAG_MS, 1, 3_600_000);
  return read.done({ ...base, role: 'follower' as const, leaderUrl, minFollowersMaxLagMs });
}
