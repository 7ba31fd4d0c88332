/**
 * The same watchers as `watchers.ts`, held open on an etcd member through its HTTP gateway
 * (etcd 3.4: `POST /v3/watch`), so a storm measures what they cost etcd beside what they cost
 * this store.
 */
import http from 'node:http';
import { etcdPost } from './etcd-cluster';
import { establishWithin } from './http-answer';
import { holdStreams, newStreamSet, type WatcherPool } from './watchers';

/** etcd's gateway path for a watch stream; 3.4 serves it under /v3. */
export const ETCD_WATCH_PATH = '/v3/watch';

/**
 * The end of the key range that holds exactly the keys starting with `prefix` (clientv3's
 * `GetPrefixRangeEnd`): the prefix with its last byte below 0xff raised by one and what
 * follows it dropped; `\0` (every key from `key` on) when there is no such byte, as for the
 * empty prefix or one of 0xff bytes only.
 */
export function etcdPrefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]++;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** The gateway's body for a watch of every key starting with `prefix` (a string is taken as UTF-8). */
export interface EtcdWatchRequest {
  readonly create_request: { readonly key: string; readonly range_end: string };
}

/**
 * The body of `POST /v3/watch` for every key starting with `prefix`: base64 `key` and
 * `range_end`. The empty prefix watches the whole keyspace as clientv3 does it, key `\0` and
 * range_end `\0` (every key from `\0` on).
 */
export function etcdWatchRequest(prefix: Uint8Array | string): EtcdWatchRequest {
  const bytes = typeof prefix === 'string' ? Buffer.from(prefix, 'utf8') : prefix;
  const key = bytes.length === 0 ? new Uint8Array([0]) : bytes;
  return { create_request: { key: Buffer.from(key).toString('base64'), range_end: Buffer.from(etcdPrefixRangeEnd(bytes)).toString('base64') } };
}

/**
 * Counts the occurrences of `needle` in a stream of text chunks split anywhere: each chunk is
 * scanned once, with only the last `needle.length - 1` characters of the previous one kept in
 * front of it, so a chunk costs in proportion to its size.
 */
export class NeedleCounter {
  private tail = '';

  constructor(private readonly needle: string) {
    if (needle.length === 0) throw new Error('NeedleCounter needs a non-empty needle');
  }

  /** Takes the next chunk; returns the occurrences it completed. */
  push(chunk: string): number {
    const text = this.tail === '' ? chunk : this.tail + chunk;
    let count = 0;
    let counted = 0;
    for (let at = text.indexOf(this.needle); at >= 0; at = text.indexOf(this.needle, counted)) {
      count++;
      counted = at + this.needle.length;
    }
    // Shorter than the needle and after the last occurrence counted, so none is counted twice.
    this.tail = text.slice(Math.max(counted, text.length - this.needle.length + 1));
    return count;
  }
}

/** What one chunk of a gateway watch stream completed. */
export interface EtcdWatchChunk {
  /** Events (entries of a response's `events` array). */
  readonly events: number;
  /** Responses confirming the watch was created. */
  readonly created: number;
  /** Responses saying the watch was canceled, or gateway errors: the stream gives no more events. */
  readonly ended: number;
}

/**
 * Counts the events of an etcd 3.4 gateway watch stream: newline-delimited JSON
 * `{"result":{"header":{…},"events":[{"kv":{…}},{"type":"DELETE","kv":{…}}]}}`, split anywhere
 * into chunks. Every event has exactly one `"kv":` member, and nothing else in a watch
 * response does: the header's fields and the base64 keys and values cannot hold it, `prev_kv`
 * is not `"kv":`, and a quote inside a JSON string (a `cancel_reason`, an error's `message`)
 * is escaped as `\"`. So counting that text counts the events without parsing the JSON, as
 * `SseEventCounter` counts frames: in proportion to the bytes, on the cores the measured
 * cluster runs on. Also counts `"created":true` (the watch is registered) and
 * `"canceled":true` or `{"error":` (the watch is over).
 */
export class EtcdWatchCounter {
  private readonly events = new NeedleCounter('"kv":');
  private readonly created = new NeedleCounter('"created":true');
  private readonly canceled = new NeedleCounter('"canceled":true');
  private readonly errors = new NeedleCounter('{"error":');

  push(chunk: string): EtcdWatchChunk {
    return { events: this.events.push(chunk), created: this.created.push(chunk), ended: this.canceled.push(chunk) + this.errors.push(chunk) };
  }
}

/**
 * Opens one gateway watch stream on the etcd member `memberUrl` per entry of `prefixes`
 * (`etcdWatchRequest`), each on its own connection, and counts the events they receive.
 * Resolves once etcd confirmed every watch (`"created":true`), or rejects naming the first
 * that was not confirmed within `timeoutMs`. `ended` counts streams that closed, or whose
 * watch etcd canceled, before `close()`.
 */
export async function openEtcdWatchers(memberUrl: string, prefixes: ReadonlyArray<string>, options: { timeoutMs?: number } = {}): Promise<WatcherPool> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const streams = newStreamSet();
  const { agent, requests, state } = streams;
  const url = new URL(ETCD_WATCH_PATH, memberUrl);
  const one = (prefix: string) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify(etcdWatchRequest(prefix));
      const request = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            reject(new Error(`watch on ${memberUrl} answered ${response.statusCode}`));
            return;
          }
          const counter = new EtcdWatchCounter();
          let confirmed = false;
          let over = false;
          const end = (why: string) => {
            if (over) return;
            over = true;
            if (confirmed) state.open--;
            else reject(new Error(`watch on ${memberUrl} ${why} before etcd confirmed it`));
            if (!state.closing) state.ended++;
          };
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            const seen = counter.push(chunk);
            state.events += seen.events;
            if (!confirmed && seen.created > 0) {
              confirmed = true;
              established();
              state.open++;
              resolve();
            }
            if (seen.ended > 0) end(`was canceled (${chunk.slice(0, 200)})`);
          });
          response.on('close', () => end('closed'));
        },
      );
      const established = establishWithin(request, timeoutMs, `watch on ${memberUrl}: not confirmed within ${timeoutMs} ms`);
      request.on('error', (error) => {
        if (!state.closing) reject(error);
      });
      requests.push(request);
      request.end(body);
    });
  return holdStreams(streams, prefixes, one);
}

interface StatusAnswer {
  readonly header?: { readonly revision?: string };
}

/** A member's current revision from `POST /v3/maintenance/status`; null when it does not answer. */
export async function etcdRevision(memberUrl: string): Promise<number | null> {
  try {
    const { status, body } = await etcdPost(memberUrl, '/v3/maintenance/status', {});
    const revision = Number((body as StatusAnswer | null)?.header?.revision);
    return status === 200 && Number.isInteger(revision) ? revision : null;
  } catch {
    return null;
  }
}

/**
 * Waits until the member `watchUrl` has applied every revision `writeUrl` had when this was
 * called (etcd's counterpart of the cluster's convergence check, before the watchers' events
 * are counted); resolves with how long that took, or null when it did not within `timeoutMs`.
 */
export async function waitEtcdCaughtUp(writeUrl: string, watchUrl: string, timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  const target = await etcdRevision(writeUrl);
  if (target === null) return null;
  for (;;) {
    const revision = await etcdRevision(watchUrl);
    if (revision !== null && revision >= target) return Date.now() - started;
    if (Date.now() - started > timeoutMs) return null;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The member to hold watchers on: another than the one the storm writes to (the cluster's
 * watchers are on a follower, not on the leader), else that one when it is the only member known.
 */
export function etcdWatchMember(writeUrl: string, memberUrls: readonly string[]): string {
  return memberUrls.find((url) => url !== writeUrl) ?? writeUrl;
}
