import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Mutex } from 'async-mutex';
import { VersionedStore, type Entry, type StoreView } from '@kv/store';
import { AppendLog, type FsyncPolicy } from './append-log';
import { decodeRecords, encodeJsonRecord, encodeRecord, findIntactRecord, NOT_JSON } from './record-codec';
import { ensureDirectory } from './ensure-directory';
import { replay, type StoreChange } from './store-change';

export class JournalDamagedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalDamagedError';
  }
}

/** DATA_DIR cannot be used: not creatable, not readable, damaged. Names the directory. */
export class DataDirError extends Error {
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    super(`DATA_DIR ${dir}: ${messageOf(cause)}`, { cause });
    this.name = 'DataDirError';
  }

  /** The message says all an operator needs (a system error, damage found); anything else is a bug worth its stack. */
  get explainsItself(): boolean {
    const code = (this.cause as { code?: unknown } | null)?.code;
    return typeof code === 'string' || (this.cause as { name?: unknown } | null)?.name === 'JournalDamagedError';
  }
}

// Not `instanceof Error`: errors from another realm (a test sandbox's fs) fail that check.
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

export interface JournalOptions {
  readonly fsync: FsyncPolicy;
  /** A log longer than this many bytes is folded into a new snapshot. */
  readonly compactAtBytes?: number;
  /**
   * Most entries per snapshot record (default 1000); each record also stays under
   * SNAPSHOT_CHUNK_BYTES. Tests make it small to interleave writes with a snapshot.
   */
  readonly snapshotChunkEntries?: number;
  /**
   * Awaited after each snapshot record is written: a seam for tests that make changes in
   * the middle of a snapshot. Nodes leave it unset.
   */
  readonly onSnapshotRecord?: () => Promise<void> | void;
  /** Told about anything found and repaired at start (a torn tail), or a compaction that failed. */
  readonly warn?: (message: string) => void;
}

export interface OpenedJournal<M> {
  readonly journal: FileJournal<M>;
  /** The store as the last durable change left it. */
  readonly store: VersionedStore;
  /** The metadata of the last durable change, or null for an empty directory. */
  readonly meta: M | null;
}

const SNAPSHOT = 'snapshot';
const LOG_PATTERN = /^log\.(\d+)$/;
const SNAPSHOT_CHUNK_ENTRIES = 1000;
/** A snapshot record holds at most about this many bytes of entries (plus one entry), far below MAX_RECORD_BYTES. */
const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;
const DEFAULT_COMPACT_AT = 64 * 1024 * 1024;

interface SnapshotHeader<M> {
  snapshot: { generation: number; meta: M };
}
interface SnapshotChunk {
  entries: Entry[];
}
interface SnapshotEnd {
  end: { count: number };
}

const logName = (generation: number) => `log.${generation}`;

/** What opening found in the logs, before anything on disk is changed. */
interface ReadLogs<M> {
  readonly meta: M | null;
  /** Bytes of the last log up to its last intact record. */
  readonly validBytesOfLast: number;
  /** The warning for a torn tail of the last log, cut once the whole directory was found sound. */
  readonly tornTail: string | null;
}

/**
 * A node's durable history in DATA_DIR: a snapshot of the whole store, plus logs of the
 * changes since. Files:
 * - `snapshot`: the store and metadata as of the end of log generation G (written to a
 *   temporary file, fsync'ed, renamed: it is whole or absent);
 * - `log.N` for N = G+1, G+2, ... with no gap: changes after it, one checksummed record
 *   per change.
 *
 * Invariant: replaying the snapshot, then every log above its generation in order, gives
 * the state after the last durable change.
 *
 * Opening repairs only a torn tail: an incomplete or corrupt last record of the last log
 * with no intact record after it, which a crash in the middle of a write leaves. Any other
 * damage stops the node (JournalDamagedError naming the file and the byte) and leaves every
 * file as it was.
 */
export class FileJournal<M> {
  private compacting = false;
  private closing = false;
  /** One compaction at a time; close() waits for the one in progress. */
  private readonly compaction = new Mutex();

  private constructor(
    private readonly dir: string,
    private readonly log: AppendLog,
    private generation: number,
    private readonly store: VersionedStore,
    private lastMeta: M | null,
    private readonly options: JournalOptions,
  ) {}

  /** Opens (or creates) the journal in `dir`; any failure is a DataDirError naming it. */
  static async open<M>(dir: string, options: JournalOptions): Promise<OpenedJournal<M>> {
    try {
      return await FileJournal.openUnchecked<M>(dir, options);
    } catch (error) {
      throw new DataDirError(dir, error);
    }
  }

  private static async openUnchecked<M>(dir: string, options: JournalOptions): Promise<OpenedJournal<M>> {
    await ensureDirectory(dir);
    const store = new VersionedStore();
    const snapshot = await FileJournal.loadSnapshot<M>(dir, store);
    const generations = (await readdir(dir))
      .map((f) => LOG_PATTERN.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    // Logs the snapshot already holds are leftovers of a compaction cut short.
    const leftovers = generations.filter((g) => g <= snapshot.generation);
    const live = generations.filter((g) => g > snapshot.generation);
    checkGenerations(dir, snapshot, live);
    const read = await FileJournal.replayLogs<M>(dir, live, store, snapshot.meta);

    // Everything is known to be sound: only now change anything on disk.
    for (const g of leftovers) await unlink(path.join(dir, logName(g)));
    if (read.tornTail) options.warn?.(read.tornTail);
    const generation = live.length > 0 ? live[live.length - 1] : snapshot.generation + 1;
    const log = await AppendLog.open(path.join(dir, logName(generation)), read.validBytesOfLast, options.fsync);
    await syncDirectory(dir);
    return { journal: new FileJournal<M>(dir, log, generation, store, read.meta, options), store, meta: read.meta };
  }

  /**
   * Replays the logs of `generations` (consecutive) into `store`. Throws JournalDamagedError
   * for anything but a torn tail of the last one, which it reports without cutting it.
   */
  private static async replayLogs<M>(dir: string, generations: readonly number[], store: VersionedStore, snapshotMeta: M | null): Promise<ReadLogs<M>> {
    let meta = snapshotMeta;
    let validBytesOfLast = 0;
    let tornTail: string | null = null;
    for (const [i, g] of generations.entries()) {
      const file = path.join(dir, logName(g));
      const buffer = await readFile(file);
      const decoded = decodeRecords(buffer);
      for (const payload of decoded.payloads) {
        const change = payload as StoreChange<M>;
        replay(store, change);
        meta = change.meta;
      }
      const isLast = i === generations.length - 1;
      if (decoded.invalidBytes > 0) {
        const damage = `${file} is damaged at byte ${decoded.validBytes} (${decoded.problem})`;
        if (!isLast) throw new JournalDamagedError(`${damage} and later logs follow it`);
        if (decoded.problem === NOT_JSON) throw new JournalDamagedError(`${damage}: its checksum matches, so it is no torn write`);
        // A crash tears only the last write: intact records after the bad one mean the bad
        // one was damaged later, and those records (perhaps acknowledged) must not be cut.
        const intact = findIntactRecord(buffer, decoded.validBytes + 1);
        if (intact !== null) {
          throw new JournalDamagedError(`${damage}; intact records follow from byte ${intact}, so it is no torn tail`);
        }
        tornTail =
          `${file}: dropped a torn tail of ${decoded.invalidBytes} bytes at byte ${decoded.validBytes} (${decoded.problem}); ` +
          'after a process crash it held a change that was never acknowledged (after a power cut with FSYNC=batch or off, perhaps one that was)';
      }
      if (isLast) validBytesOfLast = decoded.validBytes;
    }
    return { meta, validBytesOfLast, tornTail };
  }

  /**
   * Appends one change. The caller has already made it to the store, in the same
   * synchronous turn (compaction relies on it: see compact); resolves once it is durable
   * (as the fsync policy defines). Calls must come in the order the changes were made.
   */
  commit(change: StoreChange<M>): Promise<void> {
    this.lastMeta = change.meta;
    const written = this.log.append(encodeRecord(change));
    if (!this.compacting && !this.closing && this.log.size > (this.options.compactAtBytes ?? DEFAULT_COMPACT_AT)) {
      this.compacting = true;
      this.compact()
        .catch((error: unknown) => this.options.warn?.(`${this.dir}: compaction failed, the logs are kept as they are: ${messageOf(error)}`))
        .finally(() => (this.compacting = false));
    }
    return written;
  }

  /**
   * Folds everything so far into a new snapshot, starts a new log and deletes the old one.
   * Writes continue meanwhile; the log is held only for the rotation itself.
   *
   * The snapshot is the state exactly at the rotation: a frozen view of the store taken
   * when every change committed so far is in the old log and none in the new one. Since a
   * change is made to the store and committed in one synchronous turn, that view holds
   * exactly the old logs' changes, so no change is replayed twice on top of the snapshot.
   * (Replaying twice is not harmless in general: a no-op apply of an entry older than a
   * tombstone, then dropTombstonesThrough, replayed on a state without the tombstone,
   * brings the old entry back.)
   */
  compact(): Promise<void> {
    return this.compaction.runExclusive(async () => {
      const covered = this.generation;
      const cut = await this.log.rotate(path.join(this.dir, logName(covered + 1)), () => {
        this.generation = covered + 1;
        return { view: this.store.freeze(), meta: this.lastMeta };
      });
      await this.writeSnapshot(covered, cut.view, cut.meta);
      await unlink(path.join(this.dir, logName(covered))).catch(() => undefined);
    });
  }

  get logBytes(): number {
    return this.log.size;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.compaction.waitForUnlock();
    await this.log.close();
  }

  /** Writes `view` (the state at the end of log `generation`) as the snapshot, atomically. */
  private async writeSnapshot(generation: number, view: StoreView, meta: M | null): Promise<void> {
    const tmp = path.join(this.dir, `${SNAPSHOT}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      const header: SnapshotHeader<M | null> = { snapshot: { generation, meta } };
      await handle.write(encodeRecord(header));
      const maxEntries = this.options.snapshotChunkEntries ?? SNAPSHOT_CHUNK_ENTRIES;
      let chunk: string[] = [];
      let chunkBytes = 0;
      let count = 0;
      const writeChunk = async () => {
        await handle.write(encodeJsonRecord(`{"entries":[${chunk.join(',')}]}`));
        chunk = [];
        chunkBytes = 0;
        await this.options.onSnapshotRecord?.();
      };
      // `view` is frozen: the awaits below let writes change the store, never what this reads.
      for (const entry of view.entriesByVersion()) {
        const json = JSON.stringify(entry satisfies SnapshotChunk['entries'][number]);
        chunk.push(json);
        chunkBytes += Buffer.byteLength(json);
        count++;
        if (chunk.length >= maxEntries || chunkBytes >= SNAPSHOT_CHUNK_BYTES) await writeChunk();
      }
      if (chunk.length > 0) await writeChunk();
      await handle.write(encodeRecord({ end: { count } } satisfies SnapshotEnd));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path.join(this.dir, SNAPSHOT));
    await syncDirectory(this.dir);
  }

  /** Loads `snapshot` into `store`; generation 0 and no metadata when there is none. Throws JournalDamagedError naming the byte. */
  private static async loadSnapshot<M>(dir: string, store: VersionedStore): Promise<LoadedSnapshot<M>> {
    const file = path.join(dir, SNAPSHOT);
    let buffer: Buffer;
    try {
      buffer = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { present: false, generation: 0, meta: null };
      throw error;
    }
    const decoded = decodeRecords(buffer);
    const [first, ...rest] = decoded.payloads as Array<Partial<SnapshotHeader<M> & SnapshotChunk & SnapshotEnd>>;
    const last = rest[rest.length - 1];
    // Snapshots are renamed into place whole; anything else is damage, not a torn write.
    if (decoded.invalidBytes > 0) {
      throw new JournalDamagedError(`${file} is damaged at byte ${decoded.validBytes} (${decoded.problem}); refusing to start without it`);
    }
    if (!first?.snapshot || !last?.end) {
      const at = first?.snapshot ? decoded.validBytes : 0;
      throw new JournalDamagedError(`${file} is damaged at byte ${at} (${first?.snapshot ? 'no end record' : 'no header record'}); refusing to start without it`);
    }
    let count = 0;
    for (const chunk of rest.slice(0, -1)) {
      for (const entry of chunk.entries ?? []) {
        store.apply(entry);
        count++;
      }
    }
    if (count !== last.end.count) {
      throw new JournalDamagedError(`${file} is damaged at byte 0: it holds ${count} entries but says ${last.end.count}`);
    }
    return { present: true, generation: first.snapshot.generation, meta: first.snapshot.meta };
  }
}

interface LoadedSnapshot<M> {
  readonly present: boolean;
  /** The last log generation it holds (0 without a snapshot). */
  readonly generation: number;
  readonly meta: M | null;
}

/**
 * Throws JournalDamagedError unless the logs after the snapshot are exactly G+1, G+2, ...
 * (G the snapshot's generation, 0 without one): a missing log would be silently skipped.
 */
function checkGenerations(dir: string, snapshot: LoadedSnapshot<unknown>, live: readonly number[]): void {
  if (live.length === 0) return;
  const expected = snapshot.generation + 1;
  if (live[0] !== expected) {
    const held = snapshot.present ? `${path.join(dir, SNAPSHOT)} holds everything through log generation ${snapshot.generation}` : 'there is no snapshot';
    throw new JournalDamagedError(`${path.join(dir, logName(expected))} is missing: ${held}, but the oldest log after it is ${logName(live[0])}`);
  }
  for (let i = 1; i < live.length; i++) {
    if (live[i] !== live[i - 1] + 1) {
      throw new JournalDamagedError(`${path.join(dir, logName(live[i - 1] + 1))} is missing: ${logName(live[i - 1])} is followed by ${logName(live[i])}`);
    }
  }
}

/** Makes a rename or a new file in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

