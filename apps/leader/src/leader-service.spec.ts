import { LeaderService } from './leader-service';
import { testLeader } from './test-leader';

describe('LeaderService while it recovers (API.md guarantee 7, Probes)', () => {
  it('is not ready and says how far the recovery is; a request waits, then answers UNAVAILABLE naming it', async () => {
    const service = new LeaderService(5, 30);
    service.reportProgress({ followers: 5, answered: 2, required: 3, phase: 'asking', errors: { 'http://f3': 'ECONNREFUSED' } });
    expect(service.state).toBe('recovering');
    expect(service.readiness(3)).toEqual({ ready: false, reason: 'recovering: heard from 2 of 5 followers, needs 3 before it takes a write (http://f3: ECONNREFUSED)' });
    const started = Date.now();
    await expect(service.whenServing()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/heard from 2 of 5/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(service.followerStatus(['http://f1', 'http://f3']).map((f) => [f.state, f.lastError])).toEqual([
      ['catching-up', null],
      ['down', 'ECONNREFUSED'],
    ]);
  });

  it('shows the recovery only while it runs: once the leader serves, /status has no stale progress', () => {
    const service = new LeaderService(5, 30);
    service.reportProgress({ followers: 5, answered: 5, required: 3, phase: 'asking', errors: {} });
    expect(service.recovery).toMatchObject({ answered: 5, phase: 'asking' });
    const { leader } = testLeader({ followers: [], transport: { send: () => new Promise(() => undefined) }, writeQuorum: 0 });
    service.serve(leader);
    expect(service.state).toBe('serving');
    expect(service.recovery).toBeNull();
    leader.stop();
  });
});
