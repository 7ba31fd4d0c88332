export { quorumOutcome } from './quorum';
export type { QuorumOutcome, QuorumTally } from './quorum';
export { QuorumCounter, awaitQuorum } from './quorum-counter';
export type { QuorumResult, QuorumCounterOptions } from './quorum-counter';
export { realTimer } from './timers';
export type { SetTimer } from './timers';
