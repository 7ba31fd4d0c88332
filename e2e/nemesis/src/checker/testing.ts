import type { FinalState, History, Item, Op } from '../history';

/** Hand-written histories for the checker's specs: `op('put', 'k', 0, 10, {...})`. */
let nextId = 0;
export function op(kind: Op['kind'], key: string, invokeMs: number, completeMs: number | null, fields: Partial<Op> = {}): Op {
  const status = fields.status ?? (kind === 'read' && fields.readValue === undefined && fields.version === undefined ? 404 : 200);
  return { id: nextId++, client: 0, node: 'leader', outcome: 'ok', ...fields, kind, key, invokeMs, completeMs, status };
}

export function history(ops: Op[], faults: History['faults'] = []): History {
  return { ops, faults, followers: ['f1', 'f2', 'f3', 'f4', 'f5'], keyPrefix: '' };
}

/** Final listings where every follower equals the leader. */
export function converged(leader: Item[]): FinalState {
  return { leader, followers: Object.fromEntries(['f1', 'f2', 'f3', 'f4', 'f5'].map((f) => [f, leader])), convergedAfterMs: 100, deadlineMs: 2000 };
}
