import { open, type FileHandle } from 'node:fs/promises';
import { Mutex } from 'async-mutex';

/** How the log opens its file: `fs/promises` open, or a stand-in that fails on purpose in tests. */
export type OpenFile = (path: string, flags: string) => Promise<FileHandle>;

export type FsyncPolicy = 'always' | 'batch' | 'off';

/** How often `batch` syncs what was written since the last sync. */
export const BATCH_SYNC_INTERVAL_MS = 100;

interface Waiter {
  readonly record: Buffer;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * An append-only file with group commit: records appended while a write is in progress
 * go to disk together in the next write, sharing one fdatasync. `append` resolves once the
 * record is durable as the policy defines it:
 * - always: written and fdatasync'ed (survives a power cut);
 * - batch:  written; synced within BATCH_SYNC_INTERVAL_MS (survives a crash of the process,
 *           may lose that much on a power cut);
 * - off:    written; synced when the OS decides (survives a crash of the process).
 *
 * One mutex orders everything that touches the file: group writes, syncs, rotation, close.
 *
 * Fail-stop: once a write or sync fails (or writes short), every later append and rotation
 * fails with that error. Going on would put later records after a missing one: a replay
 * would then show a log without the failed record but with its successors, which a leader
 * may already have sent to followers (API.md guarantee 2 would break). The node must stop.
 */
export class AppendLog {
  private queue: Waiter[] = [];
  private flushScheduled = false;
  private dirty = false;
  private closed = false;
  /** The first failure; from then on nothing more is written. */
  private broken: Error | null = null;
  private readonly fileLock = new Mutex();
  private readonly syncTimer: NodeJS.Timeout | null = null;

  private constructor(
    private handle: FileHandle,
    private bytes: number,
    private readonly policy: FsyncPolicy,
    private readonly openFile: OpenFile,
  ) {
    if (policy === 'batch') {
      this.syncTimer = setInterval(() => void this.fileLock.runExclusive(() => this.syncIfDirty()), BATCH_SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
  }

  /** Opens `path` for appending, first cutting it to `validBytes` (dropping a torn tail). `openFile`: for tests that make the file fail. */
  static async open(path: string, validBytes: number, policy: FsyncPolicy, openFile: OpenFile = open): Promise<AppendLog> {
    const handle = await openFile(path, 'a+');
    const { size } = await handle.stat();
    if (size !== validBytes) {
      await handle.truncate(validBytes);
      await handle.datasync();
    }
    return new AppendLog(handle, validBytes, policy, openFile);
  }

  get size(): number {
    return this.bytes;
  }

  append(record: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('log is closed'));
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      // Let every append of this turn of the event loop join the same write.
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => void this.fileLock.runExclusive(() => this.flush()));
      }
    });
  }

  /**
   * Switches to the file at `path` (rotation) at a cut no append straddles: writes every
   * record appended so far to the current file, then, with nothing left queued, calls
   * `atCut` synchronously and returns what it returns. Every record appended before
   * `atCut` ran is in the old file (or failed, its append rejected); every later one goes
   * to the new file. Takes the file lock.
   */
  rotate<T>(path: string, atCut: () => T): Promise<T> {
    return this.fileLock.runExclusive(async () => {
      // Appends made while a group is being written join the queue; the cut waits for an
      // empty queue seen with no await between the check and atCut.
      do {
        await this.flush();
      } while (this.queue.length > 0);
      if (this.broken) throw this.broken;
      const cut = atCut();
      await this.handle.close();
      this.handle = await this.openFile(path, 'a+');
      this.bytes = (await this.handle.stat()).size;
      return cut;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    await this.fileLock.runExclusive(async () => {
      await this.flush();
      if (this.policy !== 'off') await this.syncIfDirty();
      await this.handle.close();
    });
  }

  /** Writes every queued record, in groups; holds the file lock. After a failure, fails them all unwritten. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      if (this.broken) {
        const broken = this.broken;
        group.forEach((w) => w.reject(broken));
        continue;
      }
      try {
        const data = group.length === 1 ? group[0].record : Buffer.concat(group.map((w) => w.record));
        const { bytesWritten } = await this.handle.write(data, 0, data.length, null);
        if (bytesWritten !== data.length) throw new Error(`short write: ${bytesWritten} of ${data.length} bytes reached the log`);
        this.bytes += data.length;
        if (this.policy === 'always') await this.handle.datasync();
        else this.dirty = true;
        group.forEach((w) => w.resolve());
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        this.broken = new Error(`the log failed and takes no more records: ${failure.message}`, { cause: failure });
        group.forEach((w) => w.reject(failure));
      }
    }
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await this.handle.datasync();
    } catch {
      this.dirty = true;
    }
  }
}
