import type { VersionedStore } from '@kv/store';
import { VersionMismatchError } from './errors';

/**
 * A compare-and-set condition on a write (API.md, "Conditional writes"): the key's current
 * version must be exactly `ifVersion`, 0 meaning the key must be absent (a tombstone is
 * absent); or, for HTTP's `If-Match: *`, the key must exist at any version.
 */
export type WriteCondition =
  /** `ifVersion`: an integer from 0 to 2^53 - 1; callers validate it. */
  { readonly ifVersion: number } | { readonly ifExists: true };

/**
 * Throws VersionMismatchError, naming the key's current version (0 when absent), unless
 * `condition` holds. The leader calls it in the same synchronous step as the apply, so no
 * other write can come between the check and the change.
 */
export function checkCondition(store: VersionedStore, key: string, condition: WriteCondition | undefined): void {
  if (condition === undefined) return;
  const current = store.get(key)?.version ?? 0;
  const expected = 'ifVersion' in condition ? condition.ifVersion : 'exists';
  const holds = expected === 'exists' ? current > 0 : current === expected;
  if (!holds) throw new VersionMismatchError(key, expected, current);
}
