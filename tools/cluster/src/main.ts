/**
 * `npm start`: the local six-node cluster on 127.0.0.1:8000-8005 with the seed's
 * demonstration settings (quorum 3, delays 50-800 ms), every setting overridable from the
 * environment. Ctrl-C stops all six.
 */
import { LocalCluster } from '@kv/local-cluster';
import { formatLine } from './log-format';

const env = process.env;
const basePort = Number(env.BASE_PORT ?? 8000);
const followerCount = Number(env.FOLLOWER_COUNT ?? 5);
if (!Number.isInteger(basePort) || basePort < 1 || basePort + followerCount > 65535) {
  process.stderr.write(`cluster: BASE_PORT must be a port number (got ${JSON.stringify(env.BASE_PORT)})\n`);
  process.exit(1);
}
if (!Number.isInteger(followerCount) || followerCount < 0 || followerCount > 50) {
  process.stderr.write(`cluster: FOLLOWER_COUNT must be an integer from 0 to 50 (got ${JSON.stringify(env.FOLLOWER_COUNT)})\n`);
  process.exit(1);
}

const passThrough = [
  'WRITE_QUORUM',
  'MIN_DELAY_MS',
  'MAX_DELAY_MS',
  'REPLICATION_TIMEOUT_MS',
  'MIN_FOLLOWERS_TO_WRITE',
  'MIN_FOLLOWERS_MAX_LAG_MS',
  'CLUSTER_TOKEN',
  'LOG_LEVEL',
  'FSYNC',
];
const shared: Record<string, string> = {};
for (const name of passThrough) if (env[name] !== undefined) shared[name] = env[name] as string;
const leaderEnv = {
  WRITE_QUORUM: env.WRITE_QUORUM ?? String(Math.min(3, followerCount)),
  MIN_DELAY_MS: env.MIN_DELAY_MS ?? '50',
  MAX_DELAY_MS: env.MAX_DELAY_MS ?? '800',
};

async function main(): Promise<void> {
  const ports = Array.from({ length: followerCount + 1 }, (_, i) => basePort + i);
  const width = Math.max(6, `f${followerCount}`.length);
  process.stdout.write(`starting a leader and ${followerCount} followers on 127.0.0.1:${ports[0]}-${ports[ports.length - 1]} ...\n`);
  const cluster = await LocalCluster.start({
    followers: followerCount,
    ports,
    env: shared,
    leaderEnv,
    dataRoot: env.DATA_ROOT,
    onLine: (name, line) => process.stdout.write(formatLine(name, line, width) + '\n'),
  });
  const leader = cluster.leader.url;
  process.stdout.write(
    [
      '',
      `cluster ready: leader ${leader}, followers ${cluster.followers.map((f) => f.url).join(' ')}`,
      `write quorum ${leaderEnv.WRITE_QUORUM}, simulated delay ${leaderEnv.MIN_DELAY_MS}-${leaderEnv.MAX_DELAY_MS} ms. Try:`,
      `  curl -X PUT ${leader}/kv/hello -H 'content-type: application/json' -d '{"value": "world"}'`,
      `  curl -X PUT '${leader}/kv/hello?w=5' -d '{"value": {"any": ["json", 1, true]}}'`,
      `  curl ${cluster.followers[0]?.url ?? leader}/kv/hello`,
      `  curl '${leader}/kv?prefix=he&limit=10'`,
      `  curl -X DELETE ${leader}/kv/hello`,
      `  curl ${leader}/status`,
      'or with kvctl (built by npm start; KV_ENDPOINTS lists the nodes, writes find the leader):',
      `  export KV_ENDPOINTS=${cluster.nodes.map((n) => n.url).join(',')}`,
      '  npx kvctl put hello world',
      `  npx kvctl put hello '{"any": ["json", 1, true]}' -w 5`,
      '  npx kvctl get hello',
      '  npx kvctl ls --prefix he --limit 10 -o table',
      '  npx kvctl del hello',
      '  npx kvctl status -o table',
      'Ctrl-C stops all nodes.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping all nodes ...\n');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A node that dies on its own is reported; the others keep running.
  for (const node of cluster.nodes) {
    void node.waitExit().then((code) => {
      if (!stopping) process.stdout.write(`[${node.name}] exited with code ${code}\n`);
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
