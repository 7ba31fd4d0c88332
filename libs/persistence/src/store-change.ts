import type { Entry, VersionedStore } from '@kv/store';

/**
 * One atomic step of a node's durable history: the store operations it made, in this
 * order, and the node's metadata after them. Replaying the same changes in the same order
 * rebuilds the same store.
 */
export interface StoreChange<M> {
  /** The store was emptied first (a follower adopting a new leader's history). */
  readonly clear?: boolean;
  readonly apply?: readonly Entry[];
  /** `dropTombstonesThrough` was called with this version. */
  readonly dropTombstonesThrough?: number;
  readonly meta: M;
}

export function replay<M>(store: VersionedStore, change: StoreChange<M>): void {
  if (change.clear) store.clear();
  for (const entry of change.apply ?? []) store.apply(entry);
  if (change.dropTombstonesThrough !== undefined) store.dropTombstonesThrough(change.dropTombstonesThrough);
}
