import { makeSchedule } from './schedule';

const followers = ['f1', 'f2', 'f3', 'f4', 'f5'];

describe('makeSchedule', () => {
  it('replays the same schedule for the same seed, and another for another seed', () => {
    const options = { seed: 42, seconds: 60, followers, persistent: true, leaderWipe: false };
    expect(makeSchedule(options)).toEqual(makeSchedule(options));
    expect(makeSchedule(options)).not.toEqual(makeSchedule({ ...options, seed: 43 }));
    expect(makeSchedule(options).length).toBeGreaterThan(20);
  });

  it('never restarts the leader without its data unless asked to', () => {
    for (let seed = 0; seed < 50; seed++) {
      for (const persistent of [true, false]) {
        const leaderFaults = makeSchedule({ seed, seconds: 60, followers, persistent, leaderWipe: false }).filter((f) => f.target === 'leader');
        expect(leaderFaults.every((f) => f.kind === 'pause' || (persistent && f.kind === 'kill'))).toBe(true);
      }
    }
    const wiping = makeSchedule({ seed: 1, seconds: 300, followers, persistent: true, leaderWipe: true });
    expect(wiping.some((f) => f.target === 'leader' && f.kind === 'wipe')).toBe(true);
  });

  it('keeps at most two followers down at once and ends a second before the run', () => {
    const schedule = makeSchedule({ seed: 7, seconds: 120, followers, persistent: true, leaderWipe: false });
    const process = schedule.filter((f) => f.target !== 'leader' && !f.kind.endsWith('-link'));
    for (const f of process) {
      const overlapping = process.filter((g) => g.atMs <= f.atMs && g.atMs + g.durationMs + 1000 > f.atMs);
      expect(overlapping.length).toBeLessThanOrEqual(2);
    }
    expect(Math.max(...schedule.map((f) => f.atMs))).toBeLessThan(119_000);
  });
});
