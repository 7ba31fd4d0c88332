import http from 'node:http';
import querystring from 'node:querystring';
import { CLIENT_BODY_LIMIT_BYTES } from '@kv/protocol';
import { sampleQuorumDelay, type DelayModel } from './delay-model';

/** A JSON answer, as the leader's raw write path sends one. */
function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A refusal: the status and the `{"error","code"}` body the leader would send. */
function refuse(res: http.ServerResponse, status: number, code: string, error: string): void {
  answer(res, status, { error, code });
}

/**
 * The reference server's handler (reference-server.ts runs it as its own process): answers
 * `PUT /kv/:key` like a leader would, after the delay model's wait for a `?w=k` write, and
 * `GET /health`; anything else is a 404. Bad input is refused as the leader refuses it and
 * changes nothing: a key that is not valid percent-encoding 400 `MALFORMED_URL`, an empty
 * key 400 `INVALID_KEY`, a `w` that is not one integer from 0 to the followers 400
 * `INVALID_QUERY`, a body that is not JSON 400 `MALFORMED_JSON`, a body over the leader's
 * limit (CLIENT_BODY_LIMIT_BYTES) 413 `PAYLOAD_TOO_LARGE`, the rest of it read and dropped. What it does not check (the body's
 * shape, the key's length) the storm never sends wrong.
 */
export function referenceServer(config: DelayModel): http.Server {
  const values = new Map<string, { value: unknown; version: number }>();
  let version = 0;
  return http.createServer((req, res) => {
    // Split by hand, as the leader's raw write path does: WHATWG URL parsing costs more.
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
    if (req.method === 'GET' && pathname === '/health') return answer(res, 200, { status: 'ok', role: 'leader' });
    if (req.method !== 'PUT' || !pathname.startsWith('/kv/')) return answer(res, 404, { error: 'the reference server takes PUT /kv/:key only', code: 'ROUTE_NOT_FOUND' });
    let key: string;
    try {
      key = decodeURIComponent(pathname.slice('/kv/'.length));
    } catch {
      return refuse(res, 400, 'MALFORMED_URL', 'malformed percent-encoding in the URL');
    }
    if (key === '') return refuse(res, 400, 'INVALID_KEY', 'key must not be empty');
    // An empty `w=` counts as absent, as the leader drops empty parameters; leading zeros are refused, as it refuses them.
    const given = queryAt < 0 ? undefined : querystring.parse(target.slice(queryAt + 1)).w;
    const w = given === '' ? undefined : given;
    if (w !== undefined && (typeof w !== 'string' || !/^(0|[1-9]\d{0,8})$/.test(w) || Number(w) > config.followers)) {
      return refuse(res, 400, 'INVALID_QUERY', `w must be an integer from 0 to ${config.followers}, the number of followers (got ${JSON.stringify(w)})`);
    }
    const quorum = Number(w ?? 0);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      bytes += chunk.length;
      if (bytes > CLIENT_BODY_LIMIT_BYTES) {
        // The rest is read and dropped (not kept), so the client can finish sending and read the answer.
        refused = true;
        chunks.length = 0;
        return refuse(res, 413, 'PAYLOAD_TOO_LARGE', `request body larger than ${CLIENT_BODY_LIMIT_BYTES} bytes`);
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      let body: { value?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { value?: unknown };
      } catch {
        return refuse(res, 400, 'MALFORMED_JSON', 'malformed JSON body');
      }
      version++;
      values.set(key, { value: body?.value, version });
      const written = { key, version, acks: quorum, quorum };
      const delay = sampleQuorumDelay(config, quorum, Math.random);
      if (delay > 0) setTimeout(() => answer(res, 200, written), delay);
      else answer(res, 200, written);
    });
  });
}
