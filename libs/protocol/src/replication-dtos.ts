import { IsArray, IsBoolean, IsInt, IsOptional, IsString, Length, Max, Min, ValidateIf } from 'class-validator';
import type { Entry, JsonValue } from '@kv/store';
import { IsAtLeastProperty, IsPresent, IsStoreKey, IsStorableJson } from './decorators';
import { keyProblem } from './key';
import { jsonValueProblem } from './json-value';
import { MAX_SAFE_VERSION, MAX_VALUE_DEPTH } from './limits';
import { assertValid, copyInto, instantiate, isPlainObject, parseFlat, problemsOf, type DtoProblem } from './validate';

/** One write as it travels from the leader to a follower. */
export class ReplicatedEntry {
  @IsStoreKey()
  key!: string;

  @IsInt()
  @Min(1)
  @Max(MAX_SAFE_VERSION)
  version!: number;

  @IsBoolean()
  deleted!: boolean;

  @ValidateIf((entry: ReplicatedEntry) => entry.deleted === false)
  @IsPresent({ message: 'value is required unless deleted is true' })
  @IsStorableJson(MAX_VALUE_DEPTH)
  value?: JsonValue;
}

/**
 * Marks a catch-up batch: together with the entries it carries, the follower now holds
 * every write with `from < version <= through` (or a newer write to the same key).
 */
export class CatchUpRange {
  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  from!: number;

  @IsInt()
  @IsAtLeastProperty('from')
  @Max(MAX_SAFE_VERSION)
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
  @Max(MAX_SAFE_VERSION)
  leaderEpoch!: number;

  /** Each entry is validated on its own (see parse), so no `@ValidateNested` here. */
  @IsArray()
  entries!: ReplicatedEntry[];

  @IsOptional()
  catchUp?: CatchUpRange;

  /**
   * Validates the nested DTOs one by one rather than with `@ValidateNested`, which
   * recurses into arrays nested in arrays and overflows the stack on `[[[[...]]]]`.
   */
  static parse(body: unknown): ReplicateRequest {
    const problems: DtoProblem[] = [];
    const request = instantiate(ReplicateRequest, body, 'replication request', problems);
    if (Array.isArray(request.entries)) {
      request.entries = request.entries.map((entry, i) =>
        isWellFormedEntry(entry) ? Object.assign(new ReplicatedEntry(), entry) : nested(ReplicatedEntry, entry, `entries.${i}`, problems),
      );
    }
    if (request.catchUp !== undefined && request.catchUp !== null) {
      request.catchUp = nested(CatchUpRange, request.catchUp, 'catchUp', problems);
    }
    return assertValid(request, problems);
  }
}

const ENTRY_PROPERTIES: ReadonlySet<string> = new Set(['key', 'version', 'deleted', 'value']);

/**
 * The accept path for one replicated entry: true only for an entry class-validator finds
 * nothing wrong with (replication-dtos.spec.ts holds the two to the same verdict). A
 * catch-up batch carries thousands of entries, and class-validator's metadata walk costs
 * microseconds each, which a follower pays on every batch; anything this refuses still
 * goes the full way, for class-validator's messages.
 */
export function isWellFormedEntry(entry: unknown): boolean {
  if (!isPlainObject(entry)) return false;
  for (const property of Object.keys(entry)) if (!ENTRY_PROPERTIES.has(property)) return false;
  const { key, version, deleted, value } = entry;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) return false;
  if (typeof deleted !== 'boolean' || keyProblem(key) !== null) return false;
  // As @ValidateIf: a tombstone's value is not looked at.
  return deleted || (value !== undefined && jsonValueProblem(value, MAX_VALUE_DEPTH) === null);
}

/** A nested DTO, its problems added to `problems` under `path`. */
function nested<T extends object>(dtoClass: new () => T, plain: unknown, path: string, problems: DtoProblem[]): T {
  if (!isPlainObject(plain)) {
    problems.push({ path, message: `${path} must be a JSON object`, constraints: ['isObject'] });
    return new dtoClass();
  }
  const dto = copyInto(new dtoClass(), plain, path, problems);
  problems.push(...problemsOf(dto, path));
  return dto;
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
    return parseFlat(ReplicateResponse, body, 'replication response');
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
