import type { Op } from '../history';

/**
 * One key of the store as a register with versions. `unknown` is the state before a cropped
 * window of history (anything goes, and the first op that reveals the state fixes it);
 * a value or version of `undefined` is not known yet (a write that timed out).
 */
export type RegisterState = (
  | { readonly kind: 'unknown' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'present'; readonly value: string | undefined; readonly version: number | undefined }
) & {
  /**
   * The highest version of a write applied so far: the leader gives versions in the order it
   * applies writes, so a write can only take effect after every lower-versioned one.
   */
  readonly last?: number;
};

export const ABSENT: RegisterState = { kind: 'absent' };
export const UNKNOWN: RegisterState = { kind: 'unknown' };

export function stateKey(state: RegisterState): string {
  return `${state.kind === 'present' ? `p:${state.version ?? '?'}:${state.value ?? '?'}` : state.kind}@${state.last ?? 0}`;
}

const encode = (value: unknown): string => JSON.stringify(value ?? null);

/** The condition of an `ifVersion=N` write holds in `state`; `unknown` versions could be anything. */
function conditionHolds(state: RegisterState, ifVersion: number): boolean {
  if (state.kind === 'unknown') return true;
  if (state.kind === 'absent') return ifVersion === 0;
  return state.version === undefined ? ifVersion !== 0 : state.version === ifVersion;
}

/**
 * The state after `op` takes effect in `state`, or null if it cannot take effect there
 * (its answer contradicts the state). `info` ops are applied as if they succeeded; the
 * search leaves them out when they did not.
 */
export function step(state: RegisterState, op: Op): RegisterState | null {
  const changes = op.kind !== 'read' && op.status !== 404 && op.status !== 412;
  if (!changes) {
    const after = stepRegister(state, op);
    return after === null ? null : { ...after, last: state.last ?? 0 };
  }
  if (op.version !== undefined && op.version <= (state.last ?? 0)) return null;
  const after = stepRegister(state, op);
  return after === null ? null : { ...after, last: op.version ?? state.last ?? 0 };
}

function stepRegister(state: RegisterState, op: Op): RegisterState | null {
  const unknown = state.kind === 'unknown';
  if (op.kind === 'read') {
    if (op.status === 404) return unknown || state.kind === 'absent' ? ABSENT : null;
    const value = encode(op.readValue);
    if (unknown) return { kind: 'present', value, version: op.version };
    if (state.kind !== 'present') return null;
    if (state.value !== undefined && state.value !== value) return null;
    if (state.version !== undefined && state.version !== op.version) return null;
    return { kind: 'present', value, version: op.version };
  }
  if (op.status === 412) {
    // Nothing applied; the answer reveals the current version (0: absent).
    const current = op.version ?? 0;
    if (op.ifVersion === current) return null;
    if (unknown) return current === 0 ? ABSENT : { kind: 'present', value: undefined, version: current };
    if (state.kind === 'absent') return current === 0 ? state : null;
    if (current === 0) return null;
    if (state.version !== undefined && state.version !== current) return null;
    return { kind: 'present', value: state.value, version: current };
  }
  if (op.ifVersion !== undefined && !conditionHolds(state, op.ifVersion)) return null;
  if (op.kind === 'put') return { kind: 'present', value: encode(op.value), version: op.version };
  // delete
  if (op.status === 404) return unknown || state.kind === 'absent' ? ABSENT : null;
  return unknown || state.kind === 'present' ? ABSENT : null;
}
