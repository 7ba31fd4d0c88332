import { formatFault, formatOp, type FinalState, type Item, type Op } from '../history';
import type { Anomaly } from './anomaly';
import type { HistoryIndex } from './history-index';

const acknowledged = (op: Op) => (op.kind === 'put' || op.kind === 'delete') && op.status === 200 && op.version !== undefined;

/** Does `item` (a node's entry for the key, or undefined when absent) hold `write` or something that superseded it? */
function holds(index: HistoryIndex, write: Op, item: Item | undefined): boolean {
  const version = write.version as number;
  if (item === undefined) return write.kind === 'delete' || index.deleteAbove(write.key, version) !== undefined;
  if (item.version > version) return true;
  if (item.version < version) return false;
  return write.kind === 'put' && JSON.stringify(item.value) === JSON.stringify(write.value);
}

const describeItem = (item: Item | undefined) => (item === undefined ? 'absent' : `v${item.version} ${JSON.stringify(item.value)}`);

/**
 * Guarantee 1, as far as it shows from outside:
 * - at the end, the leader holds every write it answered 200 (or a later-versioned one on
 *   the same key; an absent key needs a delete that may be later);
 * - right after the answer, the follower reads made as its probe: more than `F - w`
 *   followers that answered without the write (and lost no data meanwhile) means it was
 *   not on `w` followers when it was acknowledged;
 * - at the end, fewer than `w` reachable followers holding it (only reported apart from
 *   convergence when the listings disagree with the leader anyway).
 */
export function checkAcknowledgedWrites(index: HistoryIndex, final: FinalState): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const { history } = index;
  const leaderItems = new Map((final.leader ?? []).map((i) => [i.key, i]));
  const followerItems = Object.entries(final.followers).map(([name, items]) => [name, items === null ? null : new Map(items.map((i) => [i.key, i]))] as const);
  const probes = new Map<number, Op[]>();
  for (const op of history.ops) {
    if (op.probeOf !== undefined && op.outcome === 'ok') probes.set(op.probeOf, [...(probes.get(op.probeOf) ?? []), op]);
  }

  for (const write of history.ops.filter((o) => acknowledged(o) && o.key.startsWith(history.keyPrefix))) {
    const version = write.version as number;
    if (final.leader !== null && !holds(index, write, leaderItems.get(write.key))) {
      const item = leaderItems.get(write.key);
      anomalies.push({
        check: 'acknowledged-writes',
        kind: write.kind === 'delete' ? 'resurrected-delete' : 'lost-write',
        key: write.key,
        node: 'leader',
        message: `${write.kind} of ${write.key} acknowledged at v${version} is not on the leader at the end (it holds ${describeItem(item)})`,
        history: [
          formatOp(write),
          ...index.faultsAround(['leader'], write.invokeMs, Infinity).map(formatFault),
          `final leader ${write.key}: ${describeItem(item)}`,
        ],
      });
    }

    const w = write.w ?? 0;
    const lacking = (probes.get(write.id) ?? []).filter(
      (probe) =>
        !(probe.status === 200 && (probe.version ?? 0) >= version) &&
        !(probe.status === 404 && (write.kind === 'delete' || index.deleteAbove(write.key, version) !== undefined)) &&
        index.dataLossOn(probe.node, write.invokeMs, probe.completeMs ?? Infinity) === undefined,
    );
    if (lacking.length > history.followers.length - w) {
      anomalies.push({
        check: 'acknowledged-writes',
        kind: 'acknowledged-without-quorum',
        key: write.key,
        message: `${write.kind} of ${write.key} v${version} answered 200 with w=${w}, but right after the answer ${lacking.length} of ${history.followers.length} followers did not hold it`,
        history: [formatOp(write), ...lacking.map(formatOp)],
      });
    }

    if (final.convergedAfterMs === null) {
      const reachable = followerItems.filter(([, items]) => items !== null);
      const holding = reachable.filter(([, items]) => holds(index, write, items?.get(write.key)));
      if (reachable.length >= w && holding.length < w) {
        anomalies.push({
          check: 'acknowledged-writes',
          kind: 'under-replicated',
          key: write.key,
          message: `${write.kind} of ${write.key} v${version} answered 200 with w=${w} is on only ${holding.length} followers at the end`,
          history: [
            formatOp(write),
            ...reachable.filter(([name]) => !holding.some(([h]) => h === name)).map(([name, items]) => `final ${name} ${write.key}: ${describeItem(items?.get(write.key))}`),
          ],
        });
      }
    }
  }
  return anomalies;
}
