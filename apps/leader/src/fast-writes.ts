import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import querystring from 'node:querystring';
import type { Counter, Registry } from 'prom-client';
import { CLIENT_BODY_LIMIT_BYTES, REQUEST_ID_HEADER } from '@kv/protocol';
import { KvError, errorBody, logRefusal, requestIdOf, toKvError, type Logger } from '@kv/node-kit';
import type { LeaderService } from './leader-service';
import type { LeaderWrites, WriteRequest } from './leader-writes';

/** The route label Express gives these writes in `kv_http_requests_total`. */
const WRITE_ROUTE = '/kv/:key';
/** The JSON types body-parser would read as UTF-8 JSON; any other goes through Express. */
const PLAIN_JSON = new Set([undefined, 'application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);
/** JSON's whitespace (RFC 8259): what body-parser skips before the first character of a strict body. */
const JSON_WHITESPACE = new Set([' ', '\t', '\n', '\r']);

export interface FastWritesDeps {
  readonly writes: LeaderWrites;
  readonly service: LeaderService;
  readonly logger: Logger;
  /** Holds `kv_http_requests_total` (registered by httpMetrics); these writes are counted there too. */
  readonly registry: Registry;
}

/**
 * The leader's front door: `PUT` and `DELETE /kv/:key` in their everyday form go straight to
 * LeaderWrites on Node's HTTP server; every other request goes to `app` (Express).
 *
 * Why: on the 2-core benchmark machine Node's bare HTTP server answered PUTs 5x faster than
 * the same server behind Express and body-parser (autocannon, 64 connections, 2026-11-30), and
 * the client write path was the leader's largest cost (README, "Against etcd"). The everyday
 * form: the leader serving, debug logging off (its per-request line is Express'), the path
 * `/kv/<one segment>` that decodes, and for a PUT a `Content-Length` body of at most
 * CLIENT_BODY_LIMIT_BYTES, not compressed, typed as JSON or not typed; for a DELETE no body.
 * Everything is decided from the request line and headers, before a byte of body is read, so
 * any other request reaches Express untouched. What the writes answer, Express would answer
 * too: the same LeaderWrites, the same body parsing rules as body-parser's strict JSON, the
 * same error rendering (node-kit's toKvError / errorBody), the same `X-Request-Id`, log lines
 * and metrics. The leader's specs run through this door, and one compares it with Express
 * alone request by request.
 */
export function withFastWrites(app: RequestListener, deps: FastWritesDeps): RequestListener {
  const requests = deps.registry.getSingleMetric('kv_http_requests_total') as Counter<'method' | 'route' | 'status'> | undefined;
  if (!requests) throw new Error('withFastWrites: kv_http_requests_total is not registered (mount httpMetrics first)');

  const reply = (req: IncomingMessage, res: ServerResponse, requestId: string, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      [REQUEST_ID_HEADER]: requestId,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text, 'utf8'),
    });
    res.end(text);
    // Counted as answered once handed to the socket (Express' counter waits for `finish`; a
    // listener per response is measurable at thousands of writes per second).
    requests.inc({ method: req.method, route: WRITE_ROUTE, status: String(status) });
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, requestId: string, error: unknown) => {
    const kvError = toKvError(error);
    logRefusal(deps.logger, kvError, error, { requestId, method: req.method, url: req.url });
    reply(req, res, requestId, kvError.status, errorBody(kvError));
  };

  const write = async (req: IncomingMessage, res: ServerResponse, requestId: string, request: WriteRequest) => {
    try {
      const started = await deps.writes.start(request);
      const body = await started.answer;
      reply(req, res, requestId, 200, body);
    } catch (error) {
      refuse(req, res, requestId, error);
    }
  };

  return (req, res) => {
    const taken = everydayWrite(req, deps);
    if (taken === null) return app(req, res);
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const query = querystring.parse(taken.queryString);
    if (req.method === 'DELETE') {
      req.resume();
      void write(req, res, requestId, { op: 'delete', key: taken.key, query, header });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A client that goes away mid-body gets nothing applied and no answer, and is logged as
    // Express logs it (body-parser's `request.aborted`, a 400 INVALID_BODY nobody receives).
    // No answer: nobody would receive it, and Express' never finishes, so neither path counts it.
    req.on('error', () => {
      const aborted = new KvError('INVALID_BODY', 'request aborted');
      logRefusal(deps.logger, aborted, aborted, { requestId, method: req.method, url: req.url });
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = parseStrictJson((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8'));
      } catch (error) {
        return refuse(req, res, requestId, new KvError('MALFORMED_JSON', `malformed JSON body: ${(error as Error).message}`));
      }
      void write(req, res, requestId, { op: 'put', key: taken.key, query, header, body });
    });
  };
}

/** The decoded key and raw query string of a write in its everyday form, or null: Express takes it. */
export function everydayWrite(req: IncomingMessage, deps: FastWritesDeps): { key: string; queryString: string } | null {
  const method = req.method;
  if (method !== 'PUT' && method !== 'DELETE') return null;
  const url = req.url ?? '';
  if (!url.startsWith('/kv/') || url.includes('#')) return null;
  if (deps.service.state !== 'serving' || deps.logger.isLevelEnabled('debug')) return null;
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined || headers['content-encoding'] !== undefined) return null;
  const length = headers['content-length'];
  if (method === 'PUT') {
    if (length === undefined || !/^[1-9][0-9]{0,9}$/.test(length) || Number(length) > CLIENT_BODY_LIMIT_BYTES) return null;
    if (!PLAIN_JSON.has(headers['content-type']?.toLowerCase())) return null;
  } else if (length !== undefined && length !== '0') return null;
  const queryAt = url.indexOf('?');
  const segment = queryAt < 0 ? url.slice(4) : url.slice(4, queryAt);
  if (segment.length === 0 || segment.includes('/')) return null;
  let key = segment;
  if (segment.includes('%')) {
    try {
      key = decodeURIComponent(segment);
    } catch {
      return null; // Express answers 400 MALFORMED_URL
    }
  }
  return { key, queryString: queryAt < 0 ? '' : url.slice(queryAt + 1) };
}

/**
 * A request body as body-parser's `json({ strict: true })` reads it: a leading byte-order
 * mark dropped (iconv-lite's UTF-8 decoder drops it), an empty body as `{}`, anything whose
 * first non-whitespace character is not `{` or `[` refused with the message body-parser gives
 * (JSON.parse's, on the body with that character onwards masked). Throws SyntaxError.
 */
export function parseStrictJson(raw: string): unknown {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  if (text.length === 0) return {};
  let at = 0;
  while (at < text.length && JSON_WHITESPACE.has(text[at])) at++;
  const first = text[at] as string | undefined;
  if (first !== '{' && first !== '[') {
    const index = first === undefined ? -1 : text.indexOf(first);
    const masked = index === -1 ? '' : text.slice(0, index) + '#'.repeat(text.length - index);
    try {
      JSON.parse(masked);
    } catch (error) {
      throw new SyntaxError((error as Error).message.replace(/#+/g, (run) => text.slice(index, index + run.length)));
    }
    throw new SyntaxError('strict violation');
  }
  return JSON.parse(text);
}
