export { Replicator } from './replicator';
export type {
  AckListener,
  SyncPlan,
  MessageKind,
  OutgoingMessage,
  ReplicationSource,
  ReplicatorOptions,
} from './replicator';
export { ReplicationLeader, VERSION_RESERVATION_BLOCK, DEFAULT_IN_SYNC_MAX_LAG_MS } from './replication-leader';
export type { LeaderJournal, LeaderMeta, ReplicationLeaderOptions, ReplicationObserver, WriteTicket } from './replication-leader';
export { FollowerReplica } from './follower-replica';
export type { FollowerMeta, ReceiveResult } from './follower-replica';
export { VersionCoverage } from './version-coverage';
export { StaleLeaderError, VersionMismatchError } from './errors';
export { InSyncTracker } from './in-sync';
export type { InSyncOptions } from './in-sync';
export { checkCondition } from './write-condition';
export type { WriteCondition } from './write-condition';
export { systemClock } from './clock';
export type { Clock } from './clock';
export type { ReplicationTransport } from './transport';
export { planFollowerSync, heldCoverage, highestHeld, sameHistory } from './sync-plan';
export type { History, Lineage, LeaderView } from './sync-plan';
export { recoverFromFollowers, requiredAnswers, chooseBase, DuplicateFollowerError, RECOVERY_GRACE_MS } from './recovery';
export type { RecoveryTransport, RecoveryResult, RecoveryProgress, OwnState } from './recovery';
export { FollowerReadiness } from './follower-readiness';
export type { Readiness } from './follower-readiness';
export { TombstoneRetention, TOMBSTONE_RETENTION_MS } from './tombstone-retention';
export type { FollowerRetention } from './follower-replica';
