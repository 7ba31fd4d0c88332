import type { VersionedStore } from '@kv/store';
import { VersionMismatchError } from './errors';

/**
 * A compare-and-set condition on a write (API.md, "Conditional writes"): the key's current
 * version must be exactly `ifVersion`; 0 means the key must be absent (a tombstone is absent).
 */
export interface WriteCondition {
  /** An integer from 0 to 2^53 - 1; callers validate it. */
  readonly ifVersion: number;
}

/**
 * Throws VersionMismatchError, naming the key's current version (0 when absent), unless
 * `condition` holds. The leader calls it in the same synchronous step as the apply, so no
 * other write can come between the check and the change.
 */
export function checkCondition(store: VersionedStore, key: string, condition: WriteCondition | undefined): void {
  if (condition === undefined) return;
  const current = store.get(key)?.version ?? 0;
  if (current !== condition.ifVersion) throw new VersionMismatchError(key, condition.ifVersion, current);
}
