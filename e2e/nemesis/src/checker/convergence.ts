import { formatOp, type FinalState, type Item } from '../history';
import type { Anomaly } from './anomaly';
import type { HistoryIndex } from './history-index';

const show = (item: Item | undefined) => (item === undefined ? 'absent' : `v${item.version} ${JSON.stringify(item.value)}`);

/**
 * Guarantee 2: once faults and writes stopped, every follower lists exactly what the leader
 * lists (keys, values, versions, and so the same absent keys) within the deadline. Reports
 * one anomaly per differing follower with a few differing keys and their last writes.
 */
export function checkConvergence(index: HistoryIndex, final: FinalState): Anomaly[] {
  if (final.leader === null) {
    return [{ check: 'convergence', kind: 'leader-unreachable', message: 'the leader could not be listed at the end', history: [] }];
  }
  if (final.convergedAfterMs !== null) return [];
  const leader = new Map(final.leader.map((i) => [i.key, i]));
  const anomalies: Anomaly[] = [];
  for (const [name, items] of Object.entries(final.followers)) {
    if (items === null) {
      anomalies.push({ check: 'convergence', kind: 'follower-unreachable', node: name, message: `${name} could not be listed at the end`, history: [] });
      continue;
    }
    const mine = new Map(items.map((i) => [i.key, i]));
    const keys = [...new Set([...leader.keys(), ...mine.keys()])].sort();
    const differing = keys.filter((k) => JSON.stringify(leader.get(k)) !== JSON.stringify(mine.get(k)));
    if (differing.length === 0) continue;
    const resurrected = differing.filter((k) => !leader.has(k) && mine.has(k));
    const missing = differing.filter((k) => leader.has(k) && !mine.has(k));
    const kind = resurrected.length > 0 ? 'resurrected-delete' : missing.length > 0 ? 'missing-keys' : 'diverged';
    const first = resurrected[0] ?? differing[0];
    const lastWrites = index
      .opsOn(first)
      .filter((o) => o.kind !== 'read' && o.outcome !== 'fail')
      .slice(-3);
    anomalies.push({
      check: 'convergence',
      kind,
      key: first,
      node: name,
      message:
        `${name} differs from the leader ${final.deadlineMs} ms after the faults stopped: ${differing.length} keys ` +
        `(${missing.length} missing, ${resurrected.length} the leader does not have, ${differing.length - missing.length - resurrected.length} other versions)`,
      history: [
        ...lastWrites.map(formatOp),
        ...differing.slice(0, 5).map((k) => `final ${k}: leader ${show(leader.get(k))}, ${name} ${show(mine.get(k))}`),
      ],
    });
  }
  return anomalies;
}
