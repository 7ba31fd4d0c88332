import request from 'supertest';
import { VersionedStore } from '@kv/store';
import { FollowerReplica } from '@kv/replication';
import { createRegistry, type LogLevel } from '@kv/node-kit';
import { captureLogs } from '@kv/node-kit/testing';
import { createFollowerApp } from './app';

function setup(level: LogLevel) {
  const store = new VersionedStore();
  const replica = new FollowerReplica(store, 'f1');
  const { logger, lines } = captureLogs(level, 'f1');
  const app = createFollowerApp({ store, replica, leaderUrl: null, clusterToken: 'tok', logger, registry: createRegistry({ defaultMetrics: false }) });
  const replicate = (body: object, requestId?: string, token = 'tok') => {
    const req = request(app).post('/replicate').set('x-cluster-token', token);
    return (requestId === undefined ? req : req.set('x-request-id', requestId)).send(body);
  };
  return { app, lines, replicate };
}

const put = (key: string, version: number) => ({ key, version, deleted: false, value: version });

describe('follower logs', () => {
  it("logs each replication request at debug under the leader's id, with the versions carried and applied", async () => {
    const { lines, replicate } = setup('debug');
    await replicate({ leaderEpoch: 3, entries: [put('a', 2), put('b', 3)] }, 'rep-0a1b2c3d-7');
    // Version 1 of `a` arrives late: carried, not applied (a newer write holds the key).
    await replicate({ leaderEpoch: 3, entries: [put('a', 1), put('c', 4)] }, 'rep-0a1b2c3d-8');
    const replicated = lines.filter((l) => l.msg === 'replicated');
    expect(replicated).toEqual([
      expect.objectContaining({ level: 20, node: 'f1', requestId: 'rep-0a1b2c3d-7', kind: 'append', versions: '2-3', applied: '2-3', appliedVersion: 0 }),
      expect.objectContaining({ requestId: 'rep-0a1b2c3d-8', versions: '1,4', applied: '4', appliedVersion: 4 }),
    ]);
    // And node-kit's one line per request, under the same id.
    expect(lines.filter((l) => l.msg === 'request' && l.requestId === 'rep-0a1b2c3d-7')).toHaveLength(1);
  });

  it('describes a catch-up batch by its range', async () => {
    const { lines, replicate } = setup('debug');
    await replicate({ leaderEpoch: 3, entries: [put('a', 5)], catchUp: { from: 0, through: 9 } }, 'rep-x-1');
    // A batch applies its entries; the range is claimed by the catch-up's closing `done`.
    expect(lines.find((l) => l.msg === 'replicated')).toMatchObject({ kind: 'catch-up', catchUp: '(0, 9]', versions: '5', appliedVersion: 0 });
    await replicate({ leaderEpoch: 3, entries: [], catchUp: { from: 0, through: 9, done: true } }, 'rep-x-2');
    expect(lines.filter((l) => l.msg === 'replicated')[1]).toMatchObject({ kind: 'catch-up', catchUp: '(0, 9]', appliedVersion: 9 });
  });

  it('logs heartbeats at trace only, and nothing per request above debug', async () => {
    const debug = setup('debug');
    await debug.replicate({ leaderEpoch: 3, entries: [] }, 'rep-x-2');
    expect(debug.lines.filter((l) => l.msg === 'replicated')).toEqual([]);
    const trace = setup('trace');
    await trace.replicate({ leaderEpoch: 3, entries: [] }, 'rep-x-3');
    expect(trace.lines.find((l) => l.msg === 'replicated')).toMatchObject({ level: 10, kind: 'heartbeat' });
    const info = setup('info');
    await info.replicate({ leaderEpoch: 3, entries: [put('a', 1)] }, 'rep-x-4');
    expect(info.lines.filter((l) => l.level < 30)).toEqual([]);
  });

  it('logs a refused request at warn with its id and code', async () => {
    const { lines, replicate } = setup('info');
    await replicate({ leaderEpoch: 3, entries: [] }, 'rep-forged-1', 'guess');
    expect(lines).toEqual([expect.objectContaining({ level: 40, requestId: 'rep-forged-1', code: 'UNAUTHORIZED', status: 401, msg: 'wrong x-cluster-token' })]);
  });
});

describe('follower metrics', () => {
  it('exposes applied version, keys, and replication requests by outcome', async () => {
    const { app, replicate } = setup('silent');
    await replicate({ leaderEpoch: 3, entries: [put('a', 1), put('b', 2), { key: 'a', version: 3, deleted: true }] });
    await replicate({ leaderEpoch: 3, entries: [] }, undefined, 'guess');
    await replicate({ leaderEpoch: 3, entries: [], catchUp: { from: 5, through: 1 } });
    await replicate({ leaderEpoch: 2, entries: [] });
    const metrics = await request(app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toBe('text/plain');
    expect(metrics.text).toMatch(/^kv_applied_version 3$/m);
    expect(metrics.text).toMatch(/^kv_keys 1$/m);
    expect(metrics.text).toMatch(/^kv_replicated_entries_applied_total 3$/m);
    for (const outcome of ['ok', 'unauthorized', 'invalid', 'stale']) {
      expect(metrics.text).toMatch(new RegExp(`^kv_replication_requests_received_total\\{outcome="${outcome}"\\} 1$`, 'm'));
    }
    expect(metrics.text).toMatch(/^kv_http_requests_total\{method="POST",route="\/replicate",status="401"\} 1$/m);
  });

  it('counts a request it could not make durable as unavailable, and does not ack it', async () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f1');
    const failures: unknown[] = [];
    const app = createFollowerApp({
      store,
      replica,
      leaderUrl: null,
      clusterToken: null,
      logger: captureLogs('silent').logger,
      registry: createRegistry({ defaultMetrics: false }),
      journal: { commit: () => Promise.reject(new Error('disk full')) },
      onJournalFailure: (error) => failures.push(error),
    });
    const answer = await request(app).post('/replicate').send({ leaderEpoch: 3, entries: [put('a', 1)] });
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ code: 'UNAVAILABLE', error: expect.stringMatching(/cannot persist/) });
    expect(failures).toHaveLength(1);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/^kv_replication_requests_received_total\{outcome="unavailable"\} 1$/m);
    expect(metrics.text).toMatch(/^kv_replicated_entries_applied_total 0$/m);
  });
});
