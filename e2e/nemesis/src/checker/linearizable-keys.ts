import { formatOp, type FaultEvent, type Op } from '../history';
import type { Anomaly } from './anomaly';
import type { HistoryIndex } from './history-index';
import { checkRegister, pruneUnobservedInfo, shrinkCounterexample } from './linearizability';
import { ABSENT, UNKNOWN } from './register-model';

/** Faults that restart the leader's process: where one leader lifetime ends and the next begins. */
const RESTARTS_LEADER: ReadonlySet<FaultEvent['kind']> = new Set(['kill', 'wipe', 'torn-write']);

/**
 * A key's leader ops cut into leader lifetimes. The leader serves a write from the moment it
 * applies it, before it is durable or replicated (reads are "read uncommitted", as
 * MongoDB's readConcern local): a crash can take such a write back, unacknowledged, as
 * API.md allows. So linearizability is checked within each lifetime, each after the first
 * starting from an unknown state; ops that straddle a restart count as maybe applied.
 * Acknowledged writes surviving restarts is the acknowledged-writes check's job.
 */
export function leaderLifetimes(ops: readonly Op[], faults: readonly FaultEvent[]): Op[][] {
  const cuts = faults.filter((f) => f.target === 'leader' && RESTARTS_LEADER.has(f.kind)).map((f) => f.startMs).sort((a, b) => a - b);
  const pieces: Op[][] = Array.from({ length: cuts.length + 1 }, () => []);
  for (const op of ops) {
    let i = 0;
    while (i < cuts.length && cuts[i] <= op.invokeMs) i++;
    const end = i < cuts.length ? cuts[i] : Infinity;
    const straddles = op.completeMs === null || op.completeMs >= end;
    pieces[i].push(straddles && op.outcome === 'ok' && op.kind !== 'read' ? { ...op, outcome: 'info', status: undefined } : op);
  }
  return pieces;
}

export interface LinearizabilitySummary {
  readonly keys: number;
  readonly unknown: string[];
}

/** Guarantee: the leader's reads and writes of each key are linearizable as a register (keys checked apart). */
export function checkLinearizableKeys(index: HistoryIndex, budget?: number): { anomalies: Anomaly[]; summary: LinearizabilitySummary } {
  const anomalies: Anomaly[] = [];
  const unknown: string[] = [];
  let keys = 0;
  for (const [key, ops] of index.byKey) {
    const lifetimes = leaderLifetimes(
      ops.filter((o) => o.node === 'leader' && o.outcome !== 'fail'),
      index.history.faults,
    );
    if (lifetimes.every((l) => l.length === 0)) continue;
    keys++;
    for (const [n, lifetime] of lifetimes.entries()) {
      const leaderOps = pruneUnobservedInfo(lifetime.filter((o) => !(o.kind === 'read' && o.completeMs === null)));
      if (leaderOps.length === 0) continue;
      const initial = n === 0 ? ABSENT : UNKNOWN;
      const result = checkRegister(leaderOps, { budget, initial });
      if (result.linearizable === 'unknown') unknown.push(`${key} (leader lifetime ${n + 1}): ${result.reason}`);
      if (result.linearizable !== false) continue;
      anomalies.push(notLinearizable(key, leaderOps, shrinkCounterexample(leaderOps, undefined, initial)));
    }
  }
  return { anomalies, summary: { keys, unknown } };
}

function notLinearizable(key: string, leaderOps: readonly Op[], piece: readonly Op[]): Anomaly {
  return {
    check: 'linearizability',
    kind: 'not-linearizable',
    key,
    node: 'leader',
    message: `the leader's ${leaderOps.length} operations on ${key} are not linearizable; no order explains these ${piece.length}`,
    history: piece.map(formatOp),
  };
}

