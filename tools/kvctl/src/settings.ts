import { parseEndpoints } from '@kv/client';
import { UsageError } from './exit-codes';
import { OUTPUT_FORMATS, type OutputFormat } from './format';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8000';
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Global options as commander hands them over: strings, or absent. */
export interface GlobalFlags {
  readonly endpoints?: string;
  readonly quorum?: string;
  readonly output?: string;
  readonly timeout?: string;
}

/** What every command runs with, validated once. */
export interface Settings {
  readonly endpoints: readonly string[];
  /** `-w`: follower acks a write waits for; undefined: the leader's configured quorum. */
  readonly quorum: number | undefined;
  readonly output: OutputFormat;
  /** Per-request timeout in ms. */
  readonly timeoutMs: number;
}

/**
 * Flags over environment (`KV_ENDPOINTS`, `KV_OUTPUT`) over defaults. Throws a UsageError
 * naming the option for any value out of range.
 */
export function resolveSettings(flags: GlobalFlags, env: Readonly<Record<string, string | undefined>>): Settings {
  let endpoints: string[];
  try {
    endpoints = parseEndpoints(flags.endpoints ?? (env.KV_ENDPOINTS || DEFAULT_ENDPOINT));
  } catch (error) {
    throw new UsageError(`--endpoints/KV_ENDPOINTS: ${(error as Error).message}`);
  }
  const output = flags.output ?? (env.KV_OUTPUT || 'text');
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new UsageError(`-o/--output/KV_OUTPUT must be one of ${OUTPUT_FORMATS.join(', ')} (got ${JSON.stringify(output)})`);
  }
  return {
    endpoints,
    quorum: flags.quorum === undefined ? undefined : integerOption('-w/--quorum', flags.quorum, 0),
    output: output as OutputFormat,
    timeoutMs: flags.timeout === undefined ? DEFAULT_TIMEOUT_MS : integerOption('--timeout', flags.timeout, 1),
  };
}

/** `text` as an integer of at least `min` (and a safe integer); a UsageError naming `option` otherwise. */
export function integerOption(option: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${option} must be an integer of at least ${min} (got ${JSON.stringify(text)})`);
  return n;
}
