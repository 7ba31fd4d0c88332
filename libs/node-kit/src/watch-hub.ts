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
/**
 * A flush writes to at most this many watchers, or for at most `FLUSH_SLICE_MS`, before it
 * yields to the event loop (setImmediate): written in one synchronous step, a flush to 1,000
 * watchers held up every replication frame that arrived meanwhile, and a w=5 write waits for
 * the watched follower's ack (issue 16: 57% of the throughput kept at w=5).
 */
const FLUSH_SLICE_WATCHERS = 100;
/** The other bound of a flush step (ms, measured with `performance.now()`): about one replication frame's wait. */
const FLUSH_SLICE_MS = 2;
/** Entries read from the store per step of a backlog; the event loop turns between steps. */
const BACKLOG_PAGE_ENTRIES = 1000;
/** A backlog pauses for `drain` past this much unsent data, so a big backlog never piles up in memory. */
const BACKLOG_HIGH_WATER_BYTES = 1024 * 1024;

export interface WatchHubOptions {
  readonly store: VersionedStore;
  readonly registry: Registry;
  readonly keepAliveMs?: number;
  readonly maxBufferedBytes?: number;
  /** Watchers written per step of a flush (tests make it small). */
  readonly sliceWatchers?: number;
  /** Longest step of a flush, in ms of `clock`. */
  readonly sliceMs?: number;
  /** Milliseconds from any origin; tests pass a fake one. Default `performance.now()`. */
  readonly clock?: () => number;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly prefix: string;
  /** Every change to a key under `prefix` up to this version was sent (or coalesced away). */
  sentThrough: number;
  /** From version 0: the backlog is the live keys only, no tombstones and no horizon check. */
  readonly snapshot: boolean;
  closed: boolean;
}

/** The live watchers of one prefix: a change finds them by a Map lookup of its key's prefix of that length. */
interface PrefixGroup {
  readonly prefix: string;
  readonly watchers: Set<Watcher>;
}

/** What one prefix group is sent by a flush: its matching changes, in version order, and their frames as UTF-8 once. */
interface GroupBatch {
  readonly entries: Entry[];
  readonly frames: string[];
  bytes: Buffer | null;
}

/**
 * A flush under way: the watchers it writes to (those live when it started, with a batch
 * for their prefix), `next` the first not written yet. Cancelled by `reset`/`closeAll`
 * (they drop it as `WatchHub.flushing`).
 */
interface Flush {
  readonly through: number;
  readonly watchers: Watcher[];
  /** `batches[i]` is what `watchers[i]` is sent. */
  readonly batches: GroupBatch[];
  next: number;
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
 * with 1,000 watchers or more: `flushIntervalMs`), one socket write per watcher.
 *
 * A flush takes the whole queue at once (`emittedThrough` moves to its end then: a watcher
 * that goes live later reads those changes from the store, not from the flush) and writes it
 * in steps of at most 100 watchers or 2 ms, yielding to the event loop between them; the next
 * flush starts only once it is done, so a watcher's writes stay in version order. Live
 * watchers are grouped by prefix and the groups indexed by prefix: a change costs a Map
 * lookup per distinct prefix length (at most its key's length), and a watcher whose prefix
 * matches nothing queued is not even visited. Order of calls: the store changes first, then
 * the hub is told.
 */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly liveWatchers = new Set<Watcher>();
  /** Live watchers by prefix; a group leaves the Map with its last watcher. */
  private readonly groups = new Map<string, PrefixGroup>();
  /** The distinct lengths of `groups`' prefixes, ascending; null when a group came or went since. */
  private prefixLengths: number[] | null = [];
  /** Changes above `emittedThrough` and up to `queuedThrough`, in version order, not yet taken by a flush. */
  private queue: Entry[] = [];
  private queuedThrough = 0;
  /** Every live watcher was sent, or is being sent by the flush under way, every change up to here. */
  private emittedThrough = 0;
  private flushScheduled = false;
  /** The flush whose steps are still running, if any. */
  private flushing: Flush | null = null;
  /** A flush came due while one was running: it starts when that one ends. */
  private flushDue = false;
  private readonly keepAlive: NodeJS.Timeout;
  private readonly dropped: Counter<'reason'>;
  private readonly maxBufferedBytes: number;
  private readonly sliceWatchers: number;
  private readonly sliceMs: number;
  private readonly clock: () => number;

  constructor(private readonly options: WatchHubOptions) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? MAX_WATCHER_BUFFERED_BYTES;
    this.sliceWatchers = options.sliceWatchers ?? FLUSH_SLICE_WATCHERS;
    this.sliceMs = options.sliceMs ?? FLUSH_SLICE_MS;
    this.clock = options.clock ?? (() => performance.now());
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
   * so clients relist and watch again, and restarts from `version` (the new watermark). A
   * flush under way stops: what it had not written yet belongs to the old history.
   */
  reset(version: number, reason: ResetReason, detail: string): void {
    this.flushing = null;
    this.flushDue = false;
    for (const watcher of [...this.watchers]) this.end(watcher, reason, detail);
    this.queue = [];
    this.emittedThrough = this.queuedThrough = version;
  }

  /** Ends every stream (shutdown), stopping a flush under way: the server can then close its connections. */
  closeAll(): void {
    clearInterval(this.keepAlive);
    this.flushing = null;
    this.flushDue = false;
    for (const watcher of [...this.watchers]) this.end(watcher, 'shutdown', 'the node is shutting down; watch another node or again later');
  }

  /**
   * Starts streaming to `res` (headers already sent): changes to keys under `prefix` above
   * `fromVersion`. The caller checked the tombstone horizon (410) before.
   */
  open(res: ServerResponse, prefix: string, fromVersion: number): void {
    const watcher: Watcher = { res, prefix, sentThrough: fromVersion, snapshot: fromVersion === 0, closed: false };
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
    this.goLive(watcher);
  }

  private goLive(watcher: Watcher): void {
    this.liveWatchers.add(watcher);
    let group = this.groups.get(watcher.prefix);
    if (group === undefined) {
      group = { prefix: watcher.prefix, watchers: new Set() };
      this.groups.set(watcher.prefix, group);
      this.prefixLengths = null;
    }
    group.watchers.add(watcher);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => {
      this.flushScheduled = false;
      this.flush();
    }, flushIntervalMs(this.liveWatchers.size));
  }

  /**
   * Takes the queue and starts writing it (`flushStep`); waits for a flush still under way,
   * which would otherwise be overtaken. The text for a prefix is built and encoded to UTF-8
   * once per flush and the same Buffer written to every watcher of that prefix: written as a
   * string, Node measured and encoded it again for each of a thousand watchers. (No cork()
   * needed: Node already corks the socket for the tick, so the chunk header, the Buffer and
   * the trailing CRLF leave in one writev.)
   */
  private flush(): void {
    if (this.flushing !== null) {
      this.flushDue = true;
      return;
    }
    const queue = this.queue;
    this.queue = [];
    const through = this.queuedThrough;
    // From here on a watcher that goes live reads these changes from the store: the flush
    // below writes only to the watchers live now.
    this.emittedThrough = through;
    if (queue.length === 0) return;
    const flush: Flush = { through, watchers: [], batches: [], next: 0 };
    for (const [group, batch] of this.matchGroups(queue)) {
      batch.bytes = Buffer.from(batch.frames.join(''), 'utf8');
      for (const watcher of group.watchers) {
        flush.watchers.push(watcher);
        flush.batches.push(batch);
      }
    }
    if (flush.watchers.length === 0) return;
    this.flushing = flush;
    this.flushStep(flush);
  }

  /** The changes of `queue` under each group's prefix: only groups some change matched. */
  private matchGroups(queue: readonly Entry[]): Map<PrefixGroup, GroupBatch> {
    const lengths = (this.prefixLengths ??= [...new Set([...this.groups.keys()].map((prefix) => prefix.length))].sort((a, b) => a - b));
    const matched = new Map<PrefixGroup, GroupBatch>();
    for (const entry of queue) {
      const key = entry.key;
      let frame: string | null = null;
      for (const length of lengths) {
        if (length > key.length) break;
        const group = this.groups.get(length === key.length ? key : key.slice(0, length));
        if (group === undefined) continue;
        frame ??= changeFrame(entry);
        let batch = matched.get(group);
        if (batch === undefined) {
          batch = { entries: [], frames: [], bytes: null };
          matched.set(group, batch);
        }
        batch.entries.push(entry);
        batch.frames.push(frame);
      }
    }
    return matched;
  }

  /**
   * Writes the flush to its next watchers, at most `sliceWatchers` of them or for `sliceMs`,
   * then yields (setImmediate: after the event loop's I/O, so replication requests and their
   * acks go first). A watcher closed meanwhile is skipped; a cancelled flush does nothing.
   */
  private flushStep(flush: Flush): void {
    if (this.flushing !== flush) return;
    const started = this.clock();
    let written = 0;
    while (flush.next < flush.watchers.length) {
      const i = flush.next++;
      const watcher = flush.watchers[i];
      if (watcher.closed) continue;
      this.send(watcher, flush.batches[i], flush.through);
      written++;
      if (flush.next < flush.watchers.length && (written >= this.sliceWatchers || this.clock() - started >= this.sliceMs)) {
        setImmediate(() => this.flushStep(flush));
        return;
      }
    }
    this.flushing = null;
    if (this.flushDue) {
      this.flushDue = false;
      // A step of its own: the next flush's first writes do not lengthen this one's last step.
      setImmediate(() => this.flush());
    }
  }

  /** One socket write: the group's shared bytes, or only the changes above the watcher's cursor. */
  private send(watcher: Watcher, batch: GroupBatch, through: number): void {
    let bytes = batch.bytes;
    if (watcher.sentThrough >= batch.entries[0].version) {
      // A cursor inside the batch does not happen today (a watcher goes live at
      // emittedThrough, below every version a later flush takes); if it ever does, no duplicate.
      let text = '';
      for (let i = 0; i < batch.entries.length; i++) if (batch.entries[i].version > watcher.sentThrough) text += batch.frames[i];
      bytes = text === '' ? null : Buffer.from(text, 'utf8');
    }
    watcher.sentThrough = Math.max(watcher.sentThrough, through);
    if (bytes !== null) watcher.res.write(bytes);
    if (watcher.res.writableLength > this.maxBufferedBytes) {
      this.end(watcher, 'slow-consumer', `more than ${this.maxBufferedBytes} bytes waited unread; watch again from the last version received`);
    }
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
    const group = this.groups.get(watcher.prefix);
    if (group !== undefined && group.watchers.delete(watcher) && group.watchers.size === 0) {
      this.groups.delete(watcher.prefix);
      this.prefixLengths = null;
    }
  }
}

/** How long queued changes wait before a flush (ms), for `watchers` live watchers. */
export function flushIntervalMs(watchers: number): number {
  return Math.min(MAX_FLUSH_INTERVAL_MS, Math.max(FLUSH_INTERVAL_MS, watchers / WATCHERS_PER_FLUSH_MS));
}
