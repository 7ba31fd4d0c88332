export { KvClient } from './kv-client';
export type { KvClientOptions, ReadOptions, WriteOptions, ListOptions, ReadResult, NodeStatus, Readiness } from './kv-client';
export type { WatchEvent, WatchOptions } from './watch';
export {
  KvClientError,
  KeyNotFoundError,
  QuorumNotReachedError,
  VersionMismatchError,
  NotLeaderError,
  NotCaughtUpError,
  NotEnoughFollowersError,
  HistoryCompactedError,
  InvalidRequestError,
  UnreachableError,
  RequestTimeoutError,
  errorFromAnswer,
} from './errors';
export type { ClientSideCode } from './errors';
export { parseEndpoints, normalizeEndpoint } from './endpoints';
export { boundedTimerMs } from './transport';
export { SseParser } from './sse';
export type { SseMessage } from './sse';
