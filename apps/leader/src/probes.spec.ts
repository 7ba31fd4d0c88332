import request from 'supertest';
import { ReplicateResponse, type ReplicateRequest } from '@kv/protocol';
import type { ReplicationTransport } from '@kv/replication';
import { testLeader } from './test-leader';

/** Followers that answer, except those in `down`. */
function followers(count: number) {
  const down = new Set<string>();
  const urls = Array.from({ length: count }, (_, i) => `http://f${i + 1}.test`);
  const transport: ReplicationTransport = {
    async send(follower: string, req: ReplicateRequest) {
      if (down.has(follower)) throw new Error('connect ECONNREFUSED');
      const applied = req.catchUp ? req.catchUp.through : Math.max(0, req.leaderVersion ?? 0);
      return Object.assign(new ReplicateResponse(), { followerId: follower, leaderEpoch: req.leaderEpoch, appliedVersion: applied });
    },
  };
  return { urls, down, transport };
}

const until = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met in 3 s');
};

describe('leader probes (API.md, Probes)', () => {
  it('/livez answers 200 while the process serves', async () => {
    const f = followers(3);
    const { app, leader } = testLeader({ followers: f.urls, transport: f.transport, writeQuorum: 2 });
    try {
      expect((await request(app).get('/livez')).body).toEqual({ status: 'ok' });
    } finally {
      leader.stop();
    }
  });

  it('/readyz is 200 with WRITE_QUORUM followers up, 503 naming why with fewer', async () => {
    const f = followers(3);
    f.down.add(f.urls[1]);
    f.down.add(f.urls[2]);
    const { app, leader } = testLeader({ followers: f.urls, transport: f.transport, writeQuorum: 2 });
    try {
      await until(async () => (await request(app).get('/readyz')).status === 503 && leader.followerCounts.up === 1);
      const notReady = await request(app).get('/readyz');
      expect(notReady.body).toEqual({ status: 'not-ready', reason: '1 followers up, fewer than the write quorum 2', followersUp: 1, writeQuorum: 2 });
      f.down.clear();
      await until(async () => (await request(app).get('/readyz')).status === 200);
      expect((await request(app).get('/readyz')).body).toMatchObject({ status: 'ready', writeQuorum: 2 });
    } finally {
      leader.stop();
    }
  });
});
