import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { VersionedStore } from '@kv/store';
import {
  ReplicationLeader,
  recoverFromFollowers,
  systemClock,
  TombstoneRetention,
  type Clock,
  type LeaderMeta,
  type OwnState,
  type RecoveryResult,
} from '@kv/replication';
import { FileJournal } from '@kv/persistence';
import { ConfigError, WatchHub, createRegistry, type LeaderConfig, type Logger } from '@kv/node-kit';
import type { RequestListener } from 'node:http';
import { createHttpTransport } from './http-transport';
import { createLeaderApp } from './app';
import { leaderMetrics } from './leader-metrics';
import { LeaderService } from './leader-service';

/** How long one replication request may go unanswered before it counts as failed. */
export const REPLICATION_REQUEST_TIMEOUT_MS = 2000;

/** Records of a recovered state written to the journal at a time, so no record nears its size limit. */
const RECOVERY_JOURNAL_CHUNK = 1000;

export interface LeaderNode {
  readonly app: RequestListener;
  readonly service: LeaderService;
  /** Settles once the leader serves (or its recovery failed for good). */
  readonly ready: Promise<ReplicationLeader>;
  /** Starts the recovery (once the server listens, so a port in use fails before anyone is asked). */
  start(): void;
  /** Ends every watch stream (on SIGTERM, before the server waits for its requests). */
  closeWatchers(): void;
  close(): Promise<void>;
}

export interface LeaderNodeOptions {
  readonly clock?: Clock;
  readonly defaultMetrics?: boolean;
  /** The node can no longer keep its promises (its disk failed, FOLLOWERS names one follower twice): main exits. */
  readonly onFatal?: (error: unknown) => void;
}

/**
 * FOLLOWERS naming one address twice under two names (`127.0.0.1` and `localhost`): refused
 * at start when the names resolve to the same address and port (API.md guarantee 6). Two
 * names that only meet behind a proxy are caught later, by the identity followers report.
 */
export async function duplicateFollowers(followers: readonly string[]): Promise<[string, string] | null> {
  const seen = new Map<string, string>();
  for (const url of followers) {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const address = await lookup(host).then((a) => a.address, () => host);
    const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
    const key = `${parsed.protocol}//${address}:${port}`;
    const other = seen.get(key);
    if (other !== undefined) return [other, url];
    seen.set(key, url);
  }
  return null;
}

/**
 * Wires store, journal, recovery, replication, transport, metrics and routes into one leader.
 * The app answers at once; the leader serves once it recovered the newest state from its
 * own DATA_DIR and its followers (API.md guarantee 7). Throws ConfigError for a FOLLOWERS
 * list naming one follower twice.
 */
export async function createLeaderNode(config: LeaderConfig, logger: Logger, options: LeaderNodeOptions = {}): Promise<LeaderNode> {
  const duplicate = await duplicateFollowers(config.followers);
  if (duplicate) throw new ConfigError([`FOLLOWERS names one follower twice: ${duplicate[0]} and ${duplicate[1]} reach the same address`]);

  // With DATA_DIR the store is the journal's own: the journal snapshots the object it
  // opened, so the leader must write to that very object (a copy would be snapshotted empty).
  const opened = config.dataDir ? await FileJournal.open<LeaderMeta>(config.dataDir, { fsync: config.fsync, warn: (m) => logger.warn(m) }) : null;
  const store = opened?.store ?? new VersionedStore();
  const journal: FileJournal<LeaderMeta> | undefined = opened?.journal;
  let own: OwnState | null = null;
  // An unfinished recovery's state is not ours, but the versions it reserved still may not
  // be given again: its reservation covered everything assigned before it.
  let interruptedReservation = 0;
  if (opened) {
    const meta = opened.meta;
    if (meta && !meta.recovering) {
      store.noteTombstoneHorizon(meta.droppedThrough ?? 0);
      own = { history: { epoch: meta.epoch, leaderId: meta.leaderId ?? '' }, store, reservedVersion: meta.reservedVersion };
    } else if (meta) {
      interruptedReservation = meta.reservedVersion;
    }
    logger.info(
      own
        ? `data directory ${config.dataDir}: restored ${store.keyCount} keys of epoch ${meta?.epoch}, versions reserved through ${meta?.reservedVersion} (fsync ${config.fsync})`
        : `data directory ${config.dataDir}: ${meta ? 'an unfinished recovery, not used' : 'new'} (fsync ${config.fsync})`,
    );
  }
  const clock = options.clock ?? systemClock;
  const registry = createRegistry({ defaultMetrics: options.defaultMetrics ?? false });
  const transport = createHttpTransport({
    clusterToken: config.clusterToken,
    requestTimeoutMs: REPLICATION_REQUEST_TIMEOUT_MS,
    logger,
    stream: config.replicationStream === 'on',
  });
  const service = new LeaderService(config.followers.length, config.replicationTimeoutMs);
  const metrics = leaderMetrics(registry, () => service.leader);
  const watchHub = new WatchHub({ store, registry });
  const app = createLeaderApp({
    watchHub,
    service,
    store,
    writeQuorum: config.writeQuorum,
    minFollowersToWrite: config.minFollowersToWrite,
    clusterToken: config.clusterToken,
    logger,
    registry,
    metrics,
    followerUrls: config.followers,
  });
  let closed = false;

  const recover = async (): Promise<ReplicationLeader> => {
    const result = await recoverFromFollowers({
      followers: config.followers,
      writeQuorum: config.writeQuorum,
      own,
      interruptedReservation,
      transport,
      clock,
      onProgress: (progress) => service.reportProgress(progress),
      onAskFailed: (follower) => metrics.recoveryAskFailed(follower),
    });
    logRecovery(logger, result, config.followers.length);
    const leaderId = randomBytes(8).toString('hex');
    // Nothing up to here may be assigned again; the journal reserves blocks above it as writes come.
    const reservedVersion = result.highestSeenVersion;
    if (result.store !== store) {
      // The newest state is a follower's: it replaces ours, on disk too, before we lead.
      store.replaceWith(result.store);
      if (journal) await persistRecoveredState(journal, store, { epoch: result.epoch, leaderId, reservedVersion });
    }
    store.noteVersion(reservedVersion);
    const leader = new ReplicationLeader({
      store,
      epoch: result.epoch,
      leaderId,
      lineage: result.lineage,
      reservedVersion,
      journal,
      onJournalFailure: (error) => {
        logger.fatal({ err: error }, 'cannot write to the data directory; stopping so that nothing unsaved is acknowledged');
        options.onFatal?.(error);
      },
      followers: config.followers,
      replication: { minDelayMs: config.minDelayMs, maxDelayMs: config.maxDelayMs },
      replicationTimeoutMs: config.replicationTimeoutMs,
      inSyncMaxLagMs: config.minFollowersMaxLagMs,
      // Deletes of the last 60 s stay tellable to watchers (API.md, "Watch").
      tombstoneRetention: new TombstoneRetention(config.tombstoneRetentionMs),
      transport,
      clock,
      observer: {
        ...metrics.observer,
        stateChanged(follower, from, to, lastError) {
          const line = `follower ${follower} ${from} -> ${to}${lastError ? ` (${lastError})` : ''}`;
          if (to === 'down') logger.warn({ follower, state: to }, line);
          else logger.info({ follower, state: to }, line);
        },
        syncStarted(follower, plan, through) {
          metrics.observer.syncStarted?.(follower, plan, through);
          if (plan.kind === 'resync') logger.info({ follower, through }, `full resync of ${follower} started: the whole state through version ${through} (${plan.reason})`);
        },
        syncFinished(follower, plan, through) {
          if (plan.kind === 'resync') logger.info({ follower, through }, `full resync of ${follower} finished: it holds exactly the leader's state through version ${through}`);
        },
        fenced(reason) {
          logger.error({ reason }, `standing down: ${reason}. Writes answer 503 until this leader is restarted`);
        },
      },
    });
    // The new epoch and reservation are durable before any follower hears of them.
    await leader.persistMeta();
    return leader;
  };

  let started = false;
  let settle: { resolve(leader: ReplicationLeader): void; reject(error: unknown): void } | undefined;
  const ready = new Promise<ReplicationLeader>((resolve, reject) => (settle = { resolve, reject }));
  const run = async (): Promise<ReplicationLeader> => {
    for (;;) {
      try {
        const leader = await recover();
        if (closed) leader.stop();
        service.serve(leader);
        logger.info(`leading epoch ${leader.epoch} from version ${leader.version}: serving reads and writes`);
        return leader;
      } catch (error) {
        if ((error as { name?: unknown }).name === 'DuplicateFollowerError') {
          logger.fatal(`cannot start: ${(error as Error).message}`);
          options.onFatal?.(error);
          throw error;
        }
        logger.warn({ err: error }, `recovery failed, starting over: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (closed) throw error;
      }
    }
  };
  ready.catch(() => undefined);

  return {
    app,
    service,
    ready,
    closeWatchers: () => watchHub.closeAll(),
    start() {
      if (started) return;
      started = true;
      run().then(settle?.resolve, settle?.reject);
    },
    async close() {
      closed = true;
      service.leader?.stop();
      transport.close();
      await journal?.close();
    },
  };
}

/** One line saying what was recovered from where, and what may be missing. */
function logRecovery(logger: Logger, result: RecoveryResult, followers: number): void {
  const fields = { base: result.base, epoch: result.epoch, heard: result.heard, unheard: result.unheard, stragglers: result.stragglers };
  logger.info(
    fields,
    `recovered from ${result.base}: ${result.store.keyCount} keys, versions continue above ${result.highestSeenVersion}; heard from ${result.heard.length} of ${followers} followers`,
  );
  if (result.unheard.length > 0) {
    logger.warn(
      fields,
      `not heard from during recovery: ${result.unheard.join(', ')}. Writes acknowledged by fewer followers than WRITE_QUORUM that only they hold are not recovered; they get a full resync when they return`,
    );
  }
}

/**
 * Writes a recovered state to the journal: first a record that empties the store and marks
 * the directory as recovering (a crash now leaves nothing a restart would take as its own),
 * then the entries in chunks, then the meta of the new history.
 */
async function persistRecoveredState(journal: FileJournal<LeaderMeta>, store: VersionedStore, meta: Omit<LeaderMeta, 'recovering'>): Promise<void> {
  const recovering: LeaderMeta = { ...meta, recovering: true, droppedThrough: store.tombstoneHorizon };
  await journal.commit({ clear: true, meta: recovering });
  let chunk = [];
  for (const entry of store.freeze().entriesByVersion()) {
    chunk.push(entry);
    if (chunk.length === RECOVERY_JOURNAL_CHUNK) {
      await journal.commit({ apply: chunk, meta: recovering });
      chunk = [];
    }
  }
  if (chunk.length > 0) await journal.commit({ apply: chunk, meta: recovering });
}
