import type { ReplicateRequest, ReplicateResponse } from '@kv/protocol';

/**
 * Carries one replication request to one follower. Resolves with the follower's validated
 * answer; rejects with an Error whose message says what went wrong, in words an operator
 * reads in `/status` (`lastError`).
 */
export interface ReplicationTransport {
  send(follower: string, request: ReplicateRequest): Promise<ReplicateResponse>;
}
