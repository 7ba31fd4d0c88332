import type { RequestListener } from 'node:http';
import request from 'supertest';
import { ReplicateResponse } from '@kv/protocol';
import { ReplicationLeader, type ReplicationTransport } from '@kv/replication';
import { testLeader } from './test-leader';

const UP = ['http://f1.test', 'http://f2.test'];
const DOWN = 'http://f3.test';

/** f1 and f2 answer at once; f3 refuses everything, as a follower with another token would. */
const transport: ReplicationTransport = {
  async send(follower, req) {
    if (follower === DOWN) throw new Error('HTTP 401: wrong x-cluster-token');
    const applied = req.catchUp ? req.catchUp.through : Math.max(0, ...req.entries.map((e) => e.version));
    return Object.assign(new ReplicateResponse(), { followerId: follower, leaderEpoch: req.leaderEpoch, appliedVersion: applied });
  },
};

describe('leader metrics', () => {
  let leader: ReplicationLeader;
  afterEach(() => leader.stop());

  it('has write latency by op, quorum and outcome, replication requests and failures, lag and state per follower, keys and version', async () => {
    let app: RequestListener;
    ({ app, leader } = testLeader({ followers: [...UP, DOWN], transport, writeQuorum: 2, replicationTimeoutMs: 1000 }));

    expect((await request(app).put('/kv/a').send({ value: 1 })).status).toBe(200);
    expect((await request(app).put('/kv/b?w=0').send({ value: 2 })).status).toBe(200);
    expect((await request(app).delete('/kv/a?w=1')).status).toBe(200);
    expect((await request(app).put('/kv/c?w=3').send({ value: 3 })).status).toBe(503);

    const text = (await request(app).get('/metrics')).text;
    const line = (pattern: string) => expect(text).toMatch(new RegExp(`^${pattern}$`, 'm'));
    line('kv_write_duration_seconds_count\\{op="put",quorum="2",outcome="ok"\\} 1');
    line('kv_write_duration_seconds_count\\{op="put",quorum="0",outcome="ok"\\} 1');
    line('kv_write_duration_seconds_count\\{op="delete",quorum="1",outcome="ok"\\} 1');
    line('kv_write_duration_seconds_count\\{op="put",quorum="3",outcome="QUORUM_NOT_REACHED"\\} 1');
    line('kv_write_duration_seconds_bucket\\{le="0.005",op="put",quorum="2",outcome="ok"\\} \\d+');
    for (const follower of UP) {
      line(`kv_replication_requests_total\\{follower="${follower}",kind="append"\\} [1-9]\\d*`);
      line(`kv_replicated_entries_total\\{follower="${follower}"\\} 4`);
      line(`kv_follower_lag\\{follower="${follower}"\\} 0`);
      line(`kv_follower_up\\{follower="${follower}"\\} 1`);
    }
    line(`kv_replication_failures_total\\{follower="${DOWN}",kind="(heartbeat|append)"\\} [1-9]\\d*`);
    expect(text).not.toMatch(new RegExp(`kv_replication_requests_total\\{follower="${DOWN}"`));
    line(`kv_follower_lag\\{follower="${DOWN}"\\} 4`);
    line(`kv_follower_up\\{follower="${DOWN}"\\} 0`);
    line('kv_keys 2');
    line('kv_version 4');
    line('kv_http_requests_total\\{method="PUT",route="/kv/:key",status="503"\\} 1');
  });
});
