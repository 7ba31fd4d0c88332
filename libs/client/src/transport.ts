import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';

/** A node's answer, whatever its status. `body` is parsed JSON, or the raw text when it is not JSON. */
export interface HttpAnswer {
  readonly endpoint: string;
  readonly status: number;
  readonly body: unknown;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** A streamed answer (watch): the body is left unread unless the status is not 200. */
export interface StreamAnswer extends Omit<HttpAnswer, 'body'> {
  readonly stream: Readable;
}

/**
 * Why no answer came:
 * - `not-sent`: the connection was never made (refused, unknown host): safe to send elsewhere;
 * - `timeout`: no answer within the timeout: the request may have been applied;
 * - `lost`: the connection broke after the request left: it may have been applied.
 */
export type FailureKind = 'not-sent' | 'timeout' | 'lost';

export class TransportFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
    this.name = 'TransportFailure';
  }
}

export interface HttpRequest {
  readonly endpoint: string;
  readonly method: 'GET' | 'PUT' | 'DELETE';
  /** Path from the endpoint's base, e.g. `/kv/a%2Fb`. */
  readonly path: string;
  /** Query parameters; undefined ones are left out. */
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** The longest delay a Node timer holds (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timeout in ms as a Node timer can hold it: null for none (0, negative, NaN or infinite),
 * longer ones cut to MAX_TIMER_MS (Node would fire them after 1 ms).
 */
export function boundedTimerMs(ms: number): number | null {
  if (!(ms > 0) || ms === Infinity) return null;
  return Math.min(ms, MAX_TIMER_MS);
}

/** A non-200 answer to a stream request is an error document: never read past this. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL']);
const TIMEOUT = new Set(['ETIMEDOUT', 'ECONNABORTED']);

/** `endpoint` + `path` + the defined query parameters, percent-encoded. */
export function requestUrl(endpoint: string, path: string, query: HttpRequest['query'] = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const search = params.toString();
  return `${endpoint.replace(/\/+$/, '')}${path}${search ? `?${search}` : ''}`;
}

/** HTTP over axios with keep-alive agents; never throws for a status, only for a missing answer. */
export class Transport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly axios: AxiosInstance;

  constructor(keepAlive = true) {
    this.httpAgent = new http.Agent({ keepAlive });
    this.httpsAgent = new https.Agent({ keepAlive });
    this.axios = axios.create({
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      // A status is an answer to map, not an exception; redirects and proxies are not in the contract.
      validateStatus: () => true,
      maxRedirects: 0,
      proxy: false,
      transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: true },
    });
  }

  /**
   * Sends one request; rejects with a {@link TransportFailure} when no whole answer arrives
   * within `timeoutMs` (a deadline: an answer that keeps trickling in fails as one that never
   * came).
   */
  async request(request: HttpRequest): Promise<HttpAnswer> {
    const deadline = this.deadline(request);
    try {
      const response = await this.send(request, 'json', deadline.signal);
      return { endpoint: request.endpoint, status: response.status, body: response.data as unknown, headers: headersOf(response) };
    } catch (error) {
      throw deadline.failure(error);
    } finally {
      deadline.clear();
    }
  }

  /**
   * Like {@link request} with the body as a stream. `timeoutMs` (when above 0) bounds the wait
   * for the headers; a 200's body is then the caller's to read for as long as it likes. A
   * non-200 body is read and parsed within the same deadline, and at most
   * MAX_ERROR_BODY_BYTES of it.
   */
  async stream(request: HttpRequest): Promise<StreamAnswer & { body?: unknown }> {
    const deadline = this.deadline(request);
    try {
      const response = await this.send(request, 'stream', deadline.signal);
      const stream = response.data as Readable;
      const answer = { endpoint: request.endpoint, status: response.status, headers: headersOf(response), stream };
      if (response.status === 200) return answer;
      const chunks: Buffer[] = [];
      let bytes = 0;
      try {
        for await (const chunk of stream) {
          const piece = Buffer.from(chunk as Buffer);
          chunks.push(piece.subarray(0, Math.max(0, MAX_ERROR_BODY_BYTES - bytes)));
          bytes += piece.length;
          if (bytes >= MAX_ERROR_BODY_BYTES) {
            stream.destroy();
            break;
          }
        }
      } catch (error) {
        // The refusal broke off mid-body: no answer, as a broken connection before it.
        const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
        throw new TransportFailure('lost', request.endpoint, `${request.endpoint}: connection failed (${code}: ${(error as Error).message})`);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (or cut at the bound): keep the text
      }
      return { ...answer, body };
    } catch (error) {
      throw deadline.failure(error);
    } finally {
      deadline.clear();
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * The request's deadline: aborts it `timeoutMs` after it starts (none when 0, not finite, or
   * beyond what a Node timer holds: boundedTimerMs). axios's own `timeout` is the socket's idle
   * time, which an answer that keeps trickling never reaches; this one is wall time. The
   * caller's signal is forwarded by a listener removed in `clear` (not AbortSignal.any, which
   * ignores signals that are not Node's own and, on Node 20, keeps every combined signal
   * linked to the caller's for good). `failure` turns an abort by the deadline into a
   * `timeout` failure; an abort by the caller stays a cancellation.
   */
  private deadline(request: HttpRequest): { signal: AbortSignal | undefined; failure: (error: unknown) => unknown; clear: () => void } {
    const ms = boundedTimerMs(request.timeoutMs);
    if (ms === null) return { signal: request.signal, failure: (error) => error, clear: () => undefined };
    const controller = new AbortController();
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      controller.abort();
    }, ms);
    const caller = request.signal;
    const forward = () => controller.abort(caller?.reason);
    if (caller?.aborted) forward();
    else caller?.addEventListener('abort', forward, { once: true });
    return {
      signal: controller.signal,
      failure: (error) =>
        expired && !caller?.aborted ? new TransportFailure('timeout', request.endpoint, `${request.endpoint}: no answer within ${request.timeoutMs} ms`) : error,
      clear: () => {
        clearTimeout(timer);
        caller?.removeEventListener('abort', forward);
      },
    };
  }

  private async send(request: HttpRequest, responseType: 'json' | 'stream', signal: AbortSignal | undefined): Promise<AxiosResponse> {
    const url = requestUrl(request.endpoint, request.path, request.query);
    try {
      return await this.axios.request({
        url,
        method: request.method,
        data: request.body === undefined ? undefined : JSON.stringify(request.body),
        headers: { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
        timeout: boundedTimerMs(request.timeoutMs) ?? 0,
        signal,
        responseType,
        // Streams stay open for as long as the caller reads: the socket's idle timeout would cut
        // a quiet one (the deadline bounds the wait for its headers).
        ...(responseType === 'stream' ? { timeout: 0 } : {}),
      });
    } catch (error) {
      throw toFailure(error, request.endpoint, request.timeoutMs);
    }
  }
}

function headersOf(response: AxiosResponse): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(response.headers as Record<string, unknown>)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value === undefined || value === null ? undefined : String(value);
  }
  return headers;
}

function toFailure(error: unknown, endpoint: string, timeoutMs: number): Error {
  if (!(error instanceof AxiosError)) return error instanceof Error ? error : new Error(String(error));
  if (error.code === 'ERR_CANCELED') return error;
  const code = error.code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR';
  if (NOT_SENT.has(code)) return new TransportFailure('not-sent', endpoint, `${endpoint}: cannot connect (${code})`);
  if (TIMEOUT.has(code)) return new TransportFailure('timeout', endpoint, `${endpoint}: no answer within ${timeoutMs} ms`);
  return new TransportFailure('lost', endpoint, `${endpoint}: connection failed (${code}: ${error.message})`);
}
