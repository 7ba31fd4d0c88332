import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError } from 'axios';
import { CLUSTER_TOKEN_HEADER, REPLICATION_BODY_LIMIT_BYTES, REPLICATION_PATH, ReplicateResponse, DtoValidationError } from '@kv/protocol';
import type { ReplicationTransport } from '@kv/replication';

export interface HttpTransportOptions {
  readonly clusterToken: string | null;
  /** A follower that does not answer within this long (paused, overloaded) counts as failed. */
  readonly requestTimeoutMs: number;
}

function describe(error: unknown): string {
  if (error instanceof AxiosError) {
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT') return `timeout: no answer within the request timeout`;
    return error.code ? `${error.code}: ${error.message}` : error.message;
  }
  if (error instanceof DtoValidationError) return `invalid answer from follower: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Replication over HTTP with keep-alive connections; the follower's answer is validated. */
export function createHttpTransport(options: HttpTransportOptions): ReplicationTransport & { close(): void } {
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
  });
  return {
    async send(follower, request) {
      let response;
      try {
        response = await client.post(follower + REPLICATION_PATH, request);
      } catch (error) {
        throw new Error(describe(error));
      }
      if (response.status !== 200) {
        const reason = (response.data as { error?: unknown } | undefined)?.error;
        throw new Error(`HTTP ${response.status}${typeof reason === 'string' ? `: ${reason}` : ''}`);
      }
      try {
        return ReplicateResponse.parse(response.data);
      } catch (error) {
        throw new Error(describe(error));
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
