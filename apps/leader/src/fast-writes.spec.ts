import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import pino from 'pino';
import { captureLogs, describeRequest, fuzzRuns, hostileRequest, sendRaw, type RawAnswer, type RawRequest } from '@kv/node-kit/testing';
import type { Registry } from 'prom-client';
import type { ReplicationLeader } from '@kv/replication';
import { everydayWrite, parseStrictJson, type FastWritesDeps } from './fast-writes';
import { replicaTransport, testLeader } from './test-leader';

const silent = pino({ level: 'silent' });

interface Side {
  readonly server: Server;
  readonly leader: ReplicationLeader;
  readonly registry: Registry;
}

function listen(rawWrites: boolean): Promise<Side> {
  const urls = ['http://f1.test', 'http://f2.test', 'http://f3.test'];
  const { app, leader, registry } = testLeader({ followers: urls, transport: replicaTransport(urls), writeQuorum: 2, logger: silent, rawWrites });
  return new Promise((resolve) => {
    const server = createServer(app).listen(0, '127.0.0.1', () => resolve({ server, leader, registry }));
  });
}

/** Every request counted so far, by method, route and status (the same for both paths, or a metric differs). */
async function requestsCounted(side: Side): Promise<unknown[]> {
  const samples = (await side.registry.getSingleMetric('kv_http_requests_total')?.get())?.values ?? [];
  return samples.map(({ labels, value }) => ({ ...labels, value })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/**
 * A Prometheus exposition with every duration histogram's bucket counts and sum masked: how
 * long a write or request took differs between the two sides (and between any two runs, more
 * so on a loaded machine), while the series, their labels and their `_count` must agree.
 */
function withoutDurations(text: string): string {
  return text.replace(/^(\w+_seconds_(?:bucket|sum))(\{[^}]*\})? \S+$/gm, '$1$2 <duration>');
}

/** What a client can tell apart: status, type, body, and the headers the API names; durations in /metrics masked. */
function visible(answer: RawAnswer, request: RawRequest) {
  const header = (name: string) => answer.headers[name];
  const givenId = request.headers['x-request-id'];
  const exposition = /^text\/plain; version=0\.0\.4/.test(String(header('content-type')));
  return {
    status: answer.status,
    type: answer.type,
    text: exposition ? withoutDurations(answer.text) : answer.text,
    contentType: header('content-type'),
    // An exposition's length follows the durations' digits.
    contentLength: exposition ? 'exposition' : header('content-length'),
    allow: header('allow'),
    // A fresh id is random on each side; a given sane one must come back on both.
    requestId: givenId !== undefined && /^[\w.:-]{1,128}$/.test(givenId) ? header('x-request-id') : typeof header('x-request-id'),
  };
}

const contentTypes = fc.constantFrom<string | undefined>(undefined, 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON; charset=UTF-8', 'application/json;charset=utf-8', 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded');

/** Writes in the everyday form and near it: the requests the raw path takes, and its edges. */
const everydayWrites: fc.Arbitrary<RawRequest> = fc
  .record({
    method: fc.constantFrom('PUT', 'PUT', 'PUT', 'DELETE'),
    key: fc.constantFrom('a', 'b', 'k%2Fslash', '%E2%82%AC', '%ZZ', 'a/', 'A', `${'k'.repeat(300)}`),
    query: fc.constantFrom('', '?w=0', '?w=1', '?w=3', '?w=4', '?w=01', '?w=1&w=2', '?ifVersion=0', '?ifVersion=1', '?w=2&ifVersion=2', '?x=1', '?'),
    type: contentTypes,
    body: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify({ value })),
      fc.constantFrom('', ' ', '1', ' "v"', '\uFEFF{"value":1}', '{"value":1', '[1]', '{}', 'nul', '\t\n{"value":2}', '{"value":1}x'),
    ),
    ifMatch: fc.constantFrom<string | undefined>(undefined, undefined, '"1"', '*', 'bad'),
    requestId: fc.constantFrom<string | undefined>(undefined, 'req-1', 'bad id!'),
  })
  .map(({ method, key, query, type, body, ifMatch, requestId }) => {
    const headers: Record<string, string> = {};
    if (type !== undefined) headers['content-type'] = type;
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    return { method, url: `/kv/${key}${query}`, headers, body: method === 'DELETE' ? undefined : Buffer.from(body, 'utf8') };
  })
  .map((raw) => Object.assign(raw, { [fc.toStringMethod]: () => describeRequest(raw) }));

describe('the raw write path (fast-writes.ts) answers exactly as Express does', () => {
  let raw: Side;
  let viaExpress: Side;

  beforeAll(async () => {
    raw = await listen(true);
    viaExpress = await listen(false);
  });
  afterAll(async () => {
    for (const side of [raw, viaExpress]) {
      side.leader.stop();
      await new Promise((resolve) => side.server.close(resolve));
    }
  });

  it('every request, everyday or hostile, gets the same answer from both and leaves both stores alike', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(everydayWrites, hostileRequest({ clusterToken: null })), { minLength: 1, maxLength: 6 }), async (requests) => {
        // In lockstep, so both leaders go through the same states and assign the same versions.
        for (const request of requests) {
          const fast = await sendRaw(raw.server, request);
          const slow = await sendRaw(viaExpress.server, request);
          expect(visible(fast, request)).toEqual(visible(slow, request));
        }
        expect(raw.leader.version).toBe(viaExpress.leader.version);
        expect([...raw.leader.store.entriesByVersion()]).toEqual([...viaExpress.leader.store.entriesByVersion()]);
        expect(await requestsCounted(raw)).toEqual(await requestsCounted(viaExpress));
      }),
      { numRuns: fuzzRuns(60) },
    );
  });
});

describe('a client that goes away mid-body, over a real socket', () => {
  /** Sends the head and part of a PUT's body, then resets the connection; resolves with the warn lines logged and the requests counted. */
  async function abortMidBody(rawWrites: boolean): Promise<{ warnings: unknown[]; counted: unknown[] }> {
    const urls = ['http://f1.test'];
    const { logger, lines } = captureLogs('info');
    const { app, leader, registry } = testLeader({ followers: urls, transport: replicaTransport(urls), writeQuorum: 1, logger, rawWrites });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Reset only once the leader is reading the body (its handler ran), whatever the load.
    const reading = new Promise<void>((resolve) => server.once('request', () => setImmediate(resolve)));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-Id: gone-1\r\nContent-Length: 20\r\n\r\n{"value"');
    await reading;
    socket.destroy();
    // The abort reaches the leader as an event of its own: wait for its log line (bounded).
    for (let waited = 0; waited < 2000 && !lines.some((line) => line.msg === 'request aborted'); waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    leader.stop();
    await new Promise((resolve) => server.close(resolve));
    expect(leader.version).toBe(0);
    const counted = (await registry.getSingleMetric('kv_http_requests_total')?.get())?.values ?? [];
    return {
      warnings: lines.filter((line) => line.level >= 40).map(({ msg, code, status, requestId, method, url }) => ({ msg, code, status, requestId, method, url })),
      counted: counted.filter((sample) => sample.value > 0).map((sample) => sample.labels),
    };
  }

  it('applies nothing, logs the same line and counts the same on both paths (body-parser\'s "request aborted", never answered)', async () => {
    const viaExpress = await abortMidBody(false);
    expect(viaExpress.warnings).toEqual([{ msg: 'request aborted', code: 'INVALID_BODY', status: 400, requestId: 'gone-1', method: 'PUT', url: '/kv/a' }]);
    expect(await abortMidBody(true)).toEqual(viaExpress);
  });
});

describe('which writes take the raw path', () => {
  const deps = (state: 'serving' | 'recovering' = 'serving', level = 'info'): FastWritesDeps =>
    ({ service: { state }, logger: pino({ level }) }) as unknown as FastWritesDeps;
  const request = (method: string, url: string, headers: Record<string, string> = {}) => ({ method, url, headers }) as unknown as IncomingMessage;
  const json = { 'content-type': 'application/json', 'content-length': '13' };

  it('takes a PUT with a JSON or untyped body and a DELETE without one, decoding the key', () => {
    expect(everydayWrite(request('PUT', '/kv/a?w=1', json), deps())).toEqual({ key: 'a', queryString: 'w=1' });
    expect(everydayWrite(request('PUT', '/kv/%E2%82%AC', { 'content-length': '13' }), deps())).toEqual({ key: '€', queryString: '' });
    expect(everydayWrite(request('PUT', '/kv/a', { ...json, 'content-type': 'Application/JSON; charset=UTF-8' }), deps())).not.toBeNull();
    expect(everydayWrite(request('DELETE', '/kv/a?ifVersion=3'), deps())).toEqual({ key: 'a', queryString: 'ifVersion=3' });
  });

  it('leaves to Express anything else: other methods and paths, bodies it would decode differently, a leader not serving, debug logging', () => {
    const express = [
      request('GET', '/kv/a'),
      request('POST', '/kv/a', json),
      request('PUT', '/kv/', json),
      request('PUT', '/kv/a/', json),
      request('PUT', '/kv/a/b', json),
      request('PUT', '/KV/a', json),
      request('PUT', '/kv/%ZZ', json),
      request('PUT', '/kv/a#x', json),
      request('PUT', 'http://host/kv/a', json),
      request('PUT', '/kv/a', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
      request('PUT', '/kv/a', { ...json, 'content-encoding': 'gzip' }),
      request('PUT', '/kv/a', { ...json, 'content-type': 'text/plain' }),
      request('PUT', '/kv/a', { ...json, 'content-type': 'application/json; charset=latin1' }),
      request('PUT', '/kv/a', { 'content-type': 'application/json', 'content-length': '0' }),
      request('PUT', '/kv/a', { 'content-type': 'application/json', 'content-length': '99999999999' }),
      request('PUT', '/kv/a', { 'content-type': 'application/json' }),
      request('DELETE', '/kv/a', { 'content-length': '5' }),
    ];
    for (const r of express) expect([r.method, r.url, everydayWrite(r, deps())]).toEqual([r.method, r.url, null]);
    expect(everydayWrite(request('PUT', '/kv/a', json), deps('recovering'))).toBeNull();
    expect(everydayWrite(request('PUT', '/kv/a', json), deps('serving', 'debug'))).toBeNull();
  });
});

describe('parseStrictJson, as body-parser json({ strict: true }) parses', () => {
  it('reads objects and arrays, an empty body as {}, and drops a byte-order mark', () => {
    expect(parseStrictJson('{"value":1}')).toEqual({ value: 1 });
    expect(parseStrictJson(' \n[1]')).toEqual([1]);
    expect(parseStrictJson('')).toEqual({});
    expect(parseStrictJson('\uFEFF{"value":2}')).toEqual({ value: 2 });
  });

  it('refuses a scalar with JSON.parse\'s message about its first character', () => {
    expect(() => parseStrictJson('1')).toThrow(SyntaxError);
    expect(() => parseStrictJson('  "v"')).toThrow(/"v"|position 2/);
    expect(() => parseStrictJson('   ')).toThrow(/end of JSON input/);
  });
});
