import type { FaultEvent, History, Op } from '../history';

/** Questions every checker asks of a history. */
export class HistoryIndex {
  readonly byKey = new Map<string, Op[]>();

  constructor(readonly history: History) {
    for (const op of history.ops) {
      if (!op.key.startsWith(history.keyPrefix)) continue;
      const list = this.byKey.get(op.key) ?? [];
      list.push(op);
      this.byKey.set(op.key, list);
    }
  }

  opsOn(key: string): Op[] {
    return this.byKey.get(key) ?? [];
  }

  /** Some delete of `key` may have a version above `version` (it was applied or maybe applied, with that version or an unknown one). */
  deleteAbove(key: string, version: number): Op | undefined {
    return this.opsOn(key).find(
      (o) => o.kind === 'delete' && o.outcome !== 'fail' && o.status !== 404 && o.status !== 412 && (o.version === undefined || o.version > version),
    );
  }

  /** Process faults on `node` that lose data (memory restart, wipe, torn write) overlapping [from, to]. */
  dataLossOn(node: string, from: number, to: number): FaultEvent | undefined {
    return this.history.faults.find(
      (f) => f.target === node && f.lostData === true && f.startMs <= to && (f.endMs === null || f.endMs >= from),
    );
  }

  /** Faults on `node` (or its link) overlapping [from, to]: context for an anomaly. */
  faultsAround(nodes: readonly string[], from: number, to: number): FaultEvent[] {
    return this.history.faults.filter((f) => nodes.includes(f.target) && f.startMs <= to && (f.endMs === null || f.endMs >= from));
  }
}
