import { SetTimer, realTimer } from '@kv/quorum';

/** Time, injected so that retry, heartbeat and timeout logic runs on a virtual clock in tests. */
export interface Clock {
  now(): number;
  readonly setTimer: SetTimer;
}

export const systemClock: Clock = { now: () => performance.now(), setTimer: realTimer };
