/**
 * What a nemesis run records: every client operation with its invocation and completion
 * time (monotonic ms since the run began), its answer and the node it went to, and every
 * fault with the same clock. The checkers read only this and the final listings.
 */

export type OpKind = 'put' | 'delete' | 'read';

/**
 * - `ok`: the answer is definite (200, or 404 / 412 that say what the state was).
 * - `fail`: definitely not applied (refused before anything happened: connection refused, 400, 403).
 * - `info`: maybe applied, at any time after invocation (timeout, reset connection, 503 with
 *   the write kept); the linearizability checker gives it an open-ended completion.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export interface Op {
  /** Unique within the history; ops are numbered in invocation order. */
  readonly id: number;
  readonly client: number;
  readonly kind: OpKind;
  readonly key: string;
  /** The node the request went to: `leader`, `f1`, ... */
  readonly node: string;
  readonly invokeMs: number;
  /** null while in flight; an `info` op keeps the time its answer (or error) came. */
  completeMs: number | null;
  outcome: Outcome;
  /** put: the value written (unique per write in a run). */
  readonly value?: unknown;
  /** writes: the quorum asked for with `?w=`. */
  readonly w?: number;
  /** conditional writes: `?ifVersion=N`. */
  readonly ifVersion?: number;
  /** For a follower read made right after a write was acknowledged: that write's id. */
  readonly probeOf?: number;
  status?: number;
  code?: string;
  /** The version in the answer: the write's version, the read entry's, or the current one in a 412. */
  version?: number;
  /** read 200: the value read. */
  readValue?: unknown;
  /** The `X-Applied-Version` header, when the node sends one. */
  appliedVersion?: number;
  error?: string;
}

export type FaultKind =
  | 'kill'
  | 'wipe'
  | 'torn-write'
  | 'pause'
  | 'cut-link'
  | 'delay-link'
  | 'duplicate-link'
  | 'reorder-link';

export interface FaultEvent {
  readonly kind: FaultKind;
  /** `leader`, `f1`, ...; for a link fault the follower at the far end of the leader's link. */
  readonly target: string;
  readonly startMs: number;
  /** When the node was back (restarted, resumed) or the link healed; null if it never was. */
  endMs: number | null;
  /** Whether the node came back with its data (kill with DATA_DIR) or without (in memory, wipe). */
  readonly lostData?: boolean;
  note?: string;
}

export interface Item {
  readonly key: string;
  readonly value: unknown;
  readonly version: number;
}

/** The listings taken once the faults stopped and the cluster was given the contract's deadline. */
export interface FinalState {
  readonly leader: Item[] | null;
  /** follower name -> its listing, or null if it could not be listed. */
  readonly followers: Record<string, Item[] | null>;
  /** How long after healing every follower first listed exactly what the leader did; null if not within the deadline. */
  readonly convergedAfterMs: number | null;
  readonly deadlineMs: number;
}

export interface History {
  readonly ops: Op[];
  readonly faults: FaultEvent[];
  readonly followers: string[];
  /** Keys whose write the checkers should follow (others, like the start-up probe, are ignored). */
  readonly keyPrefix: string;
}

export const isWrite = (op: Op): boolean => op.kind === 'put' || op.kind === 'delete';
export const isLeader = (op: Op): boolean => op.node === 'leader';

/** One line per op, the way anomalies quote history. */
export function formatOp(op: Op): string {
  const args =
    op.kind === 'put'
      ? `${JSON.stringify(op.value)}`
      : '';
  const cond = op.ifVersion === undefined ? '' : ` ifVersion=${op.ifVersion}`;
  const w = op.w === undefined ? '' : ` w=${op.w}`;
  const done = op.completeMs === null ? '…' : op.completeMs.toFixed(0);
  const answer =
    op.status === undefined
      ? (op.error ?? 'no answer')
      : `${op.status}${op.code ? ` ${op.code}` : ''}${op.version === undefined ? '' : ` v${op.version}`}${op.kind === 'read' && op.status === 200 ? ` ${JSON.stringify(op.readValue)}` : ''}`;
  return `[${op.invokeMs.toFixed(0)}–${done}] c${op.client} ${op.node} ${op.kind} ${op.key} ${args}${cond}${w} -> ${op.outcome} ${answer}`.replace(/ +/g, ' ');
}

export function formatFault(f: FaultEvent): string {
  return `[${f.startMs.toFixed(0)}–${f.endMs === null ? '…' : f.endMs.toFixed(0)}] fault ${f.kind} ${f.target}${f.lostData ? ' (data lost)' : ''}${f.note ? ` ${f.note}` : ''}`;
}
