import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ReplicationLeader, ReplicationObserver } from '@kv/replication';

export interface LeaderMetrics {
  readonly observer: ReplicationObserver;
  recordWrite(op: 'put' | 'delete', quorum: number, outcome: string, seconds: number): void;
  /** A follower did not answer a recovering leader's ask (counted as kind `recovery`). */
  recoveryAskFailed(follower: string): void;
  /** A write refused before anything was applied: `reason` is its code (NOT_ENOUGH_FOLLOWERS, VERSION_MISMATCH). */
  recordRefusal(reason: string): void;
}

/** Prometheus metrics of the write path and of every follower's replication. */
export function leaderMetrics(registry: Registry, leader: () => ReplicationLeader | null): LeaderMetrics {
  const writes = new Histogram({
    name: 'kv_write_duration_seconds',
    help: 'Time from receiving a write to answering it, by requested quorum and outcome',
    labelNames: ['op', 'quorum', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'kv_replication_requests_total',
    help: 'Replication requests answered by followers, by follower and kind',
    labelNames: ['follower', 'kind'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'kv_replication_failures_total',
    help: 'Replication requests that failed, by follower and kind',
    labelNames: ['follower', 'kind'] as const,
    registers: [registry],
  });
  const entries = new Counter({
    name: 'kv_replicated_entries_total',
    help: 'Entries carried by answered replication requests, by follower',
    labelNames: ['follower'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'kv_writes_refused_total',
    help: 'Writes refused before anything was applied, by reason (NOT_ENOUGH_FOLLOWERS, VERSION_MISMATCH)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'kv_followers_in_sync',
    help: 'Followers in sync (MIN_FOLLOWERS_TO_WRITE counts these): answered within MIN_FOLLOWERS_MAX_LAG_MS and holding every older write',
    registers: [registry],
    collect() {
      this.set(leader()?.inSyncCount() ?? 0);
    },
  });
  new Gauge({
    name: 'kv_follower_lag',
    help: 'Versions the follower is behind the leader',
    labelNames: ['follower'] as const,
    registers: [registry],
    collect() {
      for (const s of leader()?.status() ?? []) this.set({ follower: s.url }, s.lag);
    },
  });
  new Gauge({
    name: 'kv_follower_up',
    help: '1 when the follower is up, 0.5 while it catches up, 0 when down',
    labelNames: ['follower'] as const,
    registers: [registry],
    collect() {
      for (const s of leader()?.status() ?? []) this.set({ follower: s.url }, s.state === 'up' ? 1 : s.state === 'catching-up' ? 0.5 : 0);
    },
  });
  new Gauge({
    name: 'kv_keys',
    help: 'Live keys held',
    registers: [registry],
    collect() {
      this.set(leader()?.store.keyCount ?? 0);
    },
  });
  new Gauge({
    name: 'kv_version',
    help: 'Highest version assigned',
    registers: [registry],
    collect() {
      this.set(leader()?.version ?? 0);
    },
  });
  const resyncs = new Counter({
    name: 'kv_full_resyncs_total',
    help: 'Full resyncs started, by follower: the whole state sent because a delta could not be proven complete',
    labelNames: ['follower'] as const,
    registers: [registry],
  });
  return {
    observer: {
      syncStarted(follower, plan) {
        if (plan.kind === 'resync') resyncs.inc({ follower });
      },
      answered(message) {
        requests.inc({ follower: message.follower, kind: message.kind });
        if (message.entries.length > 0) entries.inc({ follower: message.follower }, message.entries.length);
      },
      failed(message) {
        failures.inc({ follower: message.follower, kind: message.kind });
      },
    },
    recoveryAskFailed(follower) {
      failures.inc({ follower, kind: 'recovery' });
    },
    recordWrite(op, quorum, outcome, seconds) {
      writes.observe({ op, quorum: String(quorum), outcome }, seconds);
    },
    recordRefusal(reason) {
      refusals.inc({ reason });
    },
  };
}
