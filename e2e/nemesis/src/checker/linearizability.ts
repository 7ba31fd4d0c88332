import type { Op } from '../history';
import { Random } from '../random';
import { ABSENT, type RegisterState, stateKey, step, UNKNOWN } from './register-model';

/**
 * Linearizability of one key's history as a register, by Wing & Gong's search with Lowe's
 * memoization (what Knossos and porcupine do): linearize, one at a time, an op that no
 * pending definite op precedes in real time; remember every (linearized set, state) already
 * explored so no configuration is searched twice. `ok` ops must all be linearized; `info`
 * ops (maybe applied) may be, at any point after their invocation, or never.
 */

export type LinearizabilityResult =
  | { readonly linearizable: true }
  | { readonly linearizable: false }
  | { readonly linearizable: 'unknown'; readonly reason: string };

export interface SearchOptions {
  readonly initial?: RegisterState;
  /** Configurations to explore before giving up with `unknown`. */
  readonly budget?: number;
}

interface Entry {
  readonly op: Op;
  readonly invoke: number;
  /** Infinity for `info` ops: they may take effect at any time after invocation. */
  readonly complete: number;
  readonly required: boolean;
}

export function checkRegister(ops: readonly Op[], options: SearchOptions = {}): LinearizabilityResult {
  const entries: Entry[] = ops
    .filter((op) => op.outcome !== 'fail')
    .map((op) => {
      // A 503 QUORUM_NOT_REACHED names the version the leader applied and keeps (API.md): on
      // the leader it took effect before the answer, like an ok write. Leaving it "maybe"
      // made every such write a branch of the search.
      const applied = appliedOnLeader(op);
      return { op, invoke: op.invokeMs, complete: applied && op.completeMs !== null ? op.completeMs : Infinity, required: applied };
    })
    .sort((a, b) => a.invoke - b.invoke);
  const n = entries.length;
  const requiredCount = entries.filter((e) => e.required).length;
  const budget = options.budget ?? 2_000_000;
  const linearized = new Uint8Array(n);
  const seen = new Set<string>();
  let explored = 0;

  // The linearized set is remembered by a 64-bit Zobrist hash kept up to date in O(1) per
  // step (two random 32-bit words per op, XORed in and out), not by the set itself: a key of
  // n bytes per configuration made long histories cost O(n) per step and gigabytes of memo.
  // A collision could only prune a configuration wrongly; at 2^-64 per pair it never does in
  // practice, and the seed is fixed so a run replays.
  const random = new Random(0x9e3779b9);
  const word = () => Math.floor(random.next() * 2 ** 32) >>> 0;
  const zobrist = entries.map(() => [word(), word()] as const);
  // Required ops by completion time: the earliest one not linearized bounds what may go next.
  const byComplete = entries.map((_, i) => i).filter((i) => entries[i].required).sort((a, b) => entries[a].complete - entries[b].complete);

  interface Frame {
    readonly state: RegisterState;
    readonly done: number;
    next: number;
    readonly limit: number;
    readonly chosen: number;
    /** Every op before this index is linearized: the scan for candidates starts here. */
    readonly firstOpen: number;
    /** byComplete[limitAt] is the earliest-completing required op not linearized. */
    readonly limitAt: number;
    readonly hashLo: number;
    readonly hashHi: number;
  }
  const memoKey = (lo: number, hi: number, state: RegisterState) => `${lo}:${hi}|${stateKey(state)}`;
  const advanceLimit = (from: number) => {
    let at = from;
    while (at < byComplete.length && linearized[byComplete[at]]) at++;
    return at;
  };
  const limitAt0 = advanceLimit(0);
  const stack: Frame[] = [
    {
      state: options.initial ?? ABSENT,
      done: 0,
      next: 0,
      limit: limitAt0 < byComplete.length ? entries[byComplete[limitAt0]].complete : Infinity,
      chosen: -1,
      firstOpen: 0,
      limitAt: limitAt0,
      hashLo: 0,
      hashHi: 0,
    },
  ];
  seen.add(memoKey(0, 0, stack[0].state));
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.done === requiredCount) return { linearizable: true };
    if (frame.next < frame.firstOpen) frame.next = frame.firstOpen;
    let advanced = false;
    while (frame.next < n) {
      const i = frame.next++;
      const entry = entries[i];
      if (entry.invoke > frame.limit) break;
      if (linearized[i]) continue;
      const after = step(frame.state, entry.op);
      if (after === null) continue;
      const hashLo = (frame.hashLo ^ zobrist[i][0]) >>> 0;
      const hashHi = (frame.hashHi ^ zobrist[i][1]) >>> 0;
      const key = memoKey(hashLo, hashHi, after);
      if (seen.has(key)) continue;
      seen.add(key);
      if (++explored > budget) return { linearizable: 'unknown', reason: `search budget of ${budget} configurations spent` };
      linearized[i] = 1;
      let firstOpen = frame.firstOpen;
      while (firstOpen < n && linearized[firstOpen]) firstOpen++;
      const limitAt = advanceLimit(frame.limitAt);
      stack.push({
        state: after,
        done: frame.done + (entry.required ? 1 : 0),
        next: firstOpen,
        limit: limitAt < byComplete.length ? entries[byComplete[limitAt]].complete : Infinity,
        chosen: i,
        firstOpen,
        limitAt,
        hashLo,
        hashHi,
      });
      advanced = true;
      break;
    }
    if (!advanced) {
      const popped = stack.pop() as Frame;
      if (popped.chosen >= 0) linearized[popped.chosen] = 0;
    }
  }
  return { linearizable: false };
}

/**
 * The op took effect on the leader before its answer: an ok op, or a write answered 503
 * QUORUM_NOT_REACHED, which names the version the leader applied and keeps (API.md).
 */
export function appliedOnLeader(op: Op): boolean {
  if (op.outcome === 'ok') return op.kind === 'read' || op.status === 200 || op.status === 404 || op.status === 412;
  return op.status === 503 && op.code === 'QUORUM_NOT_REACHED' && op.version !== undefined;
}

/**
 * Drops `info` writes that cannot matter: a maybe-applied put whose value no read saw,
 * whose version no condition or 412 names, and that no later delete answered 200 can have deleted. Leaving it out is always a valid choice then,
 * and each one kept doubles the configurations to search.
 */
export function pruneUnobservedInfo(ops: readonly Op[]): Op[] {
  const readValues = new Set(ops.filter((o) => o.kind === 'read' && o.status === 200).map((o) => JSON.stringify(o.readValue ?? null)));
  const namedVersions = new Set<number>();
  for (const o of ops) {
    if (o.ifVersion !== undefined) namedVersions.add(o.ifVersion);
    if (o.status === 412 && o.version !== undefined) namedVersions.add(o.version);
  }
  const conditional = ops.some((o) => o.ifVersion !== undefined);
  // A delete answered 200 saw the key present: any put before its answer may be what it deleted.
  const deletesSeenPresent = ops.filter((o) => o.kind === 'delete' && (o.status === 200 || o.status === 503) && appliedOnLeader(o));
  return ops.filter((o) => {
    if (o.outcome !== 'info' || o.kind !== 'put') return true;
    if (readValues.has(JSON.stringify(o.value ?? null))) return true;
    if (deletesSeenPresent.some((d) => (d.completeMs ?? Infinity) > o.invokeMs && (d.version === undefined || o.version === undefined || d.version > o.version))) return true;
    if (o.version !== undefined) return namedVersions.has(o.version);
    return conditional;
  });
}

/** An op that changes nothing: dropping it from a history only relaxes the constraints. */
const readLike = (op: Op): boolean => op.kind === 'read' || op.status === 404 || op.status === 412;

/** Adds to `piece` every write of `all` that an op of `piece` observed (its value or version). */
function closeOverObserved(piece: Op[], all: readonly Op[]): Op[] {
  const ids = new Set(piece.map((o) => o.id));
  const values = new Set(piece.filter((o) => o.kind === 'read' && o.status === 200).map((o) => JSON.stringify(o.readValue ?? null)));
  const versions = new Set(piece.flatMap((o) => (o.kind === 'read' || o.status === 412 ? [o.version] : [o.ifVersion])).filter((v) => v !== undefined));
  const lastAbsent = Math.max(-Infinity, ...piece.filter((o) => o.status === 404 || (o.status === 412 && o.version === 0)).map((o) => o.completeMs ?? Infinity));
  const extra = all.filter(
    (o) =>
      !ids.has(o.id) &&
      !readLike(o) &&
      ((o.kind === 'put' && values.has(JSON.stringify(o.value ?? null))) ||
        (o.version !== undefined && versions.has(o.version)) ||
        (o.kind === 'delete' && o.invokeMs < lastAbsent)),
  );
  return [...piece, ...extra].sort((a, b) => a.invokeMs - b.invokeMs);
}

/**
 * A short piece of a non-linearizable history that is still non-linearizable, cut only in
 * ways that cannot create a violation: the first failing cut at a time T (every op invoked by
 * T plus the writes those ops observed), then ops from its front that precede everything
 * after them in real time (the state they leave becomes "unknown"), then read-like ops.
 */
export function shrinkCounterexample(ops: readonly Op[], budget = 200_000, start: RegisterState = ABSENT): Op[] {
  const sorted = [...ops].sort((a, b) => a.invokeMs - b.invokeMs);
  const fails = (piece: readonly Op[], initial: RegisterState) => checkRegister(piece, { initial, budget }).linearizable === false;
  const cut = (count: number) => closeOverObserved(sorted.slice(0, count), sorted);
  let lo = 1;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fails(cut(mid), start)) hi = mid;
    else lo = mid + 1;
  }
  let piece = cut(hi);
  if (!fails(piece, start)) return sorted;
  let initial: RegisterState = start;
  while (piece.length > 1) {
    const [first, ...rest] = piece;
    const precedesRest = first.outcome === 'ok' && first.completeMs !== null && rest.every((o) => o.invokeMs > (first.completeMs as number));
    if (!(readLike(first) || precedesRest) || !fails(rest, UNKNOWN)) break;
    piece = rest;
    initial = UNKNOWN;
  }
  for (let i = piece.length - 1; i >= 0 && piece.length > 2; i--) {
    if (!readLike(piece[i])) continue;
    const without = [...piece.slice(0, i), ...piece.slice(i + 1)];
    if (fails(without, initial)) piece = without;
  }
  return piece;
}
