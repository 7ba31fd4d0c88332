import { parseReplicationCounters, replicationCost } from './replication-metrics';

const METRICS = `# HELP kv_replication_requests_total Replication requests answered by followers, by follower and kind
# TYPE kv_replication_requests_total counter
kv_replication_requests_total{follower="http://127.0.0.1:1",kind="heartbeat"} 3
kv_replication_requests_total{follower="http://127.0.0.1:1",kind="append"} 10
kv_replication_requests_total{follower="http://127.0.0.1:2",kind="append"} 12
kv_replicated_entries_total{follower="http://127.0.0.1:1"} 40
kv_replicated_entries_total{follower="http://127.0.0.1:2"} 44
kv_replication_failures_total{follower="http://127.0.0.1:2",kind="append"} 7
process_cpu_seconds_total 1.5
`;

describe('replication counters', () => {
  it('sums requests by kind and entries over followers from Prometheus text', () => {
    expect(parseReplicationCounters(METRICS)).toEqual({ requestsByKind: { heartbeat: 3, append: 22 }, entries: 84 });
    expect(parseReplicationCounters('')).toEqual({ requestsByKind: {}, entries: 0 });
  });

  it('gives a storm’s cost as the difference, with entries per request that carried entries', () => {
    const before = { requestsByKind: { heartbeat: 3, append: 22 }, entries: 84 };
    const after = { requestsByKind: { heartbeat: 5, append: 32, 'catch-up': 1 }, entries: 134 };
    expect(replicationCost(before, after)).toEqual({ requestsByKind: { heartbeat: 2, append: 10, 'catch-up': 1 }, entries: 50, entriesPerRequest: 50 / 11 });
    expect(replicationCost(after, after).entriesPerRequest).toBeNull();
  });
});
