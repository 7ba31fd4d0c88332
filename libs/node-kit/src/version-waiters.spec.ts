import type { SetTimer } from '@kv/quorum';
import { VersionWaiters } from './version-waiters';

/** Timers run by hand: `fire(ms)` runs those due within `ms`. */
function manualTimers(): { setTimer: SetTimer; fire(ms: number): void; pending(): number } {
  let now = 0;
  let timers: Array<{ at: number; callback: () => void; cancelled: boolean }> = [];
  return {
    setTimer: (callback, delayMs) => {
      const timer = { at: now + delayMs, callback, cancelled: false };
      timers.push(timer);
      return { cancel: () => (timer.cancelled = true) };
    },
    fire(ms) {
      now += ms;
      const due = timers.filter((t) => !t.cancelled && t.at <= now);
      timers = timers.filter((t) => !t.cancelled && t.at > now);
      due.forEach((t) => t.callback());
    },
    pending: () => timers.filter((t) => !t.cancelled).length,
  };
}

const settled = async <T>(promise: Promise<T>): Promise<T | 'pending'> => Promise.race([promise, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

describe('VersionWaiters', () => {
  it('wakes exactly the waiters whose version is reached, and cancels their timers', async () => {
    const timers = manualTimers();
    const waiters = new VersionWaiters(timers.setTimer);
    const five = waiters.waitFor(5, 1000);
    const sevenA = waiters.waitFor(7, 1000);
    const sevenB = waiters.waitFor(7, 1000);
    const nine = waiters.waitFor(9, 1000);
    expect(waiters.size).toBe(4);
    waiters.advance(7);
    expect(await settled(five)).toBe(true);
    expect(await settled(sevenA)).toBe(true);
    expect(await settled(sevenB)).toBe(true);
    expect(await settled(nine)).toBe('pending');
    expect(waiters.size).toBe(1);
    expect(timers.pending()).toBe(1);
  });

  it('answers false at the timeout and forgets the waiter', async () => {
    const timers = manualTimers();
    const waiters = new VersionWaiters(timers.setTimer);
    const late = waiters.waitFor(3, 100);
    timers.fire(99);
    expect(await settled(late)).toBe('pending');
    timers.fire(1);
    expect(await settled(late)).toBe(false);
    expect(waiters.size).toBe(0);
    waiters.advance(10); // nothing left to wake, nothing thrown
  });

  it('answers false at once for timeout 0, without a timer', async () => {
    const timers = manualTimers();
    const waiters = new VersionWaiters(timers.setTimer);
    expect(await waiters.waitFor(1, 0)).toBe(false);
    expect(timers.pending()).toBe(0);
  });

  it('keeps waiting when the applied version drops (a follower in a full resync)', async () => {
    const timers = manualTimers();
    const waiters = new VersionWaiters(timers.setTimer);
    const waiting = waiters.waitFor(50, 1000);
    waiters.advance(40);
    waiters.advance(0);
    expect(await settled(waiting)).toBe('pending');
    waiters.advance(50);
    expect(await settled(waiting)).toBe(true);
  });

  it('wakes a thousand waiters in version order with one advance each', async () => {
    const waiters = new VersionWaiters(manualTimers().setTimer);
    const woken: number[] = [];
    const all = Array.from({ length: 1000 }, (_, i) => waiters.waitFor(1000 - i, 1000).then(() => woken.push(1000 - i)));
    for (let v = 1; v <= 1000; v++) waiters.advance(v);
    await Promise.all(all);
    expect(woken).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });
});
