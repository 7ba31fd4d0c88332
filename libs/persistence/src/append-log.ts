import { open, type FileHandle } from 'node:fs/promises';

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
 */
export class AppendLog {
  private queue: Waiter[] = [];
  private flushing = false;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Runs between two group writes, with no write in progress (log rotation). */
  private exclusive: (() => Promise<void>) | null = null;

  private constructor(
    private handle: FileHandle,
    private bytes: number,
    private readonly policy: FsyncPolicy,
  ) {
    if (policy === 'batch') {
      this.syncTimer = setInterval(() => void this.syncIfDirty(), BATCH_SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
  }

  /** Opens `path` for appending, first cutting it to `validBytes` (dropping a torn tail). */
  static async open(path: string, validBytes: number, policy: FsyncPolicy): Promise<AppendLog> {
    const handle = await open(path, 'a+');
    const { size } = await handle.stat();
    if (size !== validBytes) {
      await handle.truncate(validBytes);
      await handle.datasync();
    }
    return new AppendLog(handle, validBytes, policy);
  }

  get size(): number {
    return this.bytes;
  }

  append(record: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('log is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      // Let every append of this turn of the event loop join the same write.
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(() => void this.flush());
      }
    });
  }

  /** Runs `work` once no write is in progress; appends wait for it. */
  runExclusive(work: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.exclusive = async () => {
        try {
          await work();
          resolve();
        } catch (error) {
          reject(error);
        }
      };
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(() => void this.flush());
      }
    });
  }

  /** Switches to another file (after rotation); the old handle is closed. */
  async replaceFile(path: string): Promise<void> {
    await this.handle.close();
    this.handle = await open(path, 'a+');
    this.bytes = (await this.handle.stat()).size;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.dirty && this.policy !== 'off') await this.handle.datasync();
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    try {
      for (;;) {
        if (this.exclusive) {
          const work = this.exclusive;
          this.exclusive = null;
          await work();
          continue;
        }
        if (this.queue.length === 0) break;
        const group = this.queue;
        this.queue = [];
        try {
          const data = group.length === 1 ? group[0].record : Buffer.concat(group.map((w) => w.record));
          await this.handle.write(data, 0, data.length, null);
          this.bytes += data.length;
          if (this.policy === 'always') await this.handle.datasync();
          else this.dirty = true;
          group.forEach((w) => w.resolve());
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          group.forEach((w) => w.reject(failure));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    try {
      await this.handle.datasync();
    } catch {
      this.dirty = true;
    }
  }
}
