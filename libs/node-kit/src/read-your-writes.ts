import { KvError } from './errors';
import type { VersionWaiters } from './version-waiters';

/** API.md, "Read-your-writes": `?timeout=` defaults to 1000 ms and may go up to 10,000. */
export const DEFAULT_MIN_VERSION_TIMEOUT_MS = 1000;
export const MAX_MIN_VERSION_TIMEOUT_MS = 10_000;

/** How far a node holds every write, and the requests waiting for it to hold more. */
export interface AppliedProgress {
  /** Leader: its version (writes are applied before they are durable); follower: its appliedVersion watermark. */
  appliedVersion(): number;
  readonly waiters: VersionWaiters;
}

/** `?minVersion=V&timeout=MS` of a read, validated; `minVersion` null when absent. */
export interface ReadConsistency {
  readonly minVersion: number | null;
  readonly timeoutMs: number;
}

/** An integer parameter from 0 to `max`, or INVALID_QUERY naming it and the range. Absent: `fallback`. */
export function integerParam(name: string, raw: unknown, max: number, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const problem = `${name} must be an integer from 0 to ${max}`;
  if (typeof raw !== 'string') throw new KvError('INVALID_QUERY', `${name} must be given once`);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(raw)) throw new KvError('INVALID_QUERY', `${problem} (got ${JSON.stringify(raw.slice(0, 40))})`);
  const value = Number(raw);
  if (value > max) throw new KvError('INVALID_QUERY', `${problem} (got ${raw})`);
  return value;
}

/** Parses `minVersion` and `timeout` from a request's query (other parameters are not looked at). */
export function readConsistency(query: Record<string, unknown>): ReadConsistency {
  const minVersion = query.minVersion === undefined || query.minVersion === '' ? null : integerParam('minVersion', query.minVersion, Number.MAX_SAFE_INTEGER, 0);
  const timeoutMs = integerParam('timeout', query.timeout, MAX_MIN_VERSION_TIMEOUT_MS, DEFAULT_MIN_VERSION_TIMEOUT_MS);
  return { minVersion, timeoutMs };
}

/**
 * Resolves once the node holds every write up to `minVersion`, waiting without polling up to
 * the timeout; throws NOT_CAUGHT_UP (503, with `appliedVersion` and `minVersion`) after it.
 * Returns the applied version to answer in `X-Applied-Version`.
 */
export async function untilCaughtUp(progress: AppliedProgress, { minVersion, timeoutMs }: ReadConsistency): Promise<number> {
  const now = progress.appliedVersion();
  if (minVersion === null || now >= minVersion) return now;
  await progress.waiters.waitFor(minVersion, timeoutMs);
  // Checked again rather than trusted: a follower's resync may have emptied it meanwhile.
  const applied = progress.appliedVersion();
  if (applied >= minVersion) return applied;
  throw new KvError('NOT_CAUGHT_UP', `this node holds every write only up to version ${applied}, not ${minVersion}, after waiting ${timeoutMs} ms`, {
    appliedVersion: applied,
    minVersion,
  });
}
