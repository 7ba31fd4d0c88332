/**
 * The reference the cluster's figures are compared with: a bare Node HTTP server that answers
 * the storm's PUTs like a leader would, without replicating. Not Express: the leader takes its
 * everyday writes off Express (apps/leader/src/fast-writes.ts), so an Express reference would
 * measure Express, not the floor. With a delay model it waits the
 * k-th smallest of n uniform delays before answering a `?w=k` write, i.e. it is the ideal
 * system of the theory: what it measures above the theory is the floor the load generator,
 * the timers and loopback add. Runs as its own process, like a leader.
 */
import http from 'node:http';
import querystring from 'node:querystring';
import { sampleQuorumDelay, type DelayModel } from './delay-model';

interface ReferenceConfig extends DelayModel {
  readonly port: number;
  readonly host: string;
}

function parseConfig(env: NodeJS.ProcessEnv): ReferenceConfig {
  const integer = (name: string, fallback: number): number => {
    const text = env[name];
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < 0) {
      process.stderr.write(`reference: ${name} must be a non-negative integer (got ${JSON.stringify(text)})\n`);
      process.exit(1);
    }
    return value;
  };
  return Object.freeze({
    port: integer('PORT', 8100),
    host: env.HOST ?? '127.0.0.1',
    followers: integer('FOLLOWER_COUNT', 5),
    minDelayMs: integer('MIN_DELAY_MS', 0),
    maxDelayMs: integer('MAX_DELAY_MS', 0),
  });
}

const config = parseConfig(process.env);
const values = new Map<string, { value: unknown; version: number }>();
let version = 0;

/** A JSON answer, as the leader's raw write path sends one. */
function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  // Split by hand, as the leader's raw write path does: WHATWG URL parsing costs more.
  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
  if (req.method === 'GET' && pathname === '/health') return answer(res, 200, { status: 'ok', role: 'leader' });
  if (req.method !== 'PUT' || !pathname.startsWith('/kv/')) return answer(res, 404, { error: 'the reference server takes PUT /kv/:key only', code: 'ROUTE_NOT_FOUND' });
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: { value?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { value?: unknown };
    } catch {
      return answer(res, 400, { error: 'malformed JSON body', code: 'MALFORMED_JSON' });
    }
    const w = queryAt < 0 ? undefined : querystring.parse(target.slice(queryAt + 1)).w;
    const quorum = Math.min(Number(w ?? 0) || 0, config.followers);
    const key = decodeURIComponent(pathname.slice('/kv/'.length));
    version++;
    values.set(key, { value: body?.value, version });
    const written = { key, version, acks: quorum, quorum };
    const delay = sampleQuorumDelay(config, quorum, Math.random);
    if (delay > 0) setTimeout(() => answer(res, 200, written), delay);
    else answer(res, 200, written);
  });
});
server.listen(config.port, config.host, () => {
  process.stdout.write(`reference ready on http://${config.host}:${config.port}: delay ${config.minDelayMs}-${config.maxDelayMs} ms over ${config.followers} simulated followers\n`);
});
const shutdown = () => server.close(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
