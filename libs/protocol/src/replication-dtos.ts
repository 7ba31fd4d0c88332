import { IsArray, IsBoolean, IsInt, IsOptional, IsString, Length, Min, ValidateIf, ValidateNested } from 'class-validator';
import type { Entry, JsonValue } from '@kv/store';
import { IsAtLeastProperty, IsPresent, IsStoreKey } from './decorators';
import { assertValid, instantiate, isPlainObject } from './validate';

/** One write as it travels from the leader to a follower. */
export class ReplicatedEntry {
  @IsStoreKey()
  key!: string;

  @IsInt()
  @Min(1)
  version!: number;

  @IsBoolean()
  deleted!: boolean;

  @ValidateIf((entry: ReplicatedEntry) => entry.deleted === false)
  @IsPresent({ message: 'value is required unless deleted is true' })
  value?: JsonValue;
}

/**
 * Marks a catch-up batch: together with the entries it carries, the follower now holds
 * every write with `from < version <= through` (or a newer write to the same key).
 */
export class CatchUpRange {
  @IsInt()
  @Min(0)
  from!: number;

  @IsInt()
  @IsAtLeastProperty('from')
  through!: number;
}

/**
 * `POST /replicate`. An empty `entries` without `catchUp` is a heartbeat.
 * `leaderEpoch` identifies the leader's history: a follower that sees a newer epoch drops
 * what it holds from an older one (a leader restarted without its data).
 */
export class ReplicateRequest {
  @IsInt()
  @Min(1)
  leaderEpoch!: number;

  @IsArray()
  @ValidateNested({ each: true })
  entries!: ReplicatedEntry[];

  @IsOptional()
  @ValidateNested()
  catchUp?: CatchUpRange;

  static parse(body: unknown): ReplicateRequest {
    const request = instantiate(ReplicateRequest, body, 'replication request');
    if (Array.isArray(request.entries)) {
      request.entries = request.entries.map((e) => (isPlainObject(e) ? Object.assign(new ReplicatedEntry(), e) : e));
    }
    if (isPlainObject(request.catchUp)) request.catchUp = Object.assign(new CatchUpRange(), request.catchUp);
    return assertValid(request);
  }
}

/** A follower's answer to every replication request: its position after applying it. */
export class ReplicateResponse {
  /** Changes every time the follower process starts: a new id means it may have lost memory. */
  @IsString()
  @Length(1, 128)
  followerId!: string;

  @IsInt()
  @Min(0)
  leaderEpoch!: number;

  /** Everything up to this version is applied on the follower. */
  @IsInt()
  @Min(0)
  appliedVersion!: number;

  static parse(body: unknown): ReplicateResponse {
    return assertValid(instantiate(ReplicateResponse, body, 'replication response'));
  }
}

export function toReplicatedEntry(entry: Entry): ReplicatedEntry {
  return entry as ReplicatedEntry;
}

export function toStoreEntry(entry: ReplicatedEntry): Entry {
  return entry.deleted
    ? { key: entry.key, version: entry.version, deleted: true }
    : { key: entry.key, version: entry.version, deleted: false, value: entry.value as JsonValue };
}
