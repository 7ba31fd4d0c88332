import fc from 'fast-check';
import { InSyncTracker } from './in-sync';
import { SimulatedCluster } from './testing';

const followers = ['f1', 'f2', 'f3'];

describe('InSyncTracker', () => {
  it('counts no follower before its first answer', () => {
    const tracker = new InSyncTracker({ maxLagMs: 1000, followers }, 0, 0);
    expect(tracker.inSync(0)).toBe(0);
    expect(tracker.inSync(5000)).toBe(0);
  });

  it('counts a follower that answered within the window, and drops it once its last answer is older', () => {
    const tracker = new InSyncTracker({ maxLagMs: 1000, followers }, 0, 0);
    tracker.answered('f1', 0, 100);
    tracker.answered('f2', 0, 500);
    expect(tracker.inSync(1100)).toBe(2);
    expect(tracker.inSync(1101)).toBe(1);
    expect(tracker.inSync(1501)).toBe(0);
  });

  it('requires every write older than the window, not the newer ones', () => {
    const tracker = new InSyncTracker({ maxLagMs: 1000, followers }, 0, 0);
    tracker.wrote(1, 0);
    tracker.wrote(2, 600);
    // f1 holds 1 but not 2, and keeps answering (heartbeats).
    for (let t = 0; t <= 2000; t += 250) tracker.answered('f1', 1, t);
    expect(tracker.requiredAt(1000)).toBe(0);
    expect(tracker.inSync(1000)).toBe(1);
    expect(tracker.requiredAt(1001)).toBe(1);
    expect(tracker.inSync(1500)).toBe(1);
    // Version 2 is now older than the window: f1 lacks it.
    expect(tracker.requiredAt(1601)).toBe(2);
    expect(tracker.inSync(1750)).toBe(0);
    tracker.answered('f1', 2, 1800);
    expect(tracker.inSync(1800)).toBe(1);
  });

  it('counts the versions restored at start as written at start', () => {
    const tracker = new InSyncTracker({ maxLagMs: 100, followers }, 50, 7);
    tracker.answered('f1', 0, 200);
    tracker.answered('f2', 7, 200);
    expect(tracker.inSync(200)).toBe(1);
  });

  it('ignores followers it does not know', () => {
    const tracker = new InSyncTracker({ maxLagMs: 100, followers }, 0, 0);
    tracker.answered('elsewhere', 0, 10);
    expect(tracker.inSync(10)).toBe(0);
  });

  it('refuses a window that is not positive', () => {
    expect(() => new InSyncTracker({ maxLagMs: 0, followers }, 0, 0)).toThrow(RangeError);
  });

  it('keeps about 100 buckets however many writes come, and is never stricter than the exact rule', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 500 }),
        (steps, maxLagMs) => {
          const tracker = new InSyncTracker({ maxLagMs, followers: ['f'] }, 0, 0);
          const writes: Array<{ at: number; version: number }> = [];
          let now = 0;
          let version = 0;
          for (const [gap, write] of steps) {
            now += gap;
            if (write === 1) {
              version++;
              writes.push({ at: now, version });
              tracker.wrote(version, now);
            }
            expect(tracker.bucketCount).toBeLessThanOrEqual(101);
            const exact = Math.max(0, ...writes.filter((w) => w.at < now - maxLagMs).map((w) => w.version));
            // Lenient by at most one bucket (1% of the window, at least 1 ms).
            const resolution = Math.max(1, maxLagMs / 100);
            const lenient = Math.max(0, ...writes.filter((w) => w.at < now - maxLagMs - resolution).map((w) => w.version));
            const required = tracker.requiredAt(now);
            expect(required).toBeLessThanOrEqual(exact);
            expect(required).toBeGreaterThanOrEqual(lenient);
          }
        },
      ),
    );
  });
});

describe('ReplicationLeader.inSyncCount', () => {
  it('keeps idle followers in sync by heartbeats, drops paused ones, and takes them back after they resume', async () => {
    const cluster = new SimulatedCluster({ followers: 5 });
    expect(cluster.leader.inSyncCount()).toBe(0);
    await cluster.clock.advance(1000);
    expect(cluster.leader.inSyncCount()).toBe(5);
    cluster.put('k', 1, 0);
    await cluster.clock.advance(30_000);
    expect(cluster.leader.inSyncCount()).toBe(5);

    for (const i of [0, 1, 2]) cluster.pause(i);
    cluster.put('k', 2, 0);
    // Their last answers are younger than the window for a while, then too old.
    await cluster.clock.advance(5000);
    expect(cluster.leader.inSyncCount()).toBe(5);
    await cluster.clock.advance(6000);
    expect(cluster.leader.inSyncCount()).toBe(2);

    for (const i of [0, 1, 2]) cluster.resume(i);
    await cluster.clock.advance(3000);
    expect(cluster.leader.inSyncCount()).toBe(5);
    cluster.leader.stop();
  });
});
