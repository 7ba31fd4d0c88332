export { checkHistory } from './check';
export type { CheckResult } from './check';
export type { Anomaly, CheckName } from './anomaly';
export { checkRegister, shrinkCounterexample, pruneUnobservedInfo } from './linearizability';
