export { Replicator } from './replicator';
export type {
  AckListener,
  FollowerPosition,
  MessageKind,
  OutgoingMessage,
  ReplicationSource,
  ReplicatorOptions,
} from './replicator';
export { ReplicationLeader } from './replication-leader';
export type { ReplicationLeaderOptions, ReplicationObserver, WriteTicket } from './replication-leader';
export { FollowerReplica } from './follower-replica';
export { VersionCoverage } from './version-coverage';
export { StaleLeaderError } from './errors';
export { systemClock } from './clock';
export type { Clock } from './clock';
export type { ReplicationTransport } from './transport';
