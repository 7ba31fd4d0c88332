import { requestAnswer } from './http-answer';

/**
 * The leader's replication counters from `GET /metrics`: how many replication requests a storm
 * cost and how many entries they carried. Entries per request shows whether writes waiting
 * for a follower travel together under load, as the replication design intends.
 */
export interface ReplicationCounters {
  /** Answered replication requests, summed over followers, by kind (`append`, `heartbeat`, ...). */
  readonly requestsByKind: Readonly<Record<string, number>>;
  /** Entries carried by answered replication requests, summed over followers. */
  readonly entries: number;
}

export interface ReplicationCost extends ReplicationCounters {
  /** Entries per request that carried entries (heartbeats left out); null when none did. */
  readonly entriesPerRequest: number | null;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;

/** Sums the samples of two counters from Prometheus text exposition; other metrics are skipped. */
export function parseReplicationCounters(text: string): ReplicationCounters {
  const requestsByKind: Record<string, number> = {};
  let entries = 0;
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const [, name, labels = '', raw] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name === 'kv_replication_requests_total') {
      const kind = /(?:^|,)kind="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
      requestsByKind[kind] = (requestsByKind[kind] ?? 0) + value;
    } else if (name === 'kv_replicated_entries_total') {
      entries += value;
    }
  }
  return { requestsByKind, entries };
}

/** What happened between two readings of the counters. */
export function replicationCost(before: ReplicationCounters, after: ReplicationCounters): ReplicationCost {
  const requestsByKind: Record<string, number> = {};
  for (const [kind, count] of Object.entries(after.requestsByKind)) {
    const delta = count - (before.requestsByKind[kind] ?? 0);
    if (delta > 0) requestsByKind[kind] = delta;
  }
  const entries = after.entries - before.entries;
  const carrying = Object.entries(requestsByKind).reduce((sum, [kind, count]) => (kind === 'heartbeat' ? sum : sum + count), 0);
  return { requestsByKind, entries, entriesPerRequest: carrying > 0 ? entries / carrying : null };
}

/** The most of /metrics read: a leader's whole exposition is a few KiB. */
const MAX_METRICS_BYTES = 1024 * 1024;

/**
 * Reads the leader's counters; null when its /metrics cannot be read within `timeoutMs` (a
 * deadline on the whole answer, ms) and 1 MiB: a run goes on without them.
 */
export async function readReplicationCounters(leaderUrl: string, timeoutMs = 5000): Promise<ReplicationCounters | null> {
  const answer = await requestAnswer(new URL('/metrics', leaderUrl), { timeoutMs, maxBytes: MAX_METRICS_BYTES }).catch(() => null);
  return answer?.status === 200 ? parseReplicationCounters(answer.text) : null;
}
