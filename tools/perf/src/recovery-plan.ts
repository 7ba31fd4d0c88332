import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseScenarioList, parseValueBytes, resolveScenarios, type ScenarioName, type SizeScenario } from './size-scenario';

/** Everything one `recovery` run does, validated once. */
export interface RecoveryPlan {
  readonly scenarios: readonly SizeScenario[];
  /** Leader restarts per scenario; the median is reported. */
  readonly runs: number;
  readonly outDir: string;
}

interface RawOptions {
  scenario: ScenarioName[];
  keys?: number;
  valueBytes?: number;
  runs: number;
  out?: string;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** The command line; tests add `exitOverride` so errors reach them as exceptions. */
export function createRecoveryCommand(): Command {
  return new Command('recovery')
    .description("time from a killed leader's restart to its /status state \"serving\", recovering a scenario's keys from five followers")
    .option('--scenario <names>', 'sizes, comma-separated: small (100,000 keys of 32 B), large (100 of 1 MiB), many (200,000 of 32 B)', parseScenarioList, ['small', 'large'] as ScenarioName[])
    .option('--keys <n>', 'keys of one custom scenario (overrides the named one)', positiveInteger)
    .option('--value-bytes <n>', "bytes of each value's JSON text, 3 to 1048576 (overrides the named scenario)", parseValueBytes)
    .option('--runs <n>', 'leader restarts per scenario; the median is reported', positiveInteger, 3)
    .option('--out <dir>', 'where recovery.json goes (default: perf-results/recovery-<time>)');
}

/** The plan from parsed options. */
export function resolveRecoveryPlan(raw: RawOptions, now: Date): RecoveryPlan {
  return Object.freeze({
    scenarios: resolveScenarios(raw.scenario, { keys: raw.keys, valueBytes: raw.valueBytes }),
    runs: raw.runs,
    outDir: raw.out ?? path.join('perf-results', `recovery-${now.toISOString().replace(/[:.]/g, '-')}`),
  });
}

/** Parses a command line (without `node` and the script) into a plan; commander reports bad flags. */
export function parseRecoveryPlan(argv: readonly string[], now: Date, command: Command = createRecoveryCommand()): RecoveryPlan {
  command.parse([...argv], { from: 'user' });
  try {
    return resolveRecoveryPlan(command.opts<RawOptions>(), now);
  } catch (error) {
    if (error instanceof InvalidArgumentError) command.error(`error: ${error.message}`);
    throw error;
  }
}
