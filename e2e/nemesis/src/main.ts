import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { formatReport } from './report';
import { runNemesis, writeRun, type Storage } from './runner';

const int = (min: number, max: number) => (raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(`an integer from ${min} to ${max}`);
  return value;
};
const storage = (raw: string): Storage => {
  if (!['memory', 'always', 'batch', 'off'].includes(raw)) throw new InvalidArgumentError('memory, always, batch or off');
  return raw as Storage;
};

const program = new Command('nemesis')
  .description('Fault injection against a local six-node cluster, then a check of the recorded history for lost writes and other anomalies')
  .option('--seconds <n>', 'how long clients write and faults run', int(5, 86_400), 60)
  .option('--seed <n>', 'seed of the fault schedule and the clients (random when absent)', int(0, 2 ** 31 - 1))
  .option('--storage <kind>', 'memory, or DATA_DIR with FSYNC=always|batch|off', storage, 'memory')
  .option('--leader-wipe', 'also restart the leader without its data (or with a torn log): needs leader recovery from followers', false)
  .option('--clients <n>', 'concurrent clients', int(1, 64), 8)
  .option('--keys <n>', 'keys the clients share', int(1, 1000), 10)
  .option('--min-delay <ms>', "leader's MIN_DELAY_MS", int(0, 60_000), 0)
  .option('--max-delay <ms>', "leader's MAX_DELAY_MS", int(0, 60_000), 100)
  .option('--quorum <n>', "leader's WRITE_QUORUM", int(0, 5), 3)
  .option('--replication-timeout <ms>', "leader's REPLICATION_TIMEOUT_MS", int(100, 60_000), 2000)
  .option('--dist <dir>', 'where apps/leader and apps/follower were built', 'dist')
  .option('--out <dir>', 'where the JSON results go', 'reports/nemesis')
  .parse();

async function main(): Promise<number> {
  const o = program.opts<{
    seconds: number; seed?: number; storage: Storage; leaderWipe: boolean; clients: number; keys: number;
    minDelay: number; maxDelay: number; quorum: number; replicationTimeout: number; dist: string; out: string;
  }>();
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`seed: ${seed}\n`);
  const started = Date.now();
  const run = await runNemesis({
    seconds: o.seconds, seed, storage: o.storage, leaderWipe: o.leaderWipe, clients: o.clients, keys: o.keys,
    minDelayMs: o.minDelay, maxDelayMs: o.maxDelay, writeQuorum: o.quorum, replicationTimeoutMs: o.replicationTimeout,
    distDir: path.resolve(o.dist),
    log: (line) => process.stdout.write(`  ${((Date.now() - started) / 1000).toFixed(1)} s  ${line}\n`),
  });
  const report = formatReport({
    seed, storage: o.storage, seconds: o.seconds, ops: run.history.ops, faults: run.history.faults, anomalies: run.anomalies,
    convergedAfterMs: run.final.convergedAfterMs, deadlineMs: run.final.deadlineMs,
    linearizabilityUnknown: run.result.linearizability.unknown, linearizedKeys: run.result.linearizability.keys,
  });
  process.stdout.write(`\n${report}\n`);
  const file = await writeRun(path.resolve(o.out), run, report);
  process.stdout.write(`results: ${file}\n`);
  return run.anomalies.length > 0 ? 1 : 0;
}

// SIGINT/SIGTERM: exit, and NodeProcess's exit hook kills every node by PID.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`nemesis failed: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
