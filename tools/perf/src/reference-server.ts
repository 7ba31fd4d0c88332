/**
 * The reference the cluster's figures are compared with: a bare Node HTTP server that answers
 * the storm's PUTs like a leader would, without replicating. Not Express: the leader takes its
 * everyday writes off Express (apps/leader/src/fast-writes.ts), so an Express reference would
 * measure Express, not the floor. With a delay model it waits the
 * k-th smallest of n uniform delays before answering a `?w=k` write, i.e. it is the ideal
 * system of the theory: what it measures above the theory is the floor the load generator,
 * the timers and loopback add. Runs as its own process, like a leader.
 */
import type { DelayModel } from './delay-model';
import { referenceServer } from './reference-handler';

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
const server = referenceServer(config);
server.listen(config.port, config.host, () => {
  process.stdout.write(`reference ready on http://${config.host}:${config.port}: delay ${config.minDelayMs}-${config.maxDelayMs} ms over ${config.followers} simulated followers\n`);
});
const shutdown = () => server.close(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
