import { QuorumCounter, awaitQuorum } from './quorum-counter';
import { SetTimer } from './timers';

/** A hand-driven clock: timers fire only when the test calls `fire()`. */
function manualTimer() {
  const pending: Array<{ callback: () => void; delayMs: number; cancelled: boolean }> = [];
  const setTimer: SetTimer = (callback, delayMs) => {
    const timer = { callback, delayMs, cancelled: false };
    pending.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  };
  return { setTimer, pending, fire: () => pending.filter((t) => !t.cancelled).forEach((t) => t.callback()) };
}

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('QuorumCounter', () => {
  it('settles reached as soon as enough voters ack, and cancels its deadline', async () => {
    const clock = manualTimer();
    const counter = new QuorumCounter({ needed: 2, voters: 5, timeoutMs: 1000, setTimer: clock.setTimer });
    counter.ack('a');
    expect(counter.isSettled).toBe(false);
    counter.ack('a');
    expect(counter.isSettled).toBe(false);
    counter.ack('b');
    await expect(counter.result).resolves.toEqual({ outcome: 'reached', acks: 2, failures: 0 });
    expect(clock.pending[0].cancelled).toBe(true);
  });

  it('settles impossible as soon as too many voters failed', async () => {
    const clock = manualTimer();
    const counter = new QuorumCounter({ needed: 3, voters: 5, timeoutMs: 1000, setTimer: clock.setTimer });
    counter.ack('a');
    counter.fail('b');
    counter.fail('c');
    expect(counter.isSettled).toBe(false);
    counter.fail('d');
    await expect(counter.result).resolves.toEqual({ outcome: 'impossible', acks: 1, failures: 3 });
  });

  it('lets a voter that failed and was retried ack', async () => {
    const counter = new QuorumCounter({ needed: 2, voters: 2, timeoutMs: 1000, setTimer: manualTimer().setTimer });
    counter.ack('a');
    counter.ack('b');
    counter.fail('b');
    await expect(counter.result).resolves.toMatchObject({ outcome: 'reached', acks: 2 });
  });

  it('settles timeout at the deadline with the acks counted so far', async () => {
    const clock = manualTimer();
    const counter = new QuorumCounter({ needed: 3, voters: 5, timeoutMs: 250, setTimer: clock.setTimer });
    counter.ack('a');
    expect(clock.pending[0].delayMs).toBe(250);
    clock.fire();
    counter.ack('b');
    await expect(counter.result).resolves.toEqual({ outcome: 'timeout', acks: 1, failures: 0 });
  });

  it('is reached immediately for a quorum of zero and sets no deadline', async () => {
    const clock = manualTimer();
    const counter = new QuorumCounter({ needed: 0, voters: 5, timeoutMs: 250, setTimer: clock.setTimer });
    await expect(counter.result).resolves.toEqual({ outcome: 'reached', acks: 0, failures: 0 });
    expect(clock.pending).toHaveLength(0);
  });
});

describe('awaitQuorum', () => {
  it('resolves once k of n promises succeed, without waiting for the rest', async () => {
    const attempts = [deferred(), deferred(), deferred()];
    const result = awaitQuorum(attempts.map((d) => d.promise), 2, 1000, manualTimer().setTimer);
    attempts[2].resolve();
    attempts[0].resolve();
    await expect(result).resolves.toEqual({ outcome: 'reached', acks: 2, failures: 0 });
  });

  it('resolves impossible once enough promises reject', async () => {
    const attempts = [deferred(), deferred(), deferred()];
    const result = awaitQuorum(attempts.map((d) => d.promise), 2, 1000, manualTimer().setTimer);
    attempts[0].reject(new Error('down'));
    attempts[1].reject(new Error('down'));
    await expect(result).resolves.toEqual({ outcome: 'impossible', acks: 0, failures: 2 });
  });

  it('resolves timeout at the deadline', async () => {
    const clock = manualTimer();
    const attempts = [deferred(), deferred()];
    const result = awaitQuorum(attempts.map((d) => d.promise), 2, 100, clock.setTimer);
    attempts[0].resolve();
    await Promise.resolve();
    clock.fire();
    await expect(result).resolves.toEqual({ outcome: 'timeout', acks: 1, failures: 0 });
  });
});
