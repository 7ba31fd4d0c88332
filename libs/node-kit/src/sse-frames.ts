import type { Entry } from '@kv/store';

/**
 * Server-Sent Events frames of `GET /watch` (API.md, "Watch"; WHATWG HTML, "Server-sent
 * events"): `id:` the version, `event: put|delete`, `data:` one line of JSON. JSON.stringify
 * never emits a raw newline, so one `data:` line always carries the whole object.
 */
export function changeFrame(entry: Entry): string {
  if (entry.deleted) return `id: ${entry.version}\nevent: delete\ndata: ${JSON.stringify({ key: entry.key, version: entry.version })}\n\n`;
  return `id: ${entry.version}\nevent: put\ndata: ${JSON.stringify({ key: entry.key, value: entry.value, version: entry.version })}\n\n`;
}

/** Why the node ends a stream itself: the client relists, then watches again. */
export type ResetReason = 'resync' | 'slow-consumer' | 'history-compacted' | 'shutdown';

/**
 * The last event of a stream the node ends: `event: reset`, with no `id:` (so a browser's
 * Last-Event-ID stays the last change it got). Clients that know only put/delete skip it.
 */
export function resetFrame(reason: ResetReason, detail: string): string {
  return `event: reset\ndata: ${JSON.stringify({ reason, message: detail })}\n\n`;
}

/** A comment line: keeps idle connections (and proxies) from timing out; clients ignore it. */
export const KEEP_ALIVE_FRAME = ': keep-alive\n\n';
