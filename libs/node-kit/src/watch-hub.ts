import type { ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Entry, VersionedStore } from '@kv/store';
import { changeFrame, KEEP_ALIVE_FRAME, resetFrame, type ResetReason } from './sse-frames';

/** API.md, "Watch": a comment line at least every 15 s. */
export const KEEP_ALIVE_MS = 10_000;
/** A watcher that does not read is dropped once this many bytes wait in its socket's buffer. */
export const MAX_WATCHER_BUFFERED_BYTES = 8 * 1024 * 1024;
/**
 * Queued changes are sent at most this often (ms): with a thousand watchers, one socket write
 * each per replication request cost the follower 5x its replication throughput; batching
 * them per 20 ms makes it one write per watcher per interval, for 20 ms more latency.
 */
const FLUSH_INTERVAL_MS = 20;
/**
 * Past 200 watchers the interval grows by 1 ms per this many live watchers, so the fan-out
 * stays near 10,000 socket writes per second: profiled with 1,000 watchers, the follower's
 * time went to the writes themselves (the writev system calls and Node's per-write work),
 * not to building or encoding the text, so the number of writes is what costs.
 */
const WATCHERS_PER_FLUSH_MS = 10;
/** The interval never grows past this (ms): the latency a watcher pays for the others. */
const MAX_FLUSH_INTERVAL_MS = 100;
/** Entries read from the store per step of a backlog; the event loop turns between steps. */
const BACKLOG_PAGE_ENTRIES = 1000;
/** A backlog pauses for `drain` past this much unsent data, so a big backlog never piles up in memory. */
const BACKLOG_HIGH_WATER_BYTES = 1024 * 1024;

export interface WatchHubOptions {
  readonly store: VersionedStore;
  readonly registry: Registry;
  readonly keepAliveMs?: number;
  readonly maxBufferedBytes?: number;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly prefix: string;
  /** Every change to a key under `prefix` up to this version was sent (or coalesced away). */
  sentThrough: number;
  /** From version 0: the backlog is the live keys only, no tombstones and no horizon check. */
  readonly snapshot: boolean;
  live: boolean;
  closed: boolean;
}

/**
 * The watchers of one node and the changes they are sent (API.md, "Watch").
 *
 * Each watcher has a cursor, `sentThrough`. A new watcher first reads its backlog from the
 * store's version index (coalesced: the current entry of each key changed since its version),
 * page by page, until its cursor reaches `emittedThrough`; in that same synchronous step it
 * joins the live set, so the hand-over has no gap and no duplicate. Live changes are queued
 * by `published` (the leader, each write) or `advance` (a follower, each watermark step, read
 * from the version index: coalesced per step) and flushed every 20 ms at most (up to 100 ms
 * with 1,000 watchers or more: `flushIntervalMs`), one socket write per watcher. Order of calls: the store changes first, then the hub is told.
 */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly liveWatchers = new Set<Watcher>();
  /** Changes above `emittedThrough` and up to `queuedThrough`, in version order, not yet sent. */
  private queue: Entry[] = [];
  private queuedThrough = 0;
  /** Every live watcher was sent every change up to here. */
  private emittedThrough = 0;
  private flushScheduled = false;
  private readonly keepAlive: NodeJS.Timeout;
  private readonly dropped: Counter<'reason'>;
  private readonly maxBufferedBytes: number;

  constructor(private readonly options: WatchHubOptions) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? MAX_WATCHER_BUFFERED_BYTES;
    const open = () => this.size;
    new Gauge({ name: 'kv_watchers', help: 'Open GET /watch streams', registers: [options.registry], collect() { this.set(open()); } });
    this.dropped = new Counter({
      name: 'kv_watchers_dropped_total',
      help: 'Watch streams the node ended itself, by reason (slow-consumer, resync, history-compacted)',
      labelNames: ['reason'] as const,
      registers: [options.registry],
    });
    this.keepAlive = setInterval(() => {
      for (const watcher of this.watchers) watcher.res.write(KEEP_ALIVE_FRAME);
    }, options.keepAliveMs ?? KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  /** Open streams. */
  get size(): number {
    return this.watchers.size;
  }

  /** The version through which changes have been queued: a watcher opened now without fromVersion starts here. */
  get version(): number {
    return this.queuedThrough;
  }

  /** The leader applied `entry` (each write, in version order): sent one by one. */
  published(entry: Entry): void {
    if (entry.version <= this.queuedThrough) return;
    if (this.liveWatchers.size === 0 && this.queue.length === 0) {
      this.emittedThrough = this.queuedThrough = entry.version;
      return;
    }
    this.queue.push(entry);
    this.queuedThrough = entry.version;
    this.scheduleFlush();
  }

  /**
   * The node now holds every write up to `version` (a follower's watermark, or a leader's
   * version after its recovery): queues the entries of the store's version index between the
   * last queued version and it. A key changed twice within one step has only its newest entry.
   */
  advance(version: number): void {
    if (version <= this.queuedThrough) return;
    if (this.liveWatchers.size === 0 && this.queue.length === 0) {
      this.emittedThrough = this.queuedThrough = version;
      return;
    }
    // A loop, not push(...entries): spreading a step of ~150,000 entries overflows the call stack.
    for (const entry of this.options.store.entriesAfter(this.queuedThrough, version, Infinity)) this.queue.push(entry);
    this.queuedThrough = version;
    this.scheduleFlush();
  }

  /**
   * The store was emptied (a follower's full resync): ends every stream with `event: reset`
   * so clients relist and watch again, and restarts from `version` (the new watermark).
   */
  reset(version: number, reason: ResetReason, detail: string): void {
    for (const watcher of [...this.watchers]) this.end(watcher, reason, detail);
    this.queue = [];
    this.emittedThrough = this.queuedThrough = version;
  }

  /** Ends every stream (shutdown): the server can then close its connections. */
  closeAll(): void {
    clearInterval(this.keepAlive);
    for (const watcher of [...this.watchers]) this.end(watcher, 'shutdown', 'the node is shutting down; watch another node or again later');
  }

  /**
   * Starts streaming to `res` (headers already sent): changes to keys under `prefix` above
   * `fromVersion`. The caller checked the tombstone horizon (410) before.
   */
  open(res: ServerResponse, prefix: string, fromVersion: number): void {
    const watcher: Watcher = { res, prefix, sentThrough: fromVersion, snapshot: fromVersion === 0, live: false, closed: false };
    this.watchers.add(watcher);
    res.on('close', () => this.forget(watcher));
    this.catchUp(watcher);
  }

  /** Reads the backlog page by page until the cursor reaches `emittedThrough`, then goes live in the same step. */
  private catchUp(watcher: Watcher): void {
    if (watcher.closed) return;
    const store = this.options.store;
    while (watcher.sentThrough < this.emittedThrough) {
      if (!watcher.snapshot && watcher.sentThrough < store.tombstoneHorizon) {
        return this.end(watcher, 'history-compacted', `deletes after version ${watcher.sentThrough} were forgotten meanwhile; list, then watch again`);
      }
      const page = store.page(watcher.sentThrough, this.emittedThrough, { maxEntries: BACKLOG_PAGE_ENTRIES, liveOnly: watcher.snapshot });
      let text = '';
      for (const entry of page.entries) if (entry.key.startsWith(watcher.prefix)) text += changeFrame(entry);
      watcher.sentThrough = page.coveredThrough;
      if (text !== '') watcher.res.write(text);
      if (watcher.sentThrough >= this.emittedThrough) break;
      if (watcher.res.writableLength > BACKLOG_HIGH_WATER_BYTES) {
        watcher.res.once('drain', () => this.catchUp(watcher));
        return;
      }
      setImmediate(() => this.catchUp(watcher));
      return;
    }
    watcher.live = true;
    this.liveWatchers.add(watcher);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => this.flush(), flushIntervalMs(this.liveWatchers.size));
  }

  /**
   * Sends the queued changes: one write per watcher. The text for a prefix is built and
   * encoded to UTF-8 once per flush and the same Buffer written to every watcher of that
   * prefix: written as a string, Node measured and encoded it again for each of a thousand
   * watchers. (No cork() needed: Node already corks the socket for the tick, so the chunk
   * header, the Buffer and the trailing CRLF leave in one writev.)
   */
  private flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    this.queue = [];
    const through = this.queuedThrough;
    if (queue.length === 0) {
      this.emittedThrough = through;
      return;
    }
    const frames = queue.map(changeFrame);
    /** By prefix: the whole queue's frames under it, null when none is. */
    const batches = new Map<string, Buffer | null>();
    for (const watcher of [...this.liveWatchers]) {
      let batch: Buffer | null | undefined;
      if (watcher.sentThrough < queue[0].version) {
        batch = batches.get(watcher.prefix);
        if (batch === undefined) {
          batch = encodeFrames(queue, frames, watcher.prefix, 0);
          batches.set(watcher.prefix, batch);
        }
      } else {
        // A cursor inside the queue does not happen today (a watcher goes live at
        // emittedThrough, below every queued version); if it ever does, no duplicate.
        batch = encodeFrames(queue, frames, watcher.prefix, watcher.sentThrough);
      }
      watcher.sentThrough = Math.max(watcher.sentThrough, through);
      if (batch !== null) watcher.res.write(batch);
      if (watcher.res.writableLength > this.maxBufferedBytes) {
        this.end(watcher, 'slow-consumer', `more than ${this.maxBufferedBytes} bytes waited unread; watch again from the last version received`);
      }
    }
    this.emittedThrough = through;
  }

  /** Sends the reason as the last event and ends the stream; a socket that does not take it is destroyed soon after. */
  private end(watcher: Watcher, reason: ResetReason, detail: string): void {
    if (watcher.closed) return;
    if (reason !== 'shutdown') this.dropped.inc({ reason });
    this.forget(watcher);
    watcher.res.end(resetFrame(reason, detail));
    // A reader that stopped reading would hold the socket (and its buffer) forever.
    const timer = setTimeout(() => watcher.res.destroy(), 1000);
    timer.unref();
    watcher.res.once('close', () => clearTimeout(timer));
  }

  private forget(watcher: Watcher): void {
    watcher.closed = true;
    this.watchers.delete(watcher);
    this.liveWatchers.delete(watcher);
  }
}

/** How long queued changes wait before a flush (ms), for `watchers` live watchers. */
export function flushIntervalMs(watchers: number): number {
  return Math.min(MAX_FLUSH_INTERVAL_MS, Math.max(FLUSH_INTERVAL_MS, watchers / WATCHERS_PER_FLUSH_MS));
}

/**
 * The frames (`frames[i]` is `queue[i]`'s) of the entries above version `after` whose key
 * starts with `prefix`, as UTF-8 bytes; null when there is none.
 */
function encodeFrames(queue: readonly Entry[], frames: readonly string[], prefix: string, after: number): Buffer | null {
  let text = '';
  for (let i = 0; i < queue.length; i++) {
    if (queue[i].version > after && queue[i].key.startsWith(prefix)) text += frames[i];
  }
  return text === '' ? null : Buffer.from(text, 'utf8');
}
