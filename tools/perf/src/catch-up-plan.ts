import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseScenarioList, parseValueBytes, resolveScenarios, type ScenarioName, type SizeScenario } from './size-scenario';

/**
 * How the measured follower comes back:
 * - `empty`: in memory, restarted empty, as `npm run catchup` always did. No key was ever
 *   deleted, so the leader streams it everything from version 0 (a delta from 0).
 * - `resync`: the same, but one key is written and deleted with w=5 first, so the leader has
 *   forgotten a tombstone and an empty follower must get a **full resync**.
 * - `disk`: with a `DATA_DIR`, restarted on it after missing the writes: a delta catch-up of
 *   just those writes.
 */
export type RestartMode = 'empty' | 'resync' | 'disk';

export const RESTART_MODES: readonly RestartMode[] = ['empty', 'resync', 'disk'];

/** Everything one `catchup` run does, validated once. */
export interface CatchUpPlan {
  readonly scenarios: readonly SizeScenario[];
  readonly restarts: readonly RestartMode[];
  /** Measurements per scenario and restart mode; the median is reported. */
  readonly runs: number;
  readonly outDir: string;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function parseRestartList(text: string): RestartMode[] {
  const modes = text.split(',').map((s) => s.trim());
  for (const mode of modes) {
    if (!(RESTART_MODES as readonly string[]).includes(mode)) throw new InvalidArgumentError(`unknown restart "${mode}" (known: ${RESTART_MODES.join(', ')})`);
  }
  if (new Set(modes).size !== modes.length) throw new InvalidArgumentError('a restart mode is named twice');
  return modes as RestartMode[];
}

interface RawOptions {
  scenario: ScenarioName[];
  restart: RestartMode[];
  keys?: number;
  writes?: number;
  valueBytes?: number;
  runs: number;
  out?: string;
}

/** The command line; tests add `exitOverride` so errors reach them as exceptions. */
export function createCatchUpCommand(): Command {
  return new Command('catchup')
    .description('time from a restarted follower being up to its lag 0, for several data sizes and ways back')
    .option('--scenario <names>', 'sizes, comma-separated: small (100,000 keys of 32 B), large (100 of 1 MiB), many (200,000 of 32 B)', parseScenarioList, ['small'] as ScenarioName[])
    .option('--restart <modes>', 'how the follower comes back, comma-separated: empty (stream from 0), resync (full resync), disk (delta from its DATA_DIR)', parseRestartList, ['empty'] as RestartMode[])
    .option('--keys <n>', 'keys of one custom scenario (overrides the named one)', positiveInteger)
    .option('--writes <n>', 'the same as --keys (each key is written once)', positiveInteger)
    .option('--value-bytes <n>', "bytes of each value's JSON text, 3 to 1048576 (overrides the named scenario)", parseValueBytes)
    .option('--runs <n>', 'measurements per scenario and restart mode; the median is reported', positiveInteger, 3)
    .option('--out <dir>', 'where catch-up.json goes (default: perf-results/catchup-<time>)');
}

/** The plan from parsed options, with the checks across flags. */
export function resolveCatchUpPlan(raw: RawOptions, now: Date): CatchUpPlan {
  if (raw.keys !== undefined && raw.writes !== undefined && raw.keys !== raw.writes) throw new InvalidArgumentError('--keys and --writes disagree');
  return Object.freeze({
    scenarios: resolveScenarios(raw.scenario, { keys: raw.keys ?? raw.writes, valueBytes: raw.valueBytes }),
    restarts: Object.freeze([...raw.restart]),
    runs: raw.runs,
    outDir: raw.out ?? path.join('perf-results', `catchup-${now.toISOString().replace(/[:.]/g, '-')}`),
  });
}

/** Parses a command line (without `node` and the script) into a plan; commander reports bad flags. */
export function parseCatchUpPlan(argv: readonly string[], now: Date, command: Command = createCatchUpCommand()): CatchUpPlan {
  command.parse([...argv], { from: 'user' });
  try {
    return resolveCatchUpPlan(command.opts<RawOptions>(), now);
  } catch (error) {
    if (error instanceof InvalidArgumentError) command.error(`error: ${error.message}`);
    throw error;
  }
}
