/**
 * Test helpers: a virtual clock and an in-memory cluster whose network can delay, reorder,
 * fail, pause and restart followers. Deterministic for a given seed.
 */
import { VersionedStore, type JsonValue, type LiveEntry } from '@kv/store';
import { MAX_SAFE_VERSION, ReplicateRequest, entryWireBytes, type EntriesPage, type ReplicateResponse, type ReplicatedEntry } from '@kv/protocol';
import type { SetTimer } from '@kv/quorum';
import type { Clock } from './clock';
import { FollowerReplica, type FollowerRetention } from './follower-replica';
import { TombstoneRetention } from './tombstone-retention';
import { ReplicationLeader, type WriteTicket } from './replication-leader';
import type { ReplicatorOptions } from './replicator';
import { recoverFromFollowers, type RecoveryResult, type RecoveryTransport } from './recovery';
import type { Lineage } from './sync-plan';

interface VirtualTimer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** Lets every pending promise callback run. */
export const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  now = (): number => this.time;

  setTimer: SetTimer = (callback, delayMs) => {
    const timer: VirtualTimer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  };

  /** Runs every timer due within `ms`, in time order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.reduce<VirtualTimer | undefined>(
        (best, t) => (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq) ? t : best),
        undefined,
      );
      if (!next || next.at > end) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.time = next.at;
      next.callback();
      await flushMicrotasks();
    }
    this.time = end;
  }
}

/** Mulberry32: a small seeded generator, so a failing scenario replays exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fault = 'none' | 'down' | 'paused';

interface SimulatedFollower {
  readonly url: string;
  store: VersionedStore;
  replica: FollowerReplica;
  fault: Fault;
  /** Requests that fail with HTTP 500 before reaching the replica. */
  failNext: number;
  /** Requests held while paused; applied on resume, though their senders may have timed out. */
  held: Array<() => void>;
  incarnation: number;
}

export interface SimulatedClusterOptions {
  readonly followers?: number;
  readonly seed?: number;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** One-way wire time added to every request, on top of the simulated delay. */
  readonly wireMs?: number;
  readonly requestTimeoutMs?: number;
  readonly replicationTimeoutMs?: number;
  readonly replication?: Partial<ReplicatorOptions>;
  /** Keep tombstones this long on the leader and every follower (API.md: 60 s); absent: no retention. */
  readonly tombstoneRetentionMs?: number;
}

/** A leader and followers wired through an in-memory network on a virtual clock. */
export class SimulatedCluster {
  readonly clock = new VirtualClock();
  /** The leader process now: `restartLeader` replaces it. */
  leader: ReplicationLeader;
  readonly followers: SimulatedFollower[];
  /** Every replication request, for assertions about batching and retries. */
  readonly sent: Array<{ follower: string; request: ReplicateRequest }> = [];
  private readonly random: () => number;
  private readonly wireMs: number;
  private readonly requestTimeoutMs: number;
  private readonly followerRetention: () => FollowerRetention | undefined;
  private readonly options: SimulatedClusterOptions;
  /** Leader processes killed: what they had on the wire is lost with them. */
  private readonly deadLeaders = new Set<ReplicationLeader>();
  private leaderStarts = 1;

  constructor(options: SimulatedClusterOptions = {}) {
    const retentionMs = options.tombstoneRetentionMs;
    this.followerRetention = () => (retentionMs === undefined ? undefined : { retention: new TombstoneRetention(retentionMs), now: this.clock.now });
    const count = options.followers ?? 5;
    this.random = seededRandom(options.seed ?? 1);
    this.wireMs = options.wireMs ?? 1;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.followers = Array.from({ length: count }, (_, i) => {
      const store = new VersionedStore();
      const url = `sim://f${i + 1}`;
      return { url, store, replica: new FollowerReplica(store, `${url}#1`, undefined, this.followerRetention()), fault: 'none', failNext: 0, held: [], incarnation: 1 };
    });
    this.options = options;
    this.leader = this.startLeader({ store: new VersionedStore(), epoch: 1 });
  }

  /**
   * kill -9 of the leader and a new leader process in its place, in memory: it recovers
   * from the followers with the real `recoverFromFollowers` (as apps/leader does), then
   * leads the recovered history. Requests the old process had sent and not yet delivered
   * are lost with it.
   */
  async restartLeader(writeQuorum = 3): Promise<RecoveryResult> {
    this.leader.stop();
    this.deadLeaders.add(this.leader);
    const recovery: RecoveryTransport = { entries: (url, after, maxBytes) => this.entries(url, after, maxBytes) };
    let outcome: { result: RecoveryResult } | { error: unknown } | undefined;
    recoverFromFollowers({ followers: this.followers.map((f) => f.url), writeQuorum, own: null, transport: recovery, clock: this.clock, graceMs: 0 }).then(
      (result) => (outcome = { result }),
      (error: unknown) => (outcome = { error }),
    );
    while (outcome === undefined) await this.clock.advance(5);
    if ('error' in outcome) throw outcome.error;
    const { result } = outcome;
    result.store.noteVersion(result.highestSeenVersion);
    this.leaderStarts++;
    this.leader = this.startLeader({ store: result.store, epoch: result.epoch, leaderId: `leader-${this.leaderStarts}`, lineage: result.lineage, reservedVersion: result.highestSeenVersion });
    return result;
  }

  private startLeader(start: { store: VersionedStore; epoch: number; leaderId?: string; lineage?: Lineage | null; reservedVersion?: number }): ReplicationLeader {
    const options = this.options;
    const retentionMs = options.tombstoneRetentionMs;
    const leader: ReplicationLeader = new ReplicationLeader({
      ...start,
      followers: this.followers.map((f) => f.url),
      replication: {
        minDelayMs: options.minDelayMs ?? 0,
        maxDelayMs: options.maxDelayMs ?? 0,
        random: this.random,
        ...options.replication,
      },
      replicationTimeoutMs: options.replicationTimeoutMs ?? 5000,
      transport: { send: (follower, request) => this.deliver(follower, request, () => this.deadLeaders.has(leader)) },
      clock: this.clock,
      ...(retentionMs === undefined ? {} : { tombstoneRetention: new TombstoneRetention(retentionMs) }),
    });
    return leader;
  }

  put(key: string, value: JsonValue, quorum = 0): WriteTicket {
    return this.leader.put(key, value, quorum);
  }

  remove(key: string, quorum = 0): WriteTicket | null {
    return this.leader.remove(key, quorum);
  }

  /** Connection refused until `heal`. */
  crash(i: number): void {
    this.followers[i].fault = 'down';
  }

  /** Like SIGSTOP: requests queue up unanswered and senders time out. */
  pause(i: number): void {
    this.followers[i].fault = 'paused';
  }

  /** Like SIGCONT: the held requests are processed now. */
  resume(i: number): void {
    const f = this.followers[i];
    f.fault = 'none';
    const held = f.held.splice(0);
    held.forEach((apply) => apply());
  }

  heal(i: number): void {
    this.followers[i].fault = 'none';
  }

  /** A new process with an empty memory at the same address. */
  restartEmpty(i: number): void {
    const f = this.followers[i];
    f.incarnation++;
    f.store = new VersionedStore();
    f.replica = new FollowerReplica(f.store, `${f.url}#${f.incarnation}`, undefined, this.followerRetention());
    f.fault = 'none';
  }

  failNextRequests(i: number, count: number): void {
    this.followers[i].failNext = count;
  }

  /** The live entries of a store in key order: what a full listing shows. */
  static listing(store: VersionedStore): LiveEntry[] {
    return store.list({ limit: Number.MAX_SAFE_INTEGER }).items;
  }

  /** Indexes of followers whose listing differs from the leader's. */
  divergent(): number[] {
    const expected = JSON.stringify(SimulatedCluster.listing(this.leader.store));
    return this.followers
      .map((f, i) => (JSON.stringify(SimulatedCluster.listing(f.store)) === expected ? -1 : i))
      .filter((i) => i >= 0);
  }

  /** What a follower answers a recovering leader (its POST /replicate/entries). */
  private async entries(url: string, afterVersion: number, maxBytes: number): Promise<EntriesPage> {
    const f = this.follower(url);
    await new Promise<void>((resolve) => this.clock.setTimer(resolve, this.wireMs));
    if (f.fault !== 'none') throw new Error(`connect ECONNREFUSED ${url}`);
    const page = f.store.page(afterVersion, MAX_SAFE_VERSION, { maxBytes, sizeOf: entryWireBytes });
    return { position: f.replica.position(), entries: page.entries as ReplicatedEntry[], next: page.coveredThrough < MAX_SAFE_VERSION ? page.coveredThrough : null };
  }

  private follower(url: string): SimulatedFollower {
    return this.followers.find((candidate) => candidate.url === url) as SimulatedFollower;
  }

  private deliver(url: string, request: ReplicateRequest, senderDead: () => boolean): Promise<ReplicateResponse> {
    const f = this.follower(url);
    this.sent.push({ follower: url, request });
    // Through JSON, as over HTTP: the follower sees a parsed, validated copy.
    const wire = JSON.parse(JSON.stringify(request)) as unknown;
    return new Promise((resolve, reject) => {
      let answered = false;
      const timeout = this.clock.setTimer(() => {
        if (answered) return;
        answered = true;
        reject(new Error(`timeout after ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      const answer = (outcome: () => ReplicateResponse) => {
        if (answered) {
          outcome();
          return;
        }
        answered = true;
        timeout.cancel();
        try {
          resolve(outcome());
        } catch (error) {
          reject(error);
        }
      };
      this.clock.setTimer(() => {
        const apply = () => answer(() => f.replica.receive(ReplicateRequest.parse(wire)).response);
        if (f.fault === 'down' || senderDead()) return answer(() => { throw new Error(`connect ECONNREFUSED ${url}`); });
        if (f.failNext > 0) {
          f.failNext--;
          return answer(() => { throw new Error('HTTP 500: injected failure'); });
        }
        if (f.fault === 'paused') return void f.held.push(apply);
        apply();
      }, this.wireMs);
    });
  }
}
