import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { VersionedStore, type Entry } from '@kv/store';
import { AppendLog, type FsyncPolicy } from './append-log';
import { decodeRecords, encodeRecord } from './record-codec';
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
  /** A log longer than this is folded into a new snapshot. */
  readonly compactAtBytes?: number;
  /** Told about anything found and repaired at start (a torn tail). */
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
const SNAPSHOT_CHUNK = 1000;
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

/**
 * A node's durable history in DATA_DIR: a snapshot of the whole store, plus logs of the
 * changes since. Files:
 * - `snapshot`: the store and metadata as of the end of log generation G (written to a
 *   temporary file, fsync'ed, renamed: it is whole or absent);
 * - `log.N` for N > G: changes after it, one checksummed record per change.
 *
 * Invariant: replaying the snapshot, then every log above its generation in order, gives
 * the state after the last durable change.
 */
export class FileJournal<M> {
  private compacting = false;

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
    const { generation: snapshotGeneration, meta: snapshotMeta } = await FileJournal.loadSnapshot<M>(dir, store);
    let meta = snapshotMeta;

    const files = await readdir(dir);
    const generations = files
      .map((f) => LOG_PATTERN.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    // Logs the snapshot already holds are leftovers of a compaction cut short.
    for (const g of generations.filter((g) => g <= snapshotGeneration)) await unlink(path.join(dir, logName(g)));
    const live = generations.filter((g) => g > snapshotGeneration);

    let validBytesOfLast = 0;
    for (const [i, g] of live.entries()) {
      const file = path.join(dir, logName(g));
      const decoded = decodeRecords(await readFile(file));
      for (const payload of decoded.payloads) {
        const change = payload as StoreChange<M>;
        replay(store, change);
        meta = change.meta;
      }
      const isLast = i === live.length - 1;
      if (decoded.invalidBytes > 0) {
        if (!isLast) {
          throw new JournalDamagedError(`${file} is damaged at byte ${decoded.validBytes} (${decoded.problem}) and later logs follow it`);
        }
        options.warn?.(
          `${file}: dropped a torn tail of ${decoded.invalidBytes} bytes at byte ${decoded.validBytes} (${decoded.problem}); ` +
            'after a process crash it held a change that was never acknowledged (after a power cut with FSYNC=batch or off, perhaps one that was)',
        );
      }
      if (isLast) validBytesOfLast = decoded.validBytes;
    }

    const generation = live.length > 0 ? live[live.length - 1] : snapshotGeneration + 1;
    const log = await AppendLog.open(path.join(dir, logName(generation)), validBytesOfLast, options.fsync);
    await syncDirectory(dir);
    return { journal: new FileJournal<M>(dir, log, generation, store, meta, options), store, meta };
  }

  /**
   * Appends one change. The caller has already made it to the store; resolves once it is
   * durable (as the fsync policy defines). Calls must come in the order the changes were made.
   */
  commit(change: StoreChange<M>): Promise<void> {
    this.lastMeta = change.meta;
    const written = this.log.append(encodeRecord(change));
    if (!this.compacting && this.log.size > (this.options.compactAtBytes ?? DEFAULT_COMPACT_AT)) {
      this.compacting = true;
      void this.compact().finally(() => (this.compacting = false));
    }
    return written;
  }

  /** Folds everything so far into a new snapshot and starts a new log. */
  compact(): Promise<void> {
    return this.log.runExclusive(async () => {
      const covered = this.generation;
      // Changes made to the store but not yet written go to the new log as well as into
      // the snapshot: replaying them twice is harmless.
      this.generation = covered + 1;
      await this.log.replaceFile(path.join(this.dir, logName(this.generation)));
      await this.writeSnapshot(covered);
      await unlink(path.join(this.dir, logName(covered))).catch(() => undefined);
    });
  }

  get logBytes(): number {
    return this.log.size;
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  private async writeSnapshot(generation: number): Promise<void> {
    const tmp = path.join(this.dir, `${SNAPSHOT}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      const header: SnapshotHeader<M | null> = { snapshot: { generation, meta: this.lastMeta } };
      await handle.write(encodeRecord(header));
      let chunk: Entry[] = [];
      let count = 0;
      for (const entry of this.store.entriesByVersion()) {
        chunk.push(entry);
        count++;
        if (chunk.length === SNAPSHOT_CHUNK) {
          await handle.write(encodeRecord({ entries: chunk } satisfies SnapshotChunk));
          chunk = [];
        }
      }
      if (chunk.length > 0) await handle.write(encodeRecord({ entries: chunk } satisfies SnapshotChunk));
      await handle.write(encodeRecord({ end: { count } } satisfies SnapshotEnd));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path.join(this.dir, SNAPSHOT));
    await syncDirectory(this.dir);
  }

  private static async loadSnapshot<M>(dir: string, store: VersionedStore): Promise<{ generation: number; meta: M | null }> {
    let buffer: Buffer;
    try {
      buffer = await readFile(path.join(dir, SNAPSHOT));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { generation: 0, meta: null };
      throw error;
    }
    const decoded = decodeRecords(buffer);
    const [first, ...rest] = decoded.payloads as Array<Partial<SnapshotHeader<M> & SnapshotChunk & SnapshotEnd>>;
    const last = rest[rest.length - 1];
    // Snapshots are renamed into place whole; anything else is damage, not a torn write.
    if (decoded.invalidBytes > 0 || !first?.snapshot || !last?.end) {
      throw new JournalDamagedError(`${path.join(dir, SNAPSHOT)} is damaged (${decoded.problem ?? 'incomplete'}); refusing to start without it`);
    }
    let count = 0;
    for (const chunk of rest.slice(0, -1)) {
      for (const entry of chunk.entries ?? []) {
        store.apply(entry);
        count++;
      }
    }
    if (count !== last.end.count) {
      throw new JournalDamagedError(`${path.join(dir, SNAPSHOT)} holds ${count} entries but says ${last.end.count}`);
    }
    return { generation: first.snapshot.generation, meta: first.snapshot.meta };
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

