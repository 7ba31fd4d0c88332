import { CommanderError } from 'commander';
import {
  InvalidRequestError,
  KeyNotFoundError,
  KvClientError,
  QuorumNotReachedError,
  RequestTimeoutError,
  UnreachableError,
  VersionMismatchError,
} from '@kv/client';

/** kvctl's exit codes: the contract scripts rely on (README, `kvctl --help`). */
export const EXIT = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  KEY_NOT_FOUND: 3,
  QUORUM_NOT_REACHED: 4,
  VERSION_MISMATCH: 5,
  UNREACHABLE: 6,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  unexpected error
  2  bad usage (also a request a node refuses as invalid, 400)
  3  key not found
  4  quorum not reached: the write stays applied on the leader (its version is on stderr)
  5  version mismatch (--if-version): nothing was changed
  6  no endpoint reachable (or none answered within --timeout)`;

/** Wrong arguments, options or input; exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit code for what a command threw. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof InvalidRequestError) return EXIT.USAGE;
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (error instanceof KeyNotFoundError) return EXIT.KEY_NOT_FOUND;
  if (error instanceof QuorumNotReachedError) return EXIT.QUORUM_NOT_REACHED;
  if (error instanceof VersionMismatchError) return EXIT.VERSION_MISMATCH;
  if (error instanceof UnreachableError || error instanceof RequestTimeoutError) return EXIT.UNREACHABLE;
  return EXIT.UNEXPECTED;
}

/** One line for stderr, `kvctl: ...`, never a stack trace. `key` is the command's key, when it has one. */
export function describeError(error: unknown, key?: string): string {
  const subject = key === undefined ? '' : ` ${JSON.stringify(key)}`;
  let text: string;
  if (error instanceof KeyNotFoundError) {
    text = `key${subject} not found`;
  } else if (error instanceof QuorumNotReachedError) {
    const acks = error.acks === null ? '' : `: ${error.acks} of ${error.quorum ?? '?'} follower acks`;
    text = `quorum not reached for${subject}${acks}; the write stays applied on the leader as version ${error.version ?? '?'} and keeps replicating`;
  } else if (error instanceof VersionMismatchError) {
    text = `version mismatch for${subject}: its current version is ${error.currentVersion ?? '?'} (0: absent); nothing was changed`;
  } else if (error instanceof UnreachableError) {
    text = `no endpoint reachable: ${error.failures.length > 0 ? error.failures.join('; ') : error.message}`;
  } else if (error instanceof KvClientError || error instanceof UsageError) {
    text = error.message;
  } else if (error instanceof CommanderError) {
    text = error.message.replace(/^error: /, '');
  } else {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  return `kvctl: ${text.replace(/\s*\n\s*/g, ' ').trim()}`;
}
