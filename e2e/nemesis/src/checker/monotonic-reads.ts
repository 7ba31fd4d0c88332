import { formatFault, formatOp, type Op } from '../history';
import type { Anomaly } from './anomaly';
import type { HistoryIndex } from './history-index';

/**
 * Guarantee 3 as a client sees it: one client's reads of one key on one follower never go
 * back in version. Going back is excused only across a fault that lost that follower's
 * data (restart in memory, wiped DATA_DIR, torn last record).
 * - 200 at v, later 200 at v' < v: stale read;
 * - 200 at v, later 404 with no delete of the key that can be newer than v: lost write;
 * - 404 after a delete at d had completed, later 200 at v < d: resurrected delete. A
 *   follower's 404 is that delete only if the node then held every write up to d (its
 *   `X-Applied-Version` ≥ d): before that, the key may be absent because the older put had
 *   not arrived yet (replication reorders), and its arrival later is progress, not a resurrection.
 */
export function checkMonotonicReads(index: HistoryIndex): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const groups = new Map<string, Op[]>();
  for (const op of index.history.ops) {
    if (op.kind !== 'read' || op.node === 'leader' || op.outcome !== 'ok' || !op.key.startsWith(index.history.keyPrefix)) continue;
    const id = `${op.client}|${op.node}|${op.key}`;
    groups.set(id, [...(groups.get(id) ?? []), op]);
  }
  for (const reads of groups.values()) {
    reads.sort((a, b) => a.invokeMs - b.invokeMs);
    for (let i = 1; i < reads.length; i++) {
      const later = reads[i];
      const piece = (earlier: Op, extra: Op[] = []) => [
        ...[earlier, ...extra].sort((a, b) => a.invokeMs - b.invokeMs).map(formatOp),
        formatOp(later),
        ...index.faultsAround([later.node], earlier.invokeMs, later.completeMs ?? Infinity).map(formatFault),
      ];
      const excused = (earlier: Op) => index.dataLossOn(later.node, earlier.invokeMs, later.completeMs ?? Infinity) !== undefined;
      const highest = reads.slice(0, i).filter((r) => r.status === 200).reduce<Op | undefined>((best, r) => (best === undefined || (r.version ?? 0) > (best.version ?? 0) ? r : best), undefined);
      if (later.status === 200 && highest && (later.version ?? 0) < (highest.version ?? 0) && !excused(highest)) {
        anomalies.push({
          check: 'monotonic-reads',
          kind: 'stale-read',
          key: later.key,
          node: later.node,
          message: `client ${later.client} read ${later.key} at v${highest.version} on ${later.node}, then at v${later.version}`,
          history: piece(highest),
        });
        continue;
      }
      if (later.status === 404 && highest && index.deleteAbove(later.key, highest.version ?? 0) === undefined && !excused(highest)) {
        anomalies.push({
          check: 'monotonic-reads',
          kind: 'lost-write',
          key: later.key,
          node: later.node,
          message: `client ${later.client} read ${later.key} at v${highest.version} on ${later.node}, then absent, and no delete of it can be newer`,
          history: piece(highest),
        });
        continue;
      }
      if (later.status === 200) {
        // An earlier 404 made after a delete at d had completed: the follower had the delete.
        const absentAfterDelete = reads
          .slice(0, i)
          .filter((r) => r.status === 404)
          .map((r) => ({
            read: r,
            del: index
              .opsOn(r.key)
              .find(
                (d) =>
                  d.kind === 'delete' &&
                  d.status === 200 &&
                  d.completeMs !== null &&
                  d.completeMs < r.invokeMs &&
                  (d.version ?? 0) > (later.version ?? 0) &&
                  (r.appliedVersion === undefined || d.version === undefined || r.appliedVersion >= d.version),
              ),
          }))
          .find((x) => x.del !== undefined && !excused(x.read));
        if (absentAfterDelete) {
          anomalies.push({
            check: 'monotonic-reads',
            kind: 'resurrected-delete',
            key: later.key,
            node: later.node,
            message: `client ${later.client} saw ${later.key} deleted (v${absentAfterDelete.del?.version}) on ${later.node}, then read the older v${later.version}`,
            history: piece(absentAfterDelete.read, [absentAfterDelete.del as Op]),
          });
        }
      }
    }
  }
  return anomalies;
}
