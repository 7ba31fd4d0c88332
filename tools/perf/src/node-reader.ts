import type http from 'node:http';
import { AnswerError, requestAnswer, type Answer } from './http-answer';

/** What one node answered for one key, reduced to what must agree across nodes. */
export type KeyRead =
  | { readonly kind: 'value'; readonly version: number; readonly value: string }
  | { readonly kind: 'absent' }
  | { readonly kind: 'error'; readonly reason: string; readonly timedOut?: boolean };

/** Two reads agree when both hold the same version with the same value, or both lack the key. */
export function sameRead(a: KeyRead, b: KeyRead): boolean {
  if (a.kind === 'error' || b.kind === 'error') return false;
  if (a.kind === 'absent' || b.kind === 'absent') return a.kind === b.kind;
  return a.version === b.version && a.value === b.value;
}

/** The most of one read's body taken: a stored value is at most 1 MiB (API.md), in JSON with its key and version. */
const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * `GET /kv/:key` on one node, on a keep-alive connection; never rejects, an error is a read too.
 * `timeoutMs` is a deadline on the whole answer (ms), from when the read gets a connection;
 * `signal` gives it up, waiting for one or not. Raw `http`, not @kv/client: the client
 * read about half as fast (1.9k against 3.6-4.3k GETs/s, measured 2026-11-30), which would add
 * to the convergence time this check reports.
 */
export async function readKey(agent: http.Agent, baseUrl: string, key: string, timeoutMs: number, signal?: AbortSignal): Promise<KeyRead> {
  let answer: Answer;
  try {
    answer = await requestAnswer(new URL(`/kv/${encodeURIComponent(key)}`, baseUrl), { agent, timeoutMs, maxBytes: MAX_READ_BYTES, signal });
  } catch (error) {
    // The check names the node already: the reason alone.
    if (!(error instanceof AnswerError)) return { kind: 'error', reason: String(error) };
    return error.timedOut ? { kind: 'error', reason: error.reason, timedOut: true } : { kind: 'error', reason: error.reason };
  }
  if (answer.status === 404) return { kind: 'absent' };
  if (answer.status !== 200) return { kind: 'error', reason: `HTTP ${answer.status}` };
  try {
    const body = JSON.parse(answer.text) as { version?: unknown; value?: unknown };
    if (typeof body.version !== 'number') return { kind: 'error', reason: 'answer without a version' };
    // The value is compared as JSON text: the storm writes strings, so key order cannot differ.
    return { kind: 'value', version: body.version, value: JSON.stringify(body.value) };
  } catch {
    return { kind: 'error', reason: 'answer is not JSON' };
  }
}
