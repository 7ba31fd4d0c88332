/**
 * `npx nx run perf:catchup`: how long a follower that was down while N writes happened
 * takes, from the moment it is up again (restarted with an empty memory), until the
 * leader reports its lag as 0. Median of several runs; writes catch-up.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { KvClient } from '@kv/client';
import { LocalCluster } from '@kv/local-cluster';
import type { LeaderStatus } from '@kv/protocol';
import { LoadClient } from './load-client';
import { describeMachine } from './machine';
import { percentile } from './statistics';

/** The bundle sits in dist/tools/perf; the leader and follower builds in dist/apps. */
const DIST_DIR = path.resolve(__dirname, '..', '..');
const CATCH_UP_LIMIT_MS = 60_000;

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** The leader's `/status`; throws when the node answering is not the leader. */
async function leaderStatus(client: KvClient, leaderUrl: string): Promise<LeaderStatus> {
  const status = await client.status({ endpoint: leaderUrl });
  if (status.role !== 'leader') throw new Error(`${leaderUrl} is not the leader`);
  return status;
}

/** One run: returns the ms from the follower being up to its lag reaching 0. */
async function measureOnce(writes: number, run: number): Promise<{ catchUpMs: number; writeSeconds: number }> {
  const cluster = await LocalCluster.start({ distDir: DIST_DIR, env: { LOG_LEVEL: 'warn' }, leaderEnv: { WRITE_QUORUM: '2' } });
  const load = LoadClient.start();
  const client = new KvClient({ endpoints: cluster.nodes.map((n) => n.url), timeoutMs: 5000 });
  try {
    const victim = cluster.followers[cluster.followers.length - 1];
    await victim.kill();
    const keys = Array.from({ length: writes }, (_, i) => `catchup-${i}`);
    const sample = await load.storm({
      targetUrl: cluster.leader.url,
      quorum: 2,
      writes,
      concurrency: 64,
      keys,
      valueSize: 32,
      label: `catch-up-${run}`,
      timeLimitMs: 300_000,
      requestTimeoutMs: 10_000,
    });
    if (sample.succeeded !== writes) throw new Error(`only ${sample.succeeded} of ${writes} writes succeeded: ${JSON.stringify(sample.failures)}`);

    await victim.start();
    const up = performance.now();
    for (;;) {
      const status = await leaderStatus(client, cluster.leader.url);
      const follower = status.followers[status.followers.length - 1];
      if (follower.lag === 0 && follower.state === 'up') break;
      if (performance.now() - up > CATCH_UP_LIMIT_MS) throw new Error(`no catch-up within ${CATCH_UP_LIMIT_MS} ms: ${JSON.stringify(follower)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const catchUpMs = performance.now() - up;
    const [leaderKeys, victimKeys] = await Promise.all([
      leaderStatus(client, cluster.leader.url).then((s) => s.keys),
      client.status({ endpoint: victim.url }).then((s) => s.keys),
    ]);
    if (victimKeys !== leaderKeys) throw new Error(`caught-up follower holds ${victimKeys} keys, the leader ${leaderKeys}`);
    return { catchUpMs, writeSeconds: sample.durationMs / 1000 };
  } finally {
    client.close();
    await load.close();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const options = new Command('catchup')
    .option('--writes <n>', 'writes made while the follower is down', positiveInteger, 100_000)
    .option('--runs <n>', 'runs; the median is reported', positiveInteger, 3)
    .option('--out <dir>', 'where catch-up.json goes', path.join('perf-results', `catchup-${new Date().toISOString().replace(/[:.]/g, '-')}`))
    .parse(process.argv)
    .opts<{ writes: number; runs: number; out: string }>();

  const loadAverageStart = os.loadavg()[0];
  const runs: Array<{ catchUpMs: number; writeSeconds: number }> = [];
  for (let run = 1; run <= options.runs; run++) {
    process.stdout.write(`run ${run}/${options.runs}: ${options.writes} writes with one follower down ... `);
    const result = await measureOnce(options.writes, run);
    runs.push(result);
    process.stdout.write(`written in ${result.writeSeconds.toFixed(1)} s; caught up in ${result.catchUpMs.toFixed(0)} ms\n`);
  }
  const medianMs = percentile(runs.map((r) => r.catchUpMs).sort((a, b) => a - b), 0.5);
  const machine = describeMachine(loadAverageStart);
  await mkdir(options.out, { recursive: true });
  await writeFile(path.join(options.out, 'catch-up.json'), JSON.stringify({ writes: options.writes, medianMs, runs, machine }, null, 2));
  process.stdout.write(
    `\ncatch-up of ${options.writes} writes: median ${medianMs.toFixed(0)} ms over ${runs.length} runs (target: under 2000 ms)\n` +
      `machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average ${machine.loadAverageStart.toFixed(2)} -> ${machine.loadAverageEnd.toFixed(2)}\n` +
      `results: ${path.join(options.out, 'catch-up.json')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`catchup: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
