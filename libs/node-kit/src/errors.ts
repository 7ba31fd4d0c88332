/**
 * Every error a client can see, by stable code. The HTTP status of each code lives here and
 * only here; the README's error table lists the same codes (a test keeps them in step).
 */
export const ERROR_STATUS = {
  INVALID_KEY: 400,
  INVALID_BODY: 400,
  INVALID_QUERY: 400,
  MALFORMED_JSON: 400,
  MALFORMED_URL: 400,
  UNAUTHORIZED: 401,
  NOT_LEADER: 403,
  NOT_FOLLOWER: 403,
  KEY_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  STALE_LEADER: 409,
  HISTORY_COMPACTED: 410,
  VERSION_MISMATCH: 412,
  VALUE_TOO_LARGE: 413,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  QUORUM_NOT_REACHED: 503,
  UNAVAILABLE: 503,
  NOT_ENOUGH_FOLLOWERS: 503,
  NOT_CAUGHT_UP: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class KvError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra fields of the JSON answer, e.g. the `leader` hint or a failed write's version. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'KvError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
