/**
 * The reference the cluster's figures are compared with: a bare Express server that answers
 * the storm's PUTs like a leader would, without replicating. With a delay model it waits the
 * k-th smallest of n uniform delays before answering a `?w=k` write, i.e. it is the ideal
 * system of the theory: what it measures above the theory is the floor the load generator,
 * the timers and loopback add. Runs as its own process, like a leader.
 */
import express from 'express';
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

const app = express();
app.disable('x-powered-by');
app.get('/health', (_req, res) => {
  res.json({ status: 'ok', role: 'leader' });
});
// Same body limit as the leader's client path: 1 MiB value plus room for the envelope.
app.put('/kv/:key', express.json({ limit: 1024 * 1024 + 64 * 1024, strict: false }), (req, res) => {
  const quorum = Math.min(Number(req.query.w ?? 0) || 0, config.followers);
  const body = req.body as { value?: unknown } | undefined;
  const key = String(req.params.key);
  version++;
  values.set(key, { value: body?.value, version });
  const answer = { key, version, acks: quorum, quorum };
  const delay = sampleQuorumDelay(config, quorum, Math.random);
  if (delay > 0) setTimeout(() => res.json(answer), delay);
  else res.json(answer);
});

const server = app.listen(config.port, config.host, () => {
  process.stdout.write(`reference ready on http://${config.host}:${config.port}: delay ${config.minDelayMs}-${config.maxDelayMs} ms over ${config.followers} simulated followers\n`);
});
const shutdown = () => server.close(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
