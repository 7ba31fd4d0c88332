import BTree from 'sorted-btree';
import { compareUtf8 } from './utf8-order';
import { Entry, LiveEntry, isLive } from './entry';

export interface ListQuery {
  /** Only keys starting with this string. */
  readonly prefix?: string;
  /** Exclusive lower bound: listing resumes after this key. */
  readonly after?: string;
  readonly limit: number;
}

export interface ListPage {
  readonly items: LiveEntry[];
  /** The `after` for the next page, or null when this page reached the end. */
  readonly next: string | null;
}

/** Reading a store: what a live VersionedStore and a frozen view of one both offer. */
export interface StoreView {
  get(key: string): LiveEntry | undefined;
  head(key: string): Entry | undefined;
  list(query: ListQuery): ListPage;
  entriesAfter(after: number, through: number, limit: number): Entry[];
  entriesByVersion(): IterableIterator<Entry>;
  readonly keyCount: number;
  readonly tombstoneCount: number;
  readonly maxVersion: number;
}

/**
 * The versioned key-value state of one node.
 *
 * Invariant: every key holds the entry (value or tombstone) with the highest version ever
 * applied to it, so applying any permutation of the same entries yields the same state.
 * Two indexes stay in step with `byKey`: `byVersion` orders every held entry by version
 * (a catch-up reads the delta above a version without scanning every key) and
 * `tombstones` orders the tombstones by version (so compaction never scans live keys).
 */
export class VersionedStore implements StoreView {
  // Not readonly: freeze() gives a new store clones of them.
  private byKey = new BTree<string, Entry>(undefined, compareUtf8);
  private byVersion = new BTree<number, string>();
  private tombstones = new BTree<number, string>();
  private highestVersion = 0;

  /**
   * The store as it is now, unchanged by anything done to this store afterwards: what a
   * pass that awaits between reads (writing a snapshot to disk) iterates instead of the
   * live indexes, whose iterators skip entries when the write path changes them meanwhile.
   * O(1): the B-trees are cloned copy-on-write, so each later write to this store copies
   * only the nodes it touches. The view's indexes are frozen: nothing can change it.
   */
  freeze(): StoreView {
    const view = new VersionedStore();
    view.byKey = this.byKey.clone();
    view.byVersion = this.byVersion.clone();
    view.tombstones = this.tombstones.clone();
    view.highestVersion = this.highestVersion;
    for (const tree of [view.byKey, view.byVersion, view.tombstones]) tree.freeze();
    return view;
  }

  /** Applies `entry` if it is newer than what its key holds; returns whether it did. */
  apply(entry: Entry): boolean {
    const held = this.byKey.get(entry.key);
    if (held !== undefined && held.version >= entry.version) return false;
    if (held !== undefined) {
      this.byVersion.delete(held.version);
      if (held.deleted) this.tombstones.delete(held.version);
    }
    this.byKey.set(entry.key, entry);
    this.byVersion.set(entry.version, entry.key);
    if (entry.deleted) this.tombstones.set(entry.version, entry.key);
    if (entry.version > this.highestVersion) this.highestVersion = entry.version;
    return true;
  }

  /** The key's live entry; tombstones read as absent. */
  get(key: string): LiveEntry | undefined {
    const entry = this.byKey.get(key);
    return isLive(entry) ? entry : undefined;
  }

  /** The key's entry, tombstone included. */
  head(key: string): Entry | undefined {
    return this.byKey.get(key);
  }

  /** Live entries in UTF-8 byte order of their keys. */
  list(query: ListQuery): ListPage {
    const prefix = query.prefix ?? '';
    const startsAfterPrefix = query.after !== undefined && compareUtf8(query.after, prefix) >= 0;
    const from = startsAfterPrefix ? (query.after as string) : prefix;
    const items: LiveEntry[] = [];
    for (const [key, entry] of this.byKey.entries(from)) {
      if (!key.startsWith(prefix)) break;
      if (startsAfterPrefix && key === query.after) continue;
      if (entry.deleted) continue;
      if (items.length === query.limit) return { items, next: items[items.length - 1].key };
      items.push(entry);
    }
    return { items, next: null };
  }

  /**
   * Entries (tombstones included) with `after < version <= through`, in version order,
   * at most `limit` of them.
   */
  entriesAfter(after: number, through: number, limit: number): Entry[] {
    const entries: Entry[] = [];
    for (const [version, key] of this.byVersion.entries(after + 1)) {
      if (version > through || entries.length >= limit) break;
      entries.push(this.byKey.get(key) as Entry);
    }
    return entries;
  }

  /** Forgets tombstones with a version <= `version`; returns how many went. */
  dropTombstonesThrough(version: number): number {
    let dropped = 0;
    for (;;) {
      const lowest = this.tombstones.minKey();
      if (lowest === undefined || lowest > version) return dropped;
      const key = this.tombstones.get(lowest) as string;
      this.tombstones.delete(lowest);
      this.byVersion.delete(lowest);
      this.byKey.delete(key);
      dropped++;
    }
  }

  /**
   * Records that versions up to `version` are taken even if no entry holds them (a leader
   * restarting above the versions it reserved, or after its highest tombstone was dropped).
   */
  noteVersion(version: number): void {
    if (version > this.highestVersion) this.highestVersion = version;
  }

  /** Empties the store (a follower adopting a new leader's history). */
  clear(): void {
    this.byKey.clear();
    this.byVersion.clear();
    this.tombstones.clear();
    this.highestVersion = 0;
  }

  /** Number of live keys. */
  get keyCount(): number {
    return this.byKey.size - this.tombstones.size;
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  /** The highest version this store has ever applied (tombstones included). */
  get maxVersion(): number {
    return this.highestVersion;
  }

  /** Every held entry in version order; used to persist or copy a whole store. */
  *entriesByVersion(): IterableIterator<Entry> {
    for (const [, key] of this.byVersion.entries()) yield this.byKey.get(key) as Entry;
  }
}
