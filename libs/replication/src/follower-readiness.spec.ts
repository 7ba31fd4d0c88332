import { FollowerReadiness } from './follower-readiness';

describe('FollowerReadiness (API.md, Probes: a follower)', () => {
  it('is not ready before it hears from a leader', () => {
    expect(new FollowerReadiness(1000).check(0, false)).toEqual({ ready: false, reason: 'has not heard from a leader since it started' });
  });

  it('is ready once caught up with what the leader had, and stays so within the lag window', () => {
    const r = new FollowerReadiness(1000);
    r.heard(100, 7, 7);
    expect(r.check(150, false)).toEqual({ ready: true });
    r.heard(600, 7, 12); // behind now, but caught up 500 ms ago
    expect(r.check(700, false)).toEqual({ ready: true });
    expect(r.check(1200, false)).toMatchObject({ ready: false, reason: 'catching up: 5 versions behind its leader' });
  });

  it('is not ready while catching up after a restart, nor while a full resync runs, nor when its leader went quiet', () => {
    const r = new FollowerReadiness(1000);
    r.heard(0, 0, 50_000);
    expect(r.check(10, false)).toMatchObject({ ready: false, reason: 'catching up: 50000 versions behind its leader' });
    r.heard(20, 50_000, 50_000);
    expect(r.check(30, true)).toMatchObject({ ready: false, reason: expect.stringMatching(/full resync/) });
    expect(r.check(30, false)).toEqual({ ready: true });
    expect(r.check(1100, false)).toMatchObject({ ready: false, reason: 'has not heard from its leader for 1080 ms' });
  });
});
