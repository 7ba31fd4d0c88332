/**
 * `npm run catchup`: how long a follower that was down while a scenario's keys were written
 * takes, from the moment it is up again until the leader reports its lag as 0. Sizes
 * (`--scenario small|large|many`, or `--keys`/`--value-bytes`) times ways back
 * (`--restart empty|resync|disk`); the median of `--runs` per case. Writes catch-up.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatRuns, summarizeRuns, type RunSummary } from './bench-summary';
import { parseCatchUpPlan, type RestartMode } from './catch-up-plan';
import { measureCatchUpCase, type CatchUpRun } from './catch-up-runner';
import { describeMachine } from './machine';

/** One scenario and restart mode, as catch-up.json holds it; times in ms. */
interface CatchUpCase {
  readonly scenario: string;
  readonly keys: number;
  readonly valueBytes: number;
  readonly restart: RestartMode;
  /** How the leader caught the follower up in every run (`mixed` if the runs differ). */
  readonly path: 'full resync' | 'delta' | 'mixed';
  readonly catchUpMs: RunSummary;
  readonly runs: readonly CatchUpRun[];
}

function pathOf(runs: readonly CatchUpRun[]): CatchUpCase['path'] {
  if (runs.every((r) => r.fullResync)) return 'full resync';
  return runs.every((r) => !r.fullResync) ? 'delta' : 'mixed';
}

async function main(): Promise<void> {
  const plan = parseCatchUpPlan(process.argv.slice(2), new Date());
  const loadAverageStart = os.loadavg()[0];
  const startedAt = new Date().toISOString();
  const cases: CatchUpCase[] = [];
  for (const scenario of plan.scenarios) {
    for (const restart of plan.restarts) {
      const runs = await measureCatchUpCase(scenario, restart, plan.runs, (line) => process.stdout.write(`${line}\n`));
      const summary = summarizeRuns(runs.map((r) => r.catchUpMs));
      cases.push({ scenario: scenario.name, keys: scenario.keys, valueBytes: scenario.valueBytes, restart, path: pathOf(runs), catchUpMs: summary, runs });
    }
  }
  const machine = describeMachine(loadAverageStart);
  await mkdir(plan.outDir, { recursive: true });
  const file = path.join(plan.outDir, 'catch-up.json');
  await writeFile(file, `${JSON.stringify({ startedAt, runsPerCase: plan.runs, cases, machine }, null, 2)}\n`);
  process.stdout.write('\ncatch-up, from the follower up to lag 0 (target: under 2000 ms); median (runs):\n');
  for (const c of cases) {
    process.stdout.write(`  ${c.scenario} ${c.keys} x ${c.valueBytes} B, restart ${c.restart} (${c.path}): ${formatRuns(c.runs.map((r) => r.catchUpMs))}\n`);
  }
  process.stdout.write(
    `machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average ${machine.loadAverageStart.toFixed(2)} -> ${machine.loadAverageEnd.toFixed(2)}\n` +
      `results: ${file}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`catchup: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
