/**
 * The most of a follower's refusal text carried into an error message: the message becomes
 * the follower's `lastError` in `/status`, the recovery's reason and a log line, and a
 * follower's answer may hold up to 64 KiB of it.
 */
export const MAX_REASON_CHARS = 512;

/**
 * `HTTP <status>`, then `: <reason>` when the follower's answer named one (its `error` field,
 * a string), cut to MAX_REASON_CHARS characters and marked `…` when longer. Used for every
 * refusal the leader reads, on the stream and in a POST's answer alike.
 */
export function refusalMessage(status: number, reason: unknown): string {
  if (typeof reason !== 'string') return `HTTP ${status}`;
  return `HTTP ${status}: ${reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason}`;
}
