/**
 * What a client call can fail with. Answers of a node become a class by the API's stable
 * `code` (API.md, README "Errors"); failures to get an answer at all have client-side codes
 * (`UNREACHABLE`, `TIMEOUT`, `CONNECTION_LOST`, `BAD_ANSWER`) and no status.
 */

/** Codes the client adds for failures that are not a node's answer. */
export type ClientSideCode = 'UNREACHABLE' | 'TIMEOUT' | 'CONNECTION_LOST' | 'BAD_ANSWER';

export class KvClientError extends Error {
  constructor(
    /** The API's `code` (`KEY_NOT_FOUND`, ...), or a {@link ClientSideCode}. */
    readonly code: string,
    message: string,
    /** HTTP status of the answer; null when there was no answer. */
    readonly status: number | null,
    /** Every field of the JSON error answer besides `error` and `code`. */
    readonly details: Readonly<Record<string, unknown>> = {},
    /** Base URL of the node that answered (or failed to). */
    readonly endpoint: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 404 `KEY_NOT_FOUND`: GET or DELETE of an absent key. */
export class KeyNotFoundError extends KvClientError {}

/**
 * 503 `QUORUM_NOT_REACHED`: fewer follower acks than asked arrived in time. The write is NOT
 * undone: it stays applied on the leader as `version` and keeps replicating.
 */
export class QuorumNotReachedError extends KvClientError {
  get key(): string | null {
    return stringField(this.details, 'key');
  }
  /** The version the write holds on the leader, or null if the answer lacked it. */
  get version(): number | null {
    return numberField(this.details, 'version');
  }
  get acks(): number | null {
    return numberField(this.details, 'acks');
  }
  get quorum(): number | null {
    return numberField(this.details, 'quorum');
  }
}

/** 412 `VERSION_MISMATCH`: an `ifVersion` write found another version; nothing was applied. */
export class VersionMismatchError extends KvClientError {
  /** The key's current version (0 when absent). */
  get currentVersion(): number | null {
    return numberField(this.details, 'version');
  }
}

/** 403 `NOT_LEADER`: a write reached a follower; `leader` is its hint (null when it knows none). */
export class NotLeaderError extends KvClientError {
  get leader(): string | null {
    return stringField(this.details, 'leader');
  }
}

/** 503 `NOT_CAUGHT_UP`: a `minVersion` read timed out before the node held that version. */
export class NotCaughtUpError extends KvClientError {
  get appliedVersion(): number | null {
    return numberField(this.details, 'appliedVersion');
  }
  get minVersion(): number | null {
    return numberField(this.details, 'minVersion');
  }
}

/** 503 `NOT_ENOUGH_FOLLOWERS`: refused up front (MIN_FOLLOWERS_TO_WRITE); nothing was applied. */
export class NotEnoughFollowersError extends KvClientError {
  get inSync(): number | null {
    return numberField(this.details, 'inSync');
  }
  get required(): number | null {
    return numberField(this.details, 'required');
  }
}

/** 410 `HISTORY_COMPACTED`: a watch asked for deletes the node no longer remembers; list, then watch. */
export class HistoryCompactedError extends KvClientError {
  /** The smallest `fromVersion` the node can serve. */
  get oldestVersion(): number | null {
    return numberField(this.details, 'oldestVersion');
  }
}

/** 400 `INVALID_*`, `MALFORMED_*`, 413 too large, 415: the request itself is wrong; nothing changed. */
export class InvalidRequestError extends KvClientError {}

/** No endpoint could be reached; `details.failures` names each endpoint tried and why. */
export class UnreachableError extends KvClientError {
  get failures(): readonly string[] {
    const failures = this.details.failures;
    return Array.isArray(failures) ? failures.map(String) : [];
  }
}

/** An endpoint took longer than the timeout: a write may or may not have been applied. */
export class RequestTimeoutError extends KvClientError {}

const BY_CODE: Readonly<Record<string, new (...args: ConstructorParameters<typeof KvClientError>) => KvClientError>> = {
  KEY_NOT_FOUND: KeyNotFoundError,
  QUORUM_NOT_REACHED: QuorumNotReachedError,
  VERSION_MISMATCH: VersionMismatchError,
  NOT_LEADER: NotLeaderError,
  NOT_CAUGHT_UP: NotCaughtUpError,
  NOT_ENOUGH_FOLLOWERS: NotEnoughFollowersError,
  HISTORY_COMPACTED: HistoryCompactedError,
  INVALID_KEY: InvalidRequestError,
  INVALID_BODY: InvalidRequestError,
  INVALID_QUERY: InvalidRequestError,
  MALFORMED_JSON: InvalidRequestError,
  MALFORMED_URL: InvalidRequestError,
  VALUE_TOO_LARGE: InvalidRequestError,
  PAYLOAD_TOO_LARGE: InvalidRequestError,
  UNSUPPORTED_MEDIA_TYPE: InvalidRequestError,
};

/**
 * The error for a node's non-2xx answer. `body` is the parsed JSON answer (anything else
 * counts as no body); an answer without a `code` gets `HTTP_<status>`.
 */
export function errorFromAnswer(status: number, body: unknown, endpoint: string): KvClientError {
  const fields = isRecord(body) ? body : {};
  const code = typeof fields.code === 'string' ? fields.code : `HTTP_${status}`;
  const message = typeof fields.error === 'string' ? fields.error : `HTTP ${status}`;
  const details: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) if (name !== 'error' && name !== 'code') details[name] = value;
  const ErrorClass = BY_CODE[code] ?? KvClientError;
  return new ErrorClass(code, `${endpoint}: ${message} (${code})`, status, details, endpoint);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberField(details: Readonly<Record<string, unknown>>, name: string): number | null {
  const value = details[name];
  return typeof value === 'number' ? value : null;
}

function stringField(details: Readonly<Record<string, unknown>>, name: string): string | null {
  const value = details[name];
  return typeof value === 'string' ? value : null;
}
