/**
 * `npm run recovery`: how long a leader killed with `kill -9` takes, from its restart, to
 * recover a scenario's keys from its five followers and serve (`/status` `"state": "serving"`),
 * checked key by key against a listing taken before the kill. Median of `--runs` per
 * scenario, the leader's RSS after recovery beside it. Writes recovery.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatRuns, summarizeRuns, type RunSummary } from './bench-summary';
import { describeMachine } from './machine';
import { parseRecoveryPlan } from './recovery-plan';
import { measureRecoveryCase, type RecoveryRun } from './recovery-runner';

/** One scenario, as recovery.json holds it; times in ms, memory in MiB. */
interface RecoveryCase {
  readonly scenario: string;
  readonly keys: number;
  readonly valueBytes: number;
  /** Seconds the w=5 writes took, once per scenario. */
  readonly writeSeconds: number;
  readonly recoveryMs: RunSummary;
  readonly leaderRssMiB: RunSummary;
  readonly runs: readonly RecoveryRun[];
}

async function main(): Promise<void> {
  const plan = parseRecoveryPlan(process.argv.slice(2), new Date());
  const loadAverageStart = os.loadavg()[0];
  const startedAt = new Date().toISOString();
  const cases: RecoveryCase[] = [];
  for (const scenario of plan.scenarios) {
    const measured = await measureRecoveryCase(scenario, plan.runs, (line) => process.stdout.write(`${line}\n`));
    cases.push({
      scenario: scenario.name,
      keys: scenario.keys,
      valueBytes: scenario.valueBytes,
      writeSeconds: measured.writeSeconds,
      recoveryMs: summarizeRuns(measured.runs.map((r) => r.recoveryMs)),
      leaderRssMiB: summarizeRuns(measured.runs.map((r) => r.leaderRssMiB)),
      runs: measured.runs,
    });
  }
  const machine = describeMachine(loadAverageStart);
  await mkdir(plan.outDir, { recursive: true });
  const file = path.join(plan.outDir, 'recovery.json');
  await writeFile(file, `${JSON.stringify({ startedAt, runsPerCase: plan.runs, cases, machine }, null, 2)}\n`);
  process.stdout.write('\nleader recovery, from its restart to "serving" (every key checked); median (runs):\n');
  for (const c of cases) {
    process.stdout.write(`  ${c.scenario} ${c.keys} x ${c.valueBytes} B: ${formatRuns(c.runs.map((r) => r.recoveryMs))}; leader RSS after, median ${c.leaderRssMiB.median.toFixed(0)} MiB\n`);
  }
  process.stdout.write(
    `machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average ${machine.loadAverageStart.toFixed(2)} -> ${machine.loadAverageEnd.toFixed(2)}\n` +
      `results: ${file}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`recovery: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
