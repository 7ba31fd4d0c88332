import { InvalidArgumentError } from 'commander';

/** The largest value the nodes take: 1 MiB as `JSON.stringify` writes it (README "Use it"). */
export const MAX_VALUE_BYTES = 1_048_576;

/**
 * How much data a benchmark writes: `keys` distinct keys, each written once with a string
 * value whose JSON text is `valueBytes` bytes (quotes included), by `writers` concurrent writers.
 */
export interface SizeScenario {
  readonly name: string;
  readonly keys: number;
  /** Bytes of each value's JSON text, quotes included: 32 is a 30-character string. */
  readonly valueBytes: number;
  /** Concurrent writers of the load phase: fewer for large values, so the leader's memory stays bounded. */
  readonly writers: number;
}

/** The named sizes: `small` is what `npm run catchup` always measured (issues 11 and 12 add the others). */
export const SIZE_SCENARIOS = {
  small: { name: 'small', keys: 100_000, valueBytes: 32, writers: 64 },
  large: { name: 'large', keys: 100, valueBytes: MAX_VALUE_BYTES, writers: 4 },
  many: { name: 'many', keys: 200_000, valueBytes: 32, writers: 64 },
} as const satisfies Record<string, SizeScenario>;

export type ScenarioName = keyof typeof SIZE_SCENARIOS;

/** Values from 64 KiB up are written by this many writers at most. */
const LARGE_VALUE_WRITERS = 4;
const LARGE_VALUE_BYTES = 65_536;

function isScenarioName(name: string): name is ScenarioName {
  return Object.prototype.hasOwnProperty.call(SIZE_SCENARIOS, name);
}

/** Parses `small,large` into scenario names, in order, without repeats; throws commander's error otherwise. */
export function parseScenarioList(text: string): ScenarioName[] {
  const names = text.split(',').map((s) => s.trim());
  const known = Object.keys(SIZE_SCENARIOS).join(', ');
  for (const name of names) if (!isScenarioName(name)) throw new InvalidArgumentError(`unknown scenario "${name}" (known: ${known})`);
  if (new Set(names).size !== names.length) throw new InvalidArgumentError('a scenario is named twice');
  return names as ScenarioName[];
}

/** A value size in bytes of JSON text: from 3 (a one-character string) to 1 MiB. */
export function parseValueBytes(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 3 || n > MAX_VALUE_BYTES) {
    throw new InvalidArgumentError(`must be an integer from 3 to ${MAX_VALUE_BYTES} (bytes of the value's JSON text)`);
  }
  return n;
}

/**
 * The scenarios a run measures: the named ones, or, when `--keys` or `--value-bytes` is
 * given, one custom scenario built from the first name with those overrides.
 */
export function resolveScenarios(names: readonly ScenarioName[], overrides: { keys?: number; valueBytes?: number }): SizeScenario[] {
  if (overrides.keys === undefined && overrides.valueBytes === undefined) return names.map((name) => SIZE_SCENARIOS[name]);
  if (names.length !== 1) throw new InvalidArgumentError('--keys and --value-bytes change one scenario: name at most one with --scenario');
  const base: SizeScenario = SIZE_SCENARIOS[names[0]];
  const keys = overrides.keys ?? base.keys;
  const valueBytes = overrides.valueBytes ?? base.valueBytes;
  const writers = valueBytes >= LARGE_VALUE_BYTES ? Math.min(LARGE_VALUE_WRITERS, keys) : Math.min(base.writers, keys);
  return [{ name: `${base.name}-custom`, keys, valueBytes, writers }];
}

/** The storm's `valueSize` (the string's length) for a value of `valueBytes` JSON bytes: the two quotes are not in the string. */
export function stringLengthFor(valueBytes: number): number {
  return valueBytes - 2;
}

/** Listing page size that keeps one page near 8 MiB of values, from 1 to the API's 10,000. */
export function listingPageSize(valueBytes: number): number {
  return Math.max(1, Math.min(10_000, Math.floor((8 * MAX_VALUE_BYTES) / valueBytes)));
}
