import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import axios, { AxiosError } from 'axios';
import {
  CLUSTER_TOKEN_HEADER,
  ENTRIES_PATH,
  REPLICATION_BODY_LIMIT_BYTES,
  REPLICATION_PATH,
  REQUEST_ID_HEADER,
  ReplicateResponse,
  DtoValidationError,
  entryWireBytes,
  parseEntriesPage,
  type EntriesPage,
  type ReplicateRequest,
} from '@kv/protocol';
import type { Entry } from '@kv/store';
import { versionRanges, type Logger } from '@kv/node-kit';
import type { RecoveryTransport, ReplicationTransport } from '@kv/replication';
import { ReplicationStreams, StreamUnsupported } from './replication-stream';
import { refusalMessage } from './refusal-message';

/** A follower without the stream route is asked again after this long (it may have been upgraded). */
const STREAM_RETRY_AFTER_MS = 60_000;

/** A follower refused this leader: it follows another one (409 STALE_LEADER). The leader stands down. */
class FollowerRefusedLeader extends Error {
  readonly code = 'STALE_LEADER';
}

export interface HttpTransportOptions {
  readonly clusterToken: string | null;
  /** A follower that does not answer within this long (paused, overloaded) counts as failed. */
  readonly requestTimeoutMs: number;
  /** At debug, one line per replication request: its id, follower, versions and outcome. */
  readonly logger?: Logger;
  /**
   * Carry replication requests as frames of one long-lived request per follower
   * (`/replicate/stream`, replication-stream.ts) rather than a POST each; a follower without
   * that route gets POSTs. Default true.
   */
  readonly stream?: boolean;
}

function describe(error: unknown): string {
  if (error instanceof AxiosError) {
    // ERR_CANCELED: the request's deadline (below) aborted it; nothing else cancels these requests.
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT' || error.code === 'ERR_CANCELED') return `timeout: no answer within the request timeout`;
    return error.code ? `${error.code}: ${error.message}` : error.message;
  }
  if (error instanceof DtoValidationError) return `invalid answer from follower: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A batch of several MiB (a catch-up of large values) takes longer to send, apply and make
 * durable than a heartbeat: one more request timeout per MiB it carries, so a busy but
 * healthy follower is not given up on (and the batch not resent) for its size alone.
 */
export function requestTimeout(baseMs: number, request: ReplicateRequest): number {
  let bytes = 0;
  for (const entry of request.entries) bytes += entryWireBytes(entry as Entry);
  return baseMs * (1 + Math.floor(bytes / (1024 * 1024)));
}

/**
 * axios's `timeout` is the socket's idle time: a follower that keeps trickling bytes never
 * reaches it. These options add a deadline on the whole answer (wall time, `ms`), as the
 * replication stream's frames have one.
 */
function deadline(ms: number): { timeout: number; signal: AbortSignal } {
  return { timeout: ms, signal: AbortSignal.timeout(ms) };
}

const kindOf = (request: ReplicateRequest) => (request.catchUp ? 'catch-up' : request.entries.length === 0 ? 'heartbeat' : 'append');

/** The fields of a request's log line; only built when the line is written. */
function traceFields(requestId: string, follower: string, request: ReplicateRequest, started: number) {
  return {
    requestId,
    follower,
    kind: kindOf(request),
    entries: request.entries.length,
    versions: versionRanges(request.entries.map((e) => e.version)),
    ...(request.catchUp ? { catchUp: `(${request.catchUp.from}, ${request.catchUp.through}]` } : {}),
    ms: +(performance.now() - started).toFixed(2),
  };
}

/**
 * Replication over HTTP with keep-alive connections; the follower's answer is validated.
 * Every request carries its own `x-request-id` (`rep-<run>-<n>`), which the follower logs
 * with the versions it applied: with the leader's line for the client's write (request id
 * and version) that follows one write across nodes.
 */
export function createHttpTransport(options: HttpTransportOptions): ReplicationTransport & RecoveryTransport & { close(): void } {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  const client = axios.create({
    httpAgent,
    httpsAgent,
    timeout: options.requestTimeoutMs,
    maxBodyLength: REPLICATION_BODY_LIMIT_BYTES,
    maxContentLength: 64 * 1024,
    validateStatus: () => true,
    headers: options.clusterToken ? { [CLUSTER_TOKEN_HEADER]: options.clusterToken } : {},
    transitional: { clarifyTimeoutError: true },
    proxy: false,
    // A follower never redirects, and following one would hand the cluster token to
    // wherever it points; with 0, axios also uses plain `http` instead of follow-redirects.
    maxRedirects: 0,
  });
  const { logger } = options;
  const streams = options.stream === false ? null : new ReplicationStreams({ clusterToken: options.clusterToken });
  /** Followers that answered 404 to the stream (an older version), until when: they get POSTs meanwhile. */
  const withoutStream = new Map<string, number>();
  const useStream = (follower: string) => streams !== null && (withoutStream.get(follower) ?? 0) < Date.now();
  const sendOnStream = async (follower: string, request: ReplicateRequest, requestId: string): Promise<{ status: number; data: unknown }> => {
    try {
      const answer = await (streams as ReplicationStreams).send(follower, request, requestId, requestTimeout(options.requestTimeoutMs, request));
      return { status: answer.status, data: answer.body };
    } catch (error) {
      if (!(error instanceof StreamUnsupported)) throw error;
      withoutStream.set(follower, Date.now() + STREAM_RETRY_AFTER_MS);
      return client.post(follower + REPLICATION_PATH, request, { headers: { [REQUEST_ID_HEADER]: requestId }, ...deadline(requestTimeout(options.requestTimeoutMs, request)) });
    }
  };
  // Distinguishes this process's ids from those of an earlier run of the same leader.
  const run = randomBytes(4).toString('hex');
  let sequence = 0;
  return {
    async send(follower, request) {
      const requestId = `rep-${run}-${++sequence}`;
      // Heartbeats come four times a second per follower: trace, so debug stays readable.
      const level = kindOf(request) === 'heartbeat' ? 'trace' : 'debug';
      const traced = logger?.isLevelEnabled(level) ? logger : undefined;
      const started = traced ? performance.now() : 0;
      const fail = (reason: string): never => {
        traced?.[level]({ ...traceFields(requestId, follower, request, started), error: reason }, 'replication request failed');
        throw new Error(reason);
      };
      let response: { status: number; data: unknown };
      try {
        response = useStream(follower)
          ? await sendOnStream(follower, request, requestId)
          : await client.post(follower + REPLICATION_PATH, request, {
              headers: { [REQUEST_ID_HEADER]: requestId },
              ...deadline(requestTimeout(options.requestTimeoutMs, request)),
            });
      } catch (error) {
        return fail(describe(error));
      }
      if (response.status !== 200) {
        const body = response.data as { error?: unknown; code?: unknown } | undefined;
        const reason = body?.error;
        const message = refusalMessage(response.status, reason);
        if (response.status === 409 && body?.code === 'STALE_LEADER') {
          traced?.[level]({ ...traceFields(requestId, follower, request, started), error: message }, 'replication request failed');
          throw new FollowerRefusedLeader(message);
        }
        return fail(message);
      }
      let answer: ReplicateResponse;
      try {
        answer = ReplicateResponse.parse(response.data);
      } catch (error) {
        return fail(describe(error));
      }
      traced?.[level]({ ...traceFields(requestId, follower, request, started), appliedVersion: answer.appliedVersion }, 'replication request answered');
      return answer;
    },
    async entries(follower, afterVersion, maxBytes): Promise<EntriesPage> {
      let response;
      try {
        response = await client.post(
          follower + ENTRIES_PATH,
          { afterVersion, maxBytes },
          {
            headers: { [REQUEST_ID_HEADER]: `rec-${run}-${++sequence}` },
            maxContentLength: REPLICATION_BODY_LIMIT_BYTES,
            // A page of several MB takes longer than an append; a position ask (1 byte) does not.
            ...deadline(maxBytes > 1 ? options.requestTimeoutMs * 5 : options.requestTimeoutMs),
          },
        );
      } catch (error) {
        throw new Error(describe(error));
      }
      if (response.status !== 200) {
        const reason = (response.data as { error?: unknown } | undefined)?.error;
        throw new Error(refusalMessage(response.status, reason));
      }
      try {
        return parseEntriesPage(response.data);
      } catch (error) {
        throw new Error(describe(error));
      }
    },
    close() {
      streams?.close();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
