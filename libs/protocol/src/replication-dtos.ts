import { LRUCache } from 'lru-cache';
import { IsArray, IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min, ValidateIf } from 'class-validator';
import type { Entry, JsonValue } from '@kv/store';
import { IsAtLeastProperty, IsPresent, IsStoreKey, IsStorableJson, IsVersionRanges } from './decorators';
import { keyProblem } from './key';
import { jsonValueProblem } from './json-value';
import { MAX_SAFE_VERSION, MAX_VALUE_DEPTH, REPLICATION_BODY_LIMIT_BYTES } from './limits';
import { DtoValidationError, assertValid, copyInto, instantiate, isPlainObject, parseFlat, problemsOf, type DtoProblem } from './validate';

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
 * Marks a catch-up: the leader streams the entries of one frozen state with
 * `from < version <= through` in batches; the message with `done` (sent once every batch
 * was acknowledged) tells the follower it now holds every write in that range (or a newer
 * write to the same key). Not before: mid-way, a key whose entry lies further on is missing.
 * `resync` marks a full resync, numbered per leader process: the follower empties its store
 * when a resync it has not seen starts (never again for a late duplicate of one it finished),
 * and ignores live entries at or below `through` until done: they predate the state it receives.
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

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SAFE_VERSION)
  resync?: number;

  @IsOptional()
  @IsBoolean()
  done?: boolean;
}

/** A leader process's id: random per start, so two leaders that chose one epoch are told apart. */
const LEADER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `POST /replicate`. An empty `entries` without `catchUp` is a heartbeat.
 * `leaderEpoch` is a counter (never a clock) that every new leader process takes above every
 * epoch its followers report; with `leaderId` it names the history a follower follows. A
 * follower refuses a lower epoch (409), and keeps what it holds when a newer one speaks
 * until that leader says how to join: by a catch-up (its history extends what the follower
 * holds) or a full resync (API.md guarantee 7).
 */
export class ReplicateRequest {
  @IsInt()
  @Min(1)
  @Max(MAX_SAFE_VERSION)
  leaderEpoch!: number;

  @IsOptional()
  @IsString()
  @Matches(LEADER_ID, { message: 'leaderId must be 1 to 64 characters from [A-Za-z0-9_-]' })
  leaderId?: string;

  /** The leader's version when it sent this: a follower at or above it was caught up (its /readyz). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  leaderVersion?: number;

  /** The leader's tombstone horizon: every follower holds everything up to it, so tombstones up to it may go. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  droppedThrough?: number;

  /** Each entry is validated on its own (see parse), so no `@ValidateNested` here. */
  @IsArray()
  entries!: ReplicatedEntry[];

  @IsOptional()
  catchUp?: CatchUpRange;

  /**
   * The request in `body`, validated: a well-formed one (isWellFormedRequest) without
   * class-validator, anything else through `parseFully`. Throws DtoValidationError.
   */
  static parse(body: unknown): ReplicateRequest {
    if (isWellFormedRequest(body)) {
      const request = Object.assign(new ReplicateRequest(), body);
      request.entries = body.entries.map((entry) => Object.assign(new ReplicatedEntry(), entry));
      if (body.catchUp === null) delete request.catchUp;
      else if (body.catchUp !== undefined) request.catchUp = Object.assign(new CatchUpRange(), body.catchUp);
      return request;
    }
    return ReplicateRequest.parseFully(body);
  }

  /**
   * The class-validator path, which names every problem: what `parse` falls back to (and
   * what tests hold its accept path to). Validates the nested DTOs one by one rather than
   * with `@ValidateNested`, which recurses into arrays nested in arrays and overflows the
   * stack on `[[[[...]]]]`. Throws DtoValidationError.
   */
  static parseFully(body: unknown): ReplicateRequest {
    const problems: DtoProblem[] = [];
    const request = instantiate(ReplicateRequest, body, 'replication request', problems);
    if (Array.isArray(request.entries)) {
      request.entries = request.entries.map((entry, i) =>
        isWellFormedEntry(entry) ? Object.assign(new ReplicatedEntry(), entry) : nested(ReplicatedEntry, entry, `entries.${i}`, problems),
      );
    }
    if (request.catchUp === null) delete request.catchUp; // as absent, as @IsOptional reads it
    if (request.catchUp !== undefined) {
      request.catchUp = nested(CatchUpRange, request.catchUp, 'catchUp', problems);
    }
    return assertValid(request, problems);
  }
}

const ENTRY_PROPERTIES: ReadonlySet<string> = new Set(['key', 'version', 'deleted', 'value']);
const REQUEST_PROPERTIES: ReadonlySet<string> = new Set(['leaderEpoch', 'leaderId', 'leaderVersion', 'droppedThrough', 'entries', 'catchUp']);
const CATCH_UP_PROPERTIES: ReadonlySet<string> = new Set(['from', 'through', 'resync', 'done']);
const isVersionFrom = (value: unknown, min: number): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/**
 * The accept path for a whole replication request: true only for a request class-validator
 * finds nothing wrong with, entries included (replication-dtos.spec.ts holds the two to the
 * same verdict). A follower parses one per frame, and class-validator's walk over the
 * envelope was a tenth of a follower's steady CPU under a write storm; anything this
 * refuses still goes the full way, for class-validator's messages.
 */
export function isWellFormedRequest(body: unknown): body is ReplicateRequest & { entries: unknown[]; catchUp?: CatchUpRange | null } {
  if (!isPlainObject(body)) return false;
  for (const property of Object.keys(body)) if (!REQUEST_PROPERTIES.has(property)) return false;
  const { leaderEpoch, leaderId, leaderVersion, droppedThrough, entries, catchUp } = body;
  if (!isVersionFrom(leaderEpoch, 1)) return false;
  if (leaderId !== undefined && leaderId !== null && (typeof leaderId !== 'string' || !LEADER_ID.test(leaderId))) return false;
  if (leaderVersion !== undefined && leaderVersion !== null && !isVersionFrom(leaderVersion, 0)) return false;
  if (droppedThrough !== undefined && droppedThrough !== null && !isVersionFrom(droppedThrough, 0)) return false;
  if (catchUp !== undefined && catchUp !== null) {
    if (!isPlainObject(catchUp)) return false;
    for (const property of Object.keys(catchUp)) if (!CATCH_UP_PROPERTIES.has(property)) return false;
    const { from, through, resync, done } = catchUp;
    if (!isVersionFrom(from, 0) || !isVersionFrom(through, from)) return false;
    if (resync !== undefined && resync !== null && !isVersionFrom(resync, 1)) return false;
    if (done !== undefined && done !== null && typeof done !== 'boolean') return false;
  }
  if (!Array.isArray(entries)) return false;
  for (const entry of entries) if (!isWellFormedEntry(entry)) return false;
  return true;
}

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

/** At most this many version ranges above the watermark are reported; more makes a history unprovable. */
export const MAX_REPORTED_RANGES = 256;

/**
 * A follower's answer to every replication request: its position after applying it, and
 * the history it follows (`leaderEpoch`, `leaderId`; '' before it followed anyone).
 */
export class ReplicateResponse {
  /** Changes every time the follower process starts: a new id means it may have lost memory. */
  @IsString()
  @Length(1, 128)
  followerId!: string;

  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  leaderEpoch!: number;

  @IsOptional()
  @IsString()
  @Length(0, 64)
  leaderId?: string;

  /** Everything up to this version is applied on the follower. */
  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  appliedVersion!: number;

  /** Ranges `[from, through]` held above `appliedVersion` (writes that arrived out of order). */
  @IsOptional()
  @IsArray()
  @IsVersionRanges()
  ranges?: Array<[number, number]>;

  /** Its tombstone horizon: deletes at or below it may be forgotten here. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  droppedThrough?: number;

  /** The highest version a leader told it it had assigned (`leaderVersion`): a recovering leader continues above it. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  seenVersion?: number;

  /** Every answer the leader gets goes through here: the well-formed ones skip class-validator's metadata walk. */
  static parse(body: unknown): ReplicateResponse {
    if (isWellFormedResponse(body)) return Object.assign(new ReplicateResponse(), body);
    return parseFlat(ReplicateResponse, body, 'replication response');
  }
}

const RESPONSE_PROPERTIES: ReadonlySet<string> = new Set(['followerId', 'leaderEpoch', 'leaderId', 'appliedVersion', 'ranges', 'droppedThrough', 'seenVersion']);
const isVersion = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * The accept path for a follower's answer: true only for an answer class-validator finds
 * nothing wrong with (replication-dtos.spec.ts holds the two to the same verdict); anything
 * else goes the full way, for its messages. The leader parses one per replication request.
 */
export function isWellFormedResponse(body: unknown): body is ReplicateResponse {
  if (!isPlainObject(body)) return false;
  for (const property of Object.keys(body)) if (!RESPONSE_PROPERTIES.has(property)) return false;
  const { followerId, leaderEpoch, leaderId, appliedVersion, ranges, droppedThrough, seenVersion } = body;
  if (typeof followerId !== 'string' || followerId.length < 1 || followerId.length > 128) return false;
  if (!isVersion(leaderEpoch) || !isVersion(appliedVersion)) return false;
  if (leaderId !== undefined && (typeof leaderId !== 'string' || leaderId.length > 64)) return false;
  if (droppedThrough !== undefined && !isVersion(droppedThrough)) return false;
  if (seenVersion !== undefined && !isVersion(seenVersion)) return false;
  if (ranges === undefined) return true;
  if (!Array.isArray(ranges) || ranges.length > MAX_REPORTED_RANGES) return false;
  let previous = -1;
  for (const pair of ranges) {
    if (!Array.isArray(pair) || pair.length !== 2) return false;
    const [from, through] = pair as unknown[];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(through) || (from as number) <= previous || (through as number) < (from as number)) return false;
    previous = through as number;
  }
  return true;
}

/** `POST /replicate/entries`: a page of a follower's state, for a leader recovering it (API.md guarantee 7). */
export class EntriesRequest {
  /** Entries (tombstones included) with a version above this, in version order. */
  @IsInt()
  @Min(0)
  @Max(MAX_SAFE_VERSION)
  afterVersion!: number;

  /** Serialized entry bytes per page; one entry larger than this still comes alone. */
  @IsInt()
  @Min(1)
  @Max(REPLICATION_BODY_LIMIT_BYTES)
  maxBytes!: number;

  static parse(body: unknown): EntriesRequest {
    return parseFlat(EntriesRequest, body, 'entries request');
  }
}

/** The answer: the follower's position when the page was read, the page, and where the next starts (null at the end). */
export interface EntriesPage {
  position: ReplicateResponse;
  entries: ReplicatedEntry[];
  next: number | null;
}

/** Validates a page from a follower; throws DtoValidationError. */
export function parseEntriesPage(body: unknown): EntriesPage {
  if (!isPlainObject(body) || !Array.isArray(body.entries)) {
    throw new DtoValidationError([{ path: '', message: 'entries page must be an object with an entries array', constraints: ['isObject'] }]);
  }
  const position = ReplicateResponse.parse(body.position);
  const problems: DtoProblem[] = [];
  const entries = body.entries.map((entry, i) =>
    isWellFormedEntry(entry) ? Object.assign(new ReplicatedEntry(), entry) : nested(ReplicatedEntry, entry, `entries.${i}`, problems),
  );
  const next = body.next;
  if (next !== null && !(typeof next === 'number' && Number.isSafeInteger(next) && next >= 0)) {
    problems.push({ path: 'next', message: 'next must be a version or null', constraints: ['isInt'] });
  }
  if (problems.length > 0) throw new DtoValidationError(problems);
  return { position, entries, next: next as number | null };
}

/** Entries above this size are not kept serialized: the cache would hold a second copy of large values. */
const CACHED_ENTRY_MAX_CHARS = 16 * 1024;
/** Serialized entries kept: a new entry goes to all five followers within moments. */
const CACHED_ENTRIES = 8192;
/**
 * lru-cache, not a Map used as a queue: evicting a Map's oldest key with `keys().next()`
 * walks past every key deleted before it (V8 keeps them as holes until a rehash), which
 * cost about 4 µs per eviction in a microbenchmark and 6% of the leader's CPU samples at zero
 * delay and 64 writers (entryJson 8.7% → 2.4% of them).
 */
const recentJson = new LRUCache<object, string>({ max: CACHED_ENTRIES });

/**
 * An entry's JSON as replication messages carry it, serialized once for its byte size and
 * the five followers it goes to: the last CACHED_ENTRIES entries used, of at most 16 Ki
 * characters, are kept (bounded, so the store's entries are never all held twice).
 */
export function entryJson(entry: Entry | ReplicatedEntry): string {
  let json = recentJson.get(entry);
  if (json === undefined) {
    json = JSON.stringify(entry);
    if (json.length <= CACHED_ENTRY_MAX_CHARS) recentJson.set(entry, json);
  }
  return json;
}

/**
 * Bytes an entry takes in a replication message (its JSON), measured once per entry object:
 * the same entry goes to five followers and may be resent. What every byte budget counts.
 */
const wireSizes = new WeakMap<object, number>();
export function entryWireBytes(entry: Entry): number {
  let size = wireSizes.get(entry);
  if (size === undefined) {
    size = Buffer.byteLength(entryJson(entry), 'utf8') + 1;
    wireSizes.set(entry, size);
  }
  return size;
}

export function toReplicatedEntry(entry: Entry): ReplicatedEntry {
  return entry as ReplicatedEntry;
}

export function toStoreEntry(entry: ReplicatedEntry): Entry {
  return entry.deleted
    ? { key: entry.key, version: entry.version, deleted: true }
    : { key: entry.key, version: entry.version, deleted: false, value: entry.value as JsonValue };
}
