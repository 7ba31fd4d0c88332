import BTree from 'sorted-btree';
import { compareUtf8 } from './utf8-order';
import { Entry, LiveEntry, isLive } from './entry';

export interface ListQuery {
  /** Only keys starting with this string. */
  readonly prefix?: string;
  /** Exclusive lower bound: listing resumes after this key. */
  readonly after?: string;
  readonly limit: number;
  /**
   * Stop before the item that would take the page past this many bytes as `sizeOf` counts
   * them; a page always holds at least one item (etcd-raft's MaxSizePerMsg rule).
   */
  readonly maxBytes?: number;
  readonly sizeOf?: (entry: LiveEntry) => number;
}

export interface ListPage {
  readonly items: LiveEntry[];
  /** The `after` for the next page, or null when this page reached the end. */
  readonly next: string | null;
}

/** Bounds of one page read by version: entries, bytes as `sizeOf` counts them, tombstones left out or not. */
export interface PageBudget {
  readonly maxEntries?: number;
  readonly maxBytes?: number;
  readonly sizeOf?: (entry: Entry) => number;
  readonly liveOnly?: boolean;
}

/** Reading a store: what a live VersionedStore and a frozen view of one both offer. */
export interface StoreView {
  get(key: string): LiveEntry | undefined;
  head(key: string): Entry | undefined;
  list(query: ListQuery): ListPage;
  entriesAfter(after: number, through: number, limit: number): Entry[];
  page(after: number, through: number, budget: PageBudget): { entries: Entry[]; coveredThrough: number };
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
  private droppedThrough = 0;

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
    view.droppedThrough = this.droppedThrough;
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
    const maxBytes = query.maxBytes ?? Infinity;
    let bytes = 0;
    for (const [key, entry] of this.byKey.entries(from)) {
      if (!key.startsWith(prefix)) break;
      if (startsAfterPrefix && key === query.after) continue;
      if (entry.deleted) continue;
      if (items.length === query.limit) return { items, next: items[items.length - 1].key };
      if (maxBytes !== Infinity) {
        bytes += (query.sizeOf as (entry: LiveEntry) => number)(entry);
        if (items.length > 0 && bytes > maxBytes) return { items, next: items[items.length - 1].key };
      }
      items.push(entry);
    }
    return { items, next: null };
  }

  /**
   * Entries (tombstones included) with `after < version <= through`, in version order,
   * at most `limit` of them.
   */
  entriesAfter(after: number, through: number, limit: number): Entry[] {
    return this.page(after, through, { maxEntries: limit }).entries;
  }

  /**
   * Entries with `after < version <= through` in version order, bounded by count and by
   * bytes as `sizeOf` counts them: the page stops before the entry that would take it past
   * `maxBytes`, but always holds at least one entry (a single value of the largest allowed
   * size must travel alone: etcd-raft's MaxSizePerMsg rule). `liveOnly` leaves tombstones
   * out. `coveredThrough` is the version up to which the range was read: `through` when the
   * page reached it, else the last entry's version.
   */
  page(
    after: number,
    through: number,
    budget: PageBudget,
  ): { entries: Entry[]; coveredThrough: number } {
    const maxEntries = budget.maxEntries ?? Infinity;
    const maxBytes = budget.maxBytes ?? Infinity;
    const entries: Entry[] = [];
    let bytes = 0;
    for (const [version, key] of this.byVersion.entries(after + 1)) {
      if (version > through) break;
      const entry = this.byKey.get(key) as Entry;
      if (budget.liveOnly && entry.deleted) continue;
      if (entries.length >= maxEntries) return { entries, coveredThrough: entries[entries.length - 1].version };
      if (maxBytes !== Infinity) {
        const size = (budget.sizeOf as (entry: Entry) => number)(entry);
        if (entries.length > 0 && bytes + size > maxBytes) return { entries, coveredThrough: entries[entries.length - 1].version };
        bytes += size;
      }
      entries.push(entry);
    }
    return { entries, coveredThrough: through };
  }


  /** Forgets tombstones with a version <= `version`; returns how many went. */
  dropTombstonesThrough(version: number): number {
    let dropped = 0;
    for (;;) {
      const lowest = this.tombstones.minKey();
      if (lowest === undefined || lowest > version) return dropped;
      this.droppedThrough = Math.max(this.droppedThrough, lowest);
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

  /** Empties the store (a follower starting a full resync). */
  clear(): void {
    this.byKey.clear();
    this.byVersion.clear();
    this.tombstones.clear();
    this.highestVersion = 0;
    this.droppedThrough = 0;
  }

  /**
   * Takes over `other`'s state (which must not be used afterwards): a leader that recovered
   * its state from a follower swaps it in at once, under the routes that hold this store.
   */
  replaceWith(other: VersionedStore): void {
    this.byKey = other.byKey;
    this.byVersion = other.byVersion;
    this.tombstones = other.tombstones;
    this.highestVersion = other.highestVersion;
    this.droppedThrough = other.droppedThrough;
  }

  /**
   * The tombstone horizon: the highest version of a tombstone this store forgot. It can no
   * longer tell every delete at or below it, so a delta from below it is not complete (API.md
   * guarantee 5); every delete above it is still here.
   */
  get tombstoneHorizon(): number {
    return this.droppedThrough;
  }

  /** Restores the horizon after a restart (a snapshot holds no forgotten tombstones to recount). */
  noteTombstoneHorizon(version: number): void {
    if (version > this.droppedThrough) this.droppedThrough = version;
  }

  /** Number of live keys. */
  get keyCount(): number {
    return this.byKey.size - this.tombstones.size;
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  /** The highest version an entry here holds (0 when empty); `maxVersion` may be above it. */
  get lastEntryVersion(): number {
    return this.byVersion.maxKey() ?? 0;
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
