import { createServer, type RequestListener, type Server } from 'node:http';
import fc from 'fast-check';
import pino from 'pino';
import type { Entry } from '@kv/store';
import type { ReplicationLeader } from '@kv/replication';
import { answerClientErrorsWithJson } from '@kv/node-kit';
import { answerProblems, fuzzRuns, hostileRequest, sendRaw } from '@kv/node-kit/testing';
import { replicaTransport, testLeader } from './test-leader';

interface Snapshot {
  readonly version: number;
  readonly keys: number;
  /** The entry objects themselves: a refused request must not even replace one with an equal copy. */
  readonly entries: readonly Entry[];
}

const snapshot = (leader: ReplicationLeader): Snapshot => ({
  version: leader.version,
  keys: leader.store.keyCount,
  entries: [...leader.store.entriesByVersion()],
});

function unchanged(before: Snapshot, after: Snapshot): boolean {
  return (
    before.version === after.version &&
    before.keys === after.keys &&
    before.entries.length === after.entries.length &&
    before.entries.every((entry, i) => entry === after.entries[i])
  );
}

const silent = pino({ level: 'silent' });

describe('leader under hostile input', () => {
  const urls = ['http://f1.test', 'http://f2.test', 'http://f3.test'];
  let leader: ReplicationLeader;
  let server: Server;

  beforeAll(async () => {
    let app: RequestListener;
    ({ app, leader } = testLeader({ followers: urls, transport: replicaTransport(urls), writeQuorum: 2, logger: silent }));
    server = await new Promise<Server>((resolve) => {
      const listening = createServer(app).listen(0, '127.0.0.1', () => resolve(listening));
    });
    // As serve() does in production: malformed HTTP gets a JSON answer too.
    answerClientErrorsWithJson(server, silent);
  });

  afterAll(async () => {
    leader.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  it('never answers 5xx, HTML or a stack trace, and a refused request changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest({ clusterToken: null }), async (raw) => {
        const before = snapshot(leader);
        const answer = await sendRaw(server, raw);
        const problems = answerProblems(raw, answer);
        if (answer.status >= 400 && !unchanged(before, snapshot(leader))) problems.push(`refused with ${answer.status} but the store changed`);
        if (problems.length > 0) throw new Error(`${problems.join('; ')}: answered ${answer.status} ${answer.text.slice(0, 300)}`);
      }),
      { numRuns: fuzzRuns(800) },
    );
    // Seconds on an idle machine; the default 5 s is too tight on two shared cores.
  }, 60_000);
});
