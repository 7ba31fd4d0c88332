import type { JsonValue } from '@kv/store';

/** Shapes of the client API's answers (API.md). */
export interface WriteResponse {
  key: string;
  version: number;
  acks: number;
  quorum: number;
}

export interface ReadResponse {
  key: string;
  value: JsonValue;
  version: number;
}

export interface ListResponse {
  items: ReadResponse[];
  next: string | null;
}

export interface ErrorResponse {
  error: string;
  code: string;
  [detail: string]: unknown;
}

export type FollowerState = 'up' | 'catching-up' | 'down';

export interface FollowerStatus {
  url: string;
  ackedVersion: number;
  lag: number;
  state: FollowerState;
  lastError: string | null;
}

export interface LeaderStatus {
  role: 'leader';
  /** `recovering` at start until it took the newest state from its followers; `fenced` once another leader took them over. */
  state: 'recovering' | 'serving' | 'fenced';
  version: number;
  keys: number;
  writeQuorum: number;
  /** Followers in sync now (MIN_FOLLOWERS_TO_WRITE's count), shown also when that setting is off. */
  inSync: number;
  followers: FollowerStatus[];
  /** This leader's epoch: a counter above every epoch its followers had (absent while it recovers). */
  epoch?: number;
  /** Why it does not serve, when it does not. */
  reason?: string;
  /** While (and after) it recovered: how many followers answered of how many, and how many it needs. */
  recovery?: { followers: number; answered: number; required: number; phase: 'asking' | 'transferring' };
}

export interface FollowerNodeStatus {
  role: 'follower';
  appliedVersion: number;
  keys: number;
}

export interface HealthResponse {
  status: 'ok';
  role: 'leader' | 'follower';
}
