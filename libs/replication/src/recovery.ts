import { VersionedStore } from '@kv/store';
import { MAX_SAFE_VERSION, toStoreEntry, type EntriesPage, type ReplicateResponse } from '@kv/protocol';
import type { Clock } from './clock';
import { heldCoverage, highestHeld, type History, type Lineage } from './sync-plan';
import { VersionCoverage } from './version-coverage';

/** Reads followers' positions and state for a recovering leader (I/O at the edge). */
export interface RecoveryTransport {
  /** A page of entries (tombstones included) above `afterVersion`, and the follower's position. */
  entries(follower: string, afterVersion: number, maxBytes: number): Promise<EntriesPage>;
}

/** What the leader itself holds at start (its DATA_DIR), if anything it can vouch for. */
export interface OwnState {
  readonly history: History;
  readonly store: VersionedStore;
  /** Every version up to here it assigned or reserved; nothing above. */
  readonly reservedVersion: number;
}

/** Two follower URLs answered as one process: FOLLOWERS names one follower twice (guarantee 6). */
export class DuplicateFollowerError extends Error {
  readonly explainsItself = true;
  constructor(
    readonly first: string,
    readonly second: string,
  ) {
    super(`FOLLOWERS names one follower twice: ${first} and ${second} reach the same process`);
    this.name = 'DuplicateFollowerError';
  }
}

/** Where a recovery stands, for /status and /readyz. */
export interface RecoveryProgress {
  readonly followers: number;
  readonly answered: number;
  /** Followers it must hear from before it takes a write: followers − WRITE_QUORUM + 1. */
  readonly required: number;
  readonly phase: 'asking' | 'transferring';
  /** Why each follower not heard from did not answer (its last error). */
  readonly errors: Readonly<Record<string, string>>;
}

export interface RecoveryResult {
  /** The newest state found: the base's whole state plus every entry above it that another holder of the same history has. */
  readonly store: VersionedStore;
  /** The history taken over, and every version of it the new state holds. */
  readonly lineage: Lineage | null;
  /** The epoch the new leader takes: above every epoch seen. */
  readonly epoch: number;
  /** Versions continue above this: everything any follower or the leader itself holds or reserved. */
  readonly highestSeenVersion: number;
  readonly heard: readonly string[];
  readonly unheard: readonly string[];
  /** Where the state came from, for the log line. */
  readonly base: string;
  /** Followers of an older or another history: they get a full resync. */
  readonly stragglers: readonly string[];
}

export interface RecoveryOptions {
  readonly followers: readonly string[];
  readonly writeQuorum: number;
  readonly own: OwnState | null;
  /**
   * Versions up to here were reserved by a recovery cut short by a crash (its state is not
   * `own`, but no version it covered may be given again); 0 when there was none.
   */
  readonly interruptedReservation?: number;
  readonly transport: RecoveryTransport;
  readonly clock: Clock;
  /** Once enough followers answered, how long to wait for the rest. */
  readonly graceMs?: number;
  /** Between asks of a follower that does not answer. */
  readonly retryMs?: number;
  /** Bytes per page of a transfer. */
  readonly pageBytes?: number;
  readonly onProgress?: (progress: RecoveryProgress) => void;
  /** A follower did not answer an ask (for metrics). */
  readonly onAskFailed?: (follower: string, error: string) => void;
}

export const RECOVERY_GRACE_MS = 2000;

/**
 * Versions skipped when a leader recovers without its own durable reservation: more than it
 * can assign between two messages its followers hear (heartbeats every 250 ms carry its
 * version), however busy. With DATA_DIR its reservation (VERSION_RESERVATION_BLOCK) does this.
 */
export const VERSION_GAP_AFTER_MEMORY_LOSS = 10_000;

/**
 * Followers a leader must hear from before it takes a write: `followers − quorum + 1`
 * intersects every set of `quorum` followers, so it finds every write acknowledged with the
 * configured quorum (writes with a smaller `w` may live on one follower only). At least
 * one when there are followers.
 */
export function requiredAnswers(followers: number, writeQuorum: number): number {
  if (followers === 0) return 0;
  return Math.min(followers, Math.max(1, followers - writeQuorum + 1));
}

interface Candidate {
  readonly source: string;
  readonly history: History;
  readonly applied: number;
  /** The highest version it holds (above `applied` when writes arrived out of order). */
  readonly highest: number;
  readonly coverage: VersionCoverage;
  readonly droppedThrough: number;
}

const historyKey = (h: History) => `${h.epoch}/${h.leaderId}`;

/**
 * Picks the history to continue and its base (pure): among the holders of data, the newest
 * history (highest epoch; on a tie, the one holding the highest applied version); within it,
 * the holder with the highest contiguous applied version (the leader itself on a tie: no
 * transfer). Null when nobody holds anything: a brand-new cluster.
 */
export function chooseBase(candidates: readonly Candidate[]): { base: Candidate; members: Candidate[] } | null {
  const holders = candidates.filter((c) => c.highest > 0);
  if (holders.length === 0) return null;
  const groups = new Map<string, Candidate[]>();
  for (const c of holders) groups.set(historyKey(c.history), [...(groups.get(historyKey(c.history)) ?? []), c]);
  const best = (members: Candidate[]) => Math.max(...members.map((m) => m.applied));
  const [members] = [...groups.values()].sort((a, b) => b[0].history.epoch - a[0].history.epoch || best(b) - best(a));
  const base = members.reduce((top, c) => (c.applied > top.applied || (c.applied === top.applied && c.source === 'self') ? c : top));
  return { base, members };
}

/**
 * A leader's start-up recovery (API.md guarantee 7): asks every follower where it stands,
 * takes the newest state among its own and theirs, and says which epoch to take. It never
 * changes a follower. Throws DuplicateFollowerError when two URLs answer as one process.
 */
export async function recoverFromFollowers(options: RecoveryOptions): Promise<RecoveryResult> {
  const positions = await askPositions(options);
  const candidates: Candidate[] = [];
  const own = options.own;
  if (own) {
    const ownMax = own.store.lastEntryVersion;
    const coverage = new VersionCoverage();
    coverage.add(1, ownMax);
    candidates.push({ source: 'self', history: own.history, applied: ownMax, highest: ownMax, coverage, droppedThrough: own.store.tombstoneHorizon });
  }
  for (const [url, position] of positions) {
    candidates.push({
      source: url,
      history: { epoch: position.leaderEpoch, leaderId: position.leaderId ?? '' },
      applied: position.appliedVersion,
      highest: highestHeld(position),
      coverage: heldCoverage(position),
      droppedThrough: position.droppedThrough ?? 0,
    });
  }
  const epoch = Math.max(0, ...candidates.map((c) => c.history.epoch)) + 1;
  const highestReported = Math.max(
    own?.reservedVersion ?? 0,
    options.interruptedReservation ?? 0,
    own ? own.store.maxVersion : 0,
    ...[...positions.values()].map((p) => Math.max(highestHeld(p), p.seenVersion ?? 0)),
  );
  // A leader that lost its memory may have assigned versions no follower heard of (writes
  // answered 503, or with w=0, in its last moments): continue a reservation block above
  // what anyone reports, so no version it gave a client is given again (API.md: versions
  // strictly increase). Nothing to skip in a brand-new cluster.
  // Its own reservation, or a cut-short recovery's, is a durable bound on what it assigned.
  const durableReservation = Math.max(own?.reservedVersion ?? 0, options.interruptedReservation ?? 0);
  const reservationCovers = durableReservation > 0 && durableReservation >= highestReported;
  const highestSeenVersion = highestReported > 0 && !reservationCovers ? highestReported + VERSION_GAP_AFTER_MEMORY_LOSS : highestReported;
  const heard = [...positions.keys()];
  const unheard = options.followers.filter((f) => !positions.has(f));
  const chosen = chooseBase(candidates);
  if (!chosen) {
    return { store: own?.store ?? new VersionedStore(), lineage: null, epoch, highestSeenVersion, heard, unheard, base: 'none (a new cluster)', stragglers: [] };
  }
  options.onProgress?.({ followers: options.followers.length, answered: positions.size, required: requiredAnswers(options.followers.length, options.writeQuorum), phase: 'transferring', errors: {} });
  const { base, members } = chosen;
  const pageBytes = options.pageBytes ?? 4 * 1024 * 1024;
  const store = base.source === 'self' ? (own as OwnState).store : await pullState(options.transport, base, 0, pageBytes, new VersionedStore());
  store.noteTombstoneHorizon(base.droppedThrough);
  for (const member of members) {
    if (member === base || member.source === 'self' || member.highest <= base.applied) continue;
    await pullState(options.transport, member, base.applied, pageBytes, store);
  }
  const coverage = new VersionCoverage();
  for (const member of members) coverage.addAll(member.coverage);
  const stragglers = candidates.filter((c) => c.source !== 'self' && !members.includes(c)).map((c) => c.source);
  return { store, lineage: { history: base.history, coverage }, epoch, highestSeenVersion, heard, unheard, base: base.source, stragglers };
}

/** Asks every follower until enough answered and the rest had their grace; checks identities. */
async function askPositions(options: RecoveryOptions): Promise<Map<string, ReplicateResponse>> {
  const { followers, clock } = options;
  const required = requiredAnswers(followers.length, options.writeQuorum);
  const answers = new Map<string, ReplicateResponse>();
  const retryMs = options.retryMs ?? 200;
  const graceMs = options.graceMs ?? RECOVERY_GRACE_MS;
  if (followers.length === 0) return answers;
  let enoughAt: number | null = null;
  const errors: Record<string, string> = {};
  const report = () => options.onProgress?.({ followers: followers.length, answered: answers.size, required, phase: 'asking', errors: { ...errors } });
  report();
  const sleep = () => new Promise<void>((resolve) => clock.setTimer(resolve, retryMs));
  let done = false;
  // One loop per follower: a paused one that never answers holds up no other ask.
  const askLoops = followers.map(async (url) => {
    while (!done && !answers.has(url)) {
      try {
        const page = await options.transport.entries(url, MAX_SAFE_VERSION, 1);
        answers.set(url, page.position);
        delete errors[url];
      } catch (error) {
        // Not reachable yet (or refusing us): asked again after a pause.
        errors[url] = error instanceof Error ? error.message : String(error);
        options.onAskFailed?.(url, errors[url]);
        await sleep();
      }
    }
  });
  try {
    for (;;) {
      const byProcess = new Map<string, string>();
      for (const [url, position] of answers) {
        const other = byProcess.get(position.followerId);
        if (other !== undefined) throw new DuplicateFollowerError(other, url);
        byProcess.set(position.followerId, url);
      }
      report();
      const now = clock.now();
      if (answers.size === followers.length) return new Map(answers);
      if (answers.size >= required) {
        enoughAt ??= now;
        if (now - enoughAt >= graceMs) return new Map(answers);
      }
      await sleep();
    }
  } finally {
    done = true;
    void Promise.all(askLoops);
  }
}

/**
 * Copies a follower's entries above `afterVersion` into `into` (newer wins), page by page,
 * each page bounded in bytes. The follower must not move meanwhile (no leader writes to it
 * during a recovery); if its position changes, the copy starts over, three times at most.
 */
async function pullState(transport: RecoveryTransport, from: Candidate, afterVersion: number, pageBytes: number, into: VersionedStore): Promise<VersionedStore> {
  for (let attempt = 1; ; attempt++) {
    const target = new VersionedStore();
    let cursor = afterVersion;
    let first: ReplicateResponse | null = null;
    let moved = false;
    for (;;) {
      const page = await transport.entries(from.source, cursor, pageBytes);
      first ??= page.position;
      if (page.position.appliedVersion !== first.appliedVersion || page.position.leaderEpoch !== first.leaderEpoch) {
        moved = true;
        break;
      }
      for (const entry of page.entries) target.apply(toStoreEntry(entry));
      if (page.next === null) break;
      cursor = page.next;
    }
    if (!moved) {
      for (const entry of target.entriesByVersion()) into.apply(entry);
      return into;
    }
    if (attempt >= 3) throw new Error(`${from.source} kept changing while its state was copied`);
  }
}

