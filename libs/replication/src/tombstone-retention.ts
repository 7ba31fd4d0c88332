/** API.md, "Watch": a node keeps the deletes of at least the last 60 s. */
export const TOMBSTONE_RETENTION_MS = 60_000;

/** Samples closer together than this share one slot, so the history stays bounded (about retention / this). */
const SLOT_MS = 1000;

interface Sample {
  /** When the slot's first version was noted (ms, the injected clock's). */
  readonly firstAt: number;
  /** When its last version was noted: every version of the slot was noted at or before it. */
  at: number;
  /** The highest version noted in the slot. */
  version: number;
}

/**
 * When versions were written or applied, as a small bounded (time, version) history, so that
 * tombstone compaction never drops a delete younger than `retentionMs` (API.md, "Watch": a
 * watcher that reconnects within 60 s of its last event never gets a 410).
 *
 * `dropLimit(now)` is the highest version noted at least `retentionMs` before `now`; anything
 * above it may be younger and is kept. Versions noted in one slot are stamped with the slot's
 * last time, which only ever keeps a tombstone longer, never shorter. Times come from the
 * caller (an injected clock), so tests run on a virtual one. Holds about retentionMs / 1 s
 * samples whatever the write rate.
 */
export class TombstoneRetention {
  private readonly samples: Sample[] = [];

  constructor(readonly retentionMs: number = TOMBSTONE_RETENTION_MS) {}

  /** Every version up to `version` was written (leader) or applied (follower) by `now`. */
  note(version: number, now: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && version <= last.version) return;
    if (last !== undefined && now - last.firstAt < SLOT_MS) {
      last.at = now;
      last.version = version;
    } else {
      this.samples.push({ firstAt: now, at: now, version });
    }
    this.prune(now);
  }

  /** The highest version every entry up to which is at least `retentionMs` old (0: none known to be). */
  dropLimit(now: number): number {
    if (this.retentionMs <= 0) return Number.MAX_SAFE_INTEGER;
    this.prune(now);
    const oldest = this.samples[0];
    return oldest !== undefined && oldest.at <= now - this.retentionMs ? oldest.version : 0;
  }

  /** How many samples it holds (bounded). */
  get size(): number {
    return this.samples.length;
  }

  /** Keeps only the newest sample old enough, and the younger ones. */
  private prune(now: number): void {
    const cutoff = now - this.retentionMs;
    while (this.samples.length >= 2 && this.samples[1].at <= cutoff) this.samples.shift();
  }
}
