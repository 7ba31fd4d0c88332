/**
 * Test helpers (a second entry, `@kv/node-kit/testing`, never bundled into a service):
 * fast-check generators of hostile HTTP requests and the checks every answer must pass.
 * Both apps' fuzz specs share them, so both face the same inputs.
 */
import { gzipSync } from 'node:zlib';
import type { Server } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { CLUSTER_TOKEN_HEADER, MAX_KEY_BYTES, REQUEST_ID_HEADER } from '@kv/protocol';
import { ERROR_STATUS, type ErrorCode } from './errors';
import { createLogger, type Logger } from './logger';
import type { LogLevel } from './config';

export interface RawRequest {
  readonly method: string;
  /** Path and query, sent as is: percent-encodings may be broken on purpose. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

export interface RawAnswer {
  readonly status: number;
  readonly type: string;
  readonly text: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Runs per fuzz property: a few seconds in CI; `FUZZ_RUNS=100000` for a long hunt. */
export function fuzzRuns(ciRuns: number): number {
  const asked = Number(process.env['FUZZ_RUNS']);
  return Number.isInteger(asked) && asked > 0 ? asked : ciRuns;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'SEARCH', 'LOCK', 'PURGE'];

const percentEncodeBytes = (bytes: Uint8Array) => Array.from(bytes, (b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');

/** Keys and key-like segments: valid, too long, invalid UTF-8, broken escapes, prototype names. */
export const keySegment: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).map(encodeURIComponent),
  fc.string({ minLength: 1, maxLength: 8 }).map(encodeURIComponent),
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map(percentEncodeBytes),
  fc.integer({ min: MAX_KEY_BYTES - 2, max: MAX_KEY_BYTES + 300 }).map((n) => 'k'.repeat(n)),
  fc.integer({ min: 80, max: 120 }).map((n) => '%C3%A9'.repeat(n)),
  fc.constantFrom('%', '%G1', '%E0%A4%A', '%ED%A0%80', '%FF', '%C0%AF', '%00', '%2F', '%2e%2e', '.', '..', '%20', '%25', 'a%2Fb'),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '__defineGetter__', 'valueOf'),
  fc.constantFrom('a', 'b', 'c', 'key', 'k1'),
);

/** A few known keys come back often, so refused requests meet existing data. */
const pathArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: keySegment.map((key) => `/kv/${key}`) },
  { weight: 1, arbitrary: fc.constantFrom('/kv', '/kv/', '/kv//', '/KV/a', '/kv/a/b', '//kv/a', '/kv/a/', '/kv/%2F/x') },
  { weight: 2, arbitrary: fc.constantFrom('/replicate', '/replicate/', '/REPLICATE', '/status', '/health', '/metrics') },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.string({ maxLength: 6 }).map(encodeURIComponent), fc.constantFrom('%', '..', '%ZZ', 'index.html')), { minLength: 1, maxLength: 4 })
      .map((segments) => `/${segments.join('/')}`),
  },
);

const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.nat({ max: 12 }).map(String),
  fc.constantFrom('', '-1', '1e3', '1.5', '0x10', ' 3', '3 ', '9'.repeat(30), 'NaN', 'Infinity', '%', '%ZZ', '%00', 'true', '[]', '{}', '01'),
  fc.constantFrom(String(Number.MAX_SAFE_INTEGER), String(Number.MAX_SAFE_INTEGER + 1), '9'.repeat(16)),
  fc.string({ maxLength: 10 }).map(encodeURIComponent),
);

const queryName: fc.Arbitrary<string> = fc.constantFrom(
  'w', 'limit', 'prefix', 'after', 'ifVersion', 'ifVersion', 'w[]', 'limit[]', 'w[a]', 'prefix[0]', 'after[x][y]', 'ifVersion[]', 'ifversion', 'foo', '__proto__', 'constructor', '', '%',
);

/** Query strings with repeated, bracketed, unknown and malformed parameters. */
const queryArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(queryName, fc.option(queryValue, { nil: undefined })), { minLength: 1, maxLength: 4 })
      .map((pairs) => `?${pairs.map(([name, value]) => (value === undefined ? name : `${name}=${value}`)).join('&')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=1', '?w=1&w=2', '?limit=1&limit=2', `?w=${'1'.repeat(5000)}`) },
);

const headerText = fc.string({ maxLength: 30, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });

/** Preconditions of a conditional write (API.md): an ETag, `*`, and near misses of both. */
const ifMatchText: fc.Arbitrary<string> = fc.oneof(
  fc.nat({ max: 12 }).map((n) => `"${n}"`),
  fc.constantFrom('*', '', '1', 'W/"1"', '"1", "2"', '"-1"', '"01"', '"1.5"', `"${Number.MAX_SAFE_INTEGER + 1}"`, '"', '* ', '"1"*'),
  headerText,
);
const ifNoneMatchText: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('*', '*', '', '"1"', 'W/"1"', '**'), headerText);

function headersArbitrary(clusterToken: string | null): fc.Arbitrary<Record<string, string>> {
  const tokens = clusterToken === null ? ['wrong', ''] : [clusterToken, clusterToken, `${clusterToken}x`, clusterToken.slice(1), 'wrong', ''];
  return fc.record(
    {
      'content-type': fc.oneof(
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/json; charset=latin1',
          'application/json; charset=utf-16',
          'application/json; charset=nope',
          'text/plain',
          'text/html',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/octet-stream',
          '',
          ';;;',
        ),
        headerText,
      ),
      'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'GZIP', 'x-unknown', 'gzip, gzip'),
      [CLUSTER_TOKEN_HEADER]: fc.oneof(fc.constantFrom(...tokens), headerText),
      [REQUEST_ID_HEADER]: fc.oneof(fc.constantFrom('req-1', 'a b', 'x'.repeat(300), ''), headerText),
      accept: fc.constantFrom('text/html', 'application/json', '*/*', 'application/xml'),
      'if-match': ifMatchText,
      'if-none-match': ifNoneMatchText,
    },
    { requiredKeys: [] },
  );
}

/** Arrays (or objects) nested `depth` deep, as JSON text: no recursion needed to build it. */
export function nestedJson(depth: number, kind: 'array' | 'object' = 'array', inner = '1'): string {
  return kind === 'array' ? '['.repeat(depth) + inner + ']'.repeat(depth) : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(500, 513, 1_000, 5_000, 100_000), fc.constantFrom<'array' | 'object'>('array', 'object'))
  .map(([depth, kind]) => nestedJson(depth, kind));

/** Built once: generating megabytes per run would make the fuzz test slow, not more thorough. */
const HUGE_STRING = 'x'.repeat(2_000_000);

/** Any JSON text, sometimes with keys that mean something to JavaScript objects. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'value', 'toString', 'hasOwnProperty'), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1 })
    .map((record) => `{${Object.entries(record).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`),
);

/** Bodies of `PUT /kv/:key` and their near misses. */
export const clientBodyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify({ value })) },
  { weight: 2, arbitrary: jsonText },
  { weight: 1, arbitrary: jsonText.map((v) => `{"value":1,"__proto__":${v}}`) },
  { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"value":1}}', '{"constructor":{"value":1}}', '{"value":1,"constructor":{"prototype":{"x":1}}}') },
  { weight: 1, arbitrary: jsonText.map((v) => `{"value":{"__proto__":${v}}}`) },
  { weight: 2, arbitrary: deepJson.map((deep) => `{"value":${deep}}`) },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.constantFrom(`{"value":"${HUGE_STRING}"}`, `{"value":"${HUGE_STRING.slice(0, 1_048_600)}"}`, '{"value":1e400}', '{"value":-0}') },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ value: v }).slice(0, -1)) },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '"v"', '1', 'true', '[]', '{}', '{"value":}', '{"value":1,"value":2}', '\uFEFF{"value":1}') },
);

const versionNumber = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e300, Number.MAX_SAFE_INTEGER));
const epochNumber = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 2.5, 1e300, Number.MAX_SAFE_INTEGER + 2) },
);

const replicatedEntry: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      key: fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor', 'é'),
      version: fc.integer({ min: 1, max: 40 }),
      deleted: fc.boolean(),
      value: fc.jsonValue({ maxDepth: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        key: fc.oneof(fc.string({ maxLength: 4 }), fc.constant('k'.repeat(300)), fc.integer(), fc.constant(null)),
        version: fc.oneof(versionNumber, fc.constant('1')),
        deleted: fc.oneof(fc.boolean(), fc.constant('false'), fc.constant(0)),
        value: fc.jsonValue({ maxDepth: 2 }),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant([[[[]]]])) },
);

/** Replication messages: mostly well formed (so some apply), often subtly wrong. */
const replicationMessage: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record(
        {
          leaderEpoch: epochNumber,
          entries: fc.array(replicatedEntry, { maxLength: 6 }),
          catchUp: fc.oneof(
            fc.record({ from: fc.integer({ min: 0, max: 40 }), through: fc.integer({ min: 0, max: 45 }) }),
            fc.record({ from: versionNumber, through: versionNumber }),
            fc.jsonValue({ maxDepth: 1 }),
          ),
          extra: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: ['leaderEpoch', 'entries'] },
      )
      .map((message) => JSON.stringify(message)),
  },
  { weight: 1, arbitrary: deepJson.map((deep) => `{"leaderEpoch":1,"entries":[${deep}]}`) },
  { weight: 1, arbitrary: deepJson.map((deep) => `{"leaderEpoch":1,"entries":[{"key":"a","version":7,"deleted":false,"value":${deep}}]}`) },
  { weight: 1, arbitrary: deepJson.map((deep) => `{"leaderEpoch":1,"entries":${deep}}`) },
  { weight: 1, arbitrary: deepJson.map((deep) => `{"leaderEpoch":1,"entries":[],"catchUp":${deep}}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"leaderEpoch":1,"entries":[]}}',
      '{"leaderEpoch":1,"entries":[{"__proto__":{"key":"a","version":1,"deleted":false,"value":1}}]}',
      '{"leaderEpoch":1,"entries":[],"catchUp":{"__proto__":{"from":0,"through":9}}}',
      '{"leaderEpoch":1,"entries":[],"constructor":{}}',
      `{"leaderEpoch":1,"entries":[${'1,'.repeat(20_000)}1]}`,
    ),
  },
);

/** Any body: client bodies, replication messages, broken text, random bytes, gzip. */
function bodyArbitrary(): fc.Arbitrary<Buffer | undefined> {
  const text = fc.oneof(clientBodyText, replicationMessage);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 8, arbitrary: text.map((t) => Buffer.from(t, 'utf8')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: text.map((t) => gzipSync(t)) },
    { weight: 1, arbitrary: text.map((t) => gzipSync(t).subarray(0, 12)) },
  );
}

/**
 * Random requests. `clusterToken` is the token the app under test expects (the generator
 * sends it, near misses of it, or nothing). Besides requests random in every part, most
 * are well-formed but for one part, so hostile bodies and parameters reach the routes
 * instead of being stopped at the door by a wrong method or encoding.
 */
export function hostileRequest(options: { clusterToken: string | null }): fc.Arbitrary<RawRequest> {
  const json = { 'content-type': 'application/json' };
  const token: Record<string, string> = options.clusterToken === null ? {} : { [CLUSTER_TOKEN_HEADER]: options.clusterToken };
  const anything = fc
    .record({
      method: fc.constantFrom(...METHODS),
      path: pathArbitrary,
      query: queryArbitrary,
      headers: headersArbitrary(options.clusterToken),
      body: bodyArbitrary(),
    })
    .map(({ method, path, query, headers, body }) => ({ method, url: path + query, headers, body }));
  const preconditions = fc.record({ 'if-match': ifMatchText, 'if-none-match': ifNoneMatchText }, { requiredKeys: [] });
  const write = fc
    .record({
      method: fc.constantFrom('PUT', 'PUT', 'DELETE'),
      key: keySegment,
      query: fc.oneof(queryArbitrary, fc.nat({ max: 12 }).map((n) => `?ifVersion=${n}`)),
      conditions: preconditions,
      body: clientBodyText,
      encoding: contentEncoding,
    })
    .map(({ method, key, query, conditions, body, encoding }) => ({ method, url: `/kv/${key}${query}`, ...encoded({ ...json, ...conditions }, body, encoding) }));
  const replicate = fc
    .record({
      body: replicationMessage,
      headers: fc.constantFrom<Record<string, string>>({ ...json, ...token }, { ...json, ...token }, json, { ...json, [CLUSTER_TOKEN_HEADER]: 'wrong' }),
      encoding: contentEncoding,
    })
    .map(({ body, headers, encoding }) => ({ method: 'POST', url: '/replicate', ...encoded(headers, body, encoding) }));
  const read = fc
    .tuple(fc.oneof(keySegment.map((key) => `/kv/${key}`), fc.constant('/kv')), queryArbitrary)
    .map(([path, query]) => ({ method: 'GET', url: path + query, headers: {}, body: undefined }));
  return fc
    .oneof({ weight: 3, arbitrary: anything }, { weight: 3, arbitrary: write }, { weight: 3, arbitrary: replicate }, { weight: 2, arbitrary: read })
    .map((raw) => Object.assign(raw, { [fc.toStringMethod]: () => describeRequest(raw) }));
}

/** A counterexample short enough to read: bodies of megabytes are cut. */
export function describeRequest(raw: RawRequest): string {
  const body = raw.body === undefined ? '' : ` body(${raw.body.length} bytes)=${JSON.stringify(raw.body.subarray(0, 160).toString('latin1'))}`;
  return `${raw.method} ${raw.url.length > 200 ? `${raw.url.slice(0, 200)}...(${raw.url.length})` : raw.url} ${JSON.stringify(raw.headers)}${body}`;
}

type Encoding = 'identity' | 'gzip' | 'truncated-gzip' | 'not-gzip';
const contentEncoding = fc.constantFrom<Encoding>('identity', 'identity', 'identity', 'gzip', 'truncated-gzip', 'not-gzip');

/** The body as sent with `encoding`: compressed, cut short, or plain text that claims to be gzip. */
function encoded(headers: Record<string, string>, text: string, encoding: Encoding): { headers: Record<string, string>; body: Buffer } {
  if (encoding === 'identity') return { headers, body: Buffer.from(text, 'utf8') };
  const body = encoding === 'gzip' ? gzipSync(text) : encoding === 'truncated-gzip' ? gzipSync(text).subarray(0, 12) : Buffer.from(text, 'utf8');
  return { headers: { ...headers, 'content-encoding': 'gzip' }, body };
}

/** Sends `raw` byte for byte (supertest would re-serialize a Buffer sent as JSON). */
export async function sendRaw(server: Server, raw: RawRequest): Promise<RawAnswer> {
  let test = new request.Test(server, raw.method, raw.url);
  for (const [name, value] of Object.entries(raw.headers)) test = test.set(name, value);
  if (raw.body !== undefined) test = test.serialize((body: unknown) => body as string).send(raw.body);
  const res = await test.buffer(true).parse((response, callback) => {
    // Keep the text exactly as sent, whatever the content type says.
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => callback(null, Buffer.concat(chunks).toString('utf8')));
  });
  // HEAD answers have no body, so the parser above never runs for them.
  const text = typeof res.body === 'string' ? res.body : '';
  return { status: res.status, type: res.type, text, headers: res.headers as RawAnswer['headers'] };
}

/** A code must be one of ours, match the status, and fit the request it answers. */
function codeProblems(raw: RawRequest, status: number, code: unknown): string[] {
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_STATUS, code)) return [`unknown error code ${JSON.stringify(code)}`];
  if (ERROR_STATUS[code as ErrorCode] !== status) return [`code ${code} answered with status ${status}`];
  const path = raw.url.split('?')[0].toLowerCase();
  if ((code === 'INVALID_KEY' || code === 'KEY_NOT_FOUND' || code === 'VERSION_MISMATCH') && !path.startsWith('/kv/')) return [`${code} for ${path}`];
  if (code === 'VERSION_MISMATCH' && raw.method !== 'PUT' && raw.method !== 'DELETE') return [`${code} for ${raw.method}`];
  if (code === 'UNAUTHORIZED' && !path.startsWith('/replicate')) return [`${code} for ${path}`];
  return [];
}

const STACK_FRAME = /\n\s+at \S|\bat .+\.(js|ts):\d+:\d+/;

/**
 * What is wrong with an answer, by the contract: never 5xx; an error is JSON with an
 * `error` string, never HTML or a stack trace; every other answer is JSON too, except the
 * Prometheus text of `/metrics` and Express' automatic `OPTIONS` answer.
 */
export function answerProblems(raw: RawRequest, answer: RawAnswer): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`status ${answer.status}`);
  if (/<html|<!doctype|<body|<pre>/i.test(answer.text)) problems.push('HTML in the answer');
  if (STACK_FRAME.test(answer.text)) problems.push('stack trace in the answer');
  if (answer.headers[REQUEST_ID_HEADER] === undefined) problems.push('no x-request-id in the answer');
  if (answer.status === 304) {
    // HTTP's conditional GET (Express' `req.fresh`): `If-None-Match` naming the ETag of
    // `GET /kv/:key`, or `*`, answers 304 without a body. Nothing else may.
    const conditionalGet = (raw.method === 'GET' || raw.method === 'HEAD') && Object.keys(raw.headers).some((h) => h.toLowerCase() === 'if-none-match');
    if (!conditionalGet) problems.push(`304 for ${raw.method} without If-None-Match`);
    if (answer.text !== '') problems.push('304 with a body');
    return problems;
  }
  const plainText = raw.method === 'OPTIONS' || (answer.status < 400 && /^\/metrics(\?|$)/i.test(raw.url));
  if (!plainText && answer.type !== 'application/json') problems.push(`content type ${JSON.stringify(answer.type)}`);
  if (answer.status >= 400 && raw.method !== 'HEAD') {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      problems.push('error body is not JSON');
    }
    const { error, code } = (body ?? {}) as { error?: unknown; code?: unknown };
    if (body !== undefined && typeof error !== 'string') problems.push('error body has no "error" string');
    if (body !== undefined) problems.push(...codeProblems(raw, answer.status, code));
  }
  return problems;
}

/** One parsed pino line. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A logger whose lines land, parsed, in `lines` (pino accepts any object with `write`). */
export function captureLogs(logLevel: LogLevel = 'debug', nodeName = 'test'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ nodeName, logLevel }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}
