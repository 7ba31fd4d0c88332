export * from './limits';
export { keyProblem } from './key';
export { PutValueRequest, WriteQuery, ListRequestQuery, IF_VERSION_PROBLEM } from './client-dtos';
export {
  ReplicatedEntry,
  CatchUpRange,
  ReplicateRequest,
  ReplicateResponse,
  EntriesRequest,
  MAX_REPORTED_RANGES,
  entryJson,
  entryWireBytes,
  parseEntriesPage,
  toReplicatedEntry,
  toStoreEntry,
} from './replication-dtos';
export type { EntriesPage } from './replication-dtos';
export { DtoValidationError, MAX_PROBLEMS_IN_MESSAGE, assertValid } from './validate';
export type { DtoProblem } from './validate';
export type * from './responses';
export const REPLICATION_PATH = '/replicate';
/** The same requests as frames of one long-lived request per leader connection (newline-delimited JSON). */
export const REPLICATION_STREAM_PATH = '/replicate/stream';
/** A follower's state in pages, for a leader recovering it. */
export const ENTRIES_PATH = '/replicate/entries';
export const CLUSTER_TOKEN_HEADER = 'x-cluster-token';
export const REQUEST_ID_HEADER = 'x-request-id';
