import { IsOptional, IsString, Matches } from 'class-validator';
import type { JsonValue } from '@kv/store';
import { IsPresent, IsStorableJson } from './decorators';
import { jsonValueProblem } from './json-value';
import { MAX_VALUE_DEPTH } from './limits';
import { isPlainObject, parseFlat } from './validate';

const NON_NEGATIVE_INTEGER = /^(0|[1-9][0-9]{0,8})$/;
/** Up to 16 digits: the range check against 2^53 - 1 is the caller's (it names the bound). */
const VERSION_NUMBER = /^(0|[1-9][0-9]{0,15})$/;
/** API.md, "Conditional writes": `ifVersion` is an integer from 0 to 2^53 - 1. */
export const IF_VERSION_PROBLEM = `ifVersion must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}`;

/**
 * An empty parameter (`?w=`, `?limit=`, `?prefix=`) counts as absent: the contract writes
 * the listing as `GET /kv?prefix=&after=&limit=`, and clients that fill a template or a
 * params map leave unset values empty.
 */
function withoutEmptyParameters(query: unknown): unknown {
  if (!isPlainObject(query)) return query;
  // Every write's query passes here: copy only when there is something to leave out.
  for (const name of Object.keys(query)) {
    if (query[name] === '') return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ''));
  }
  return query;
}

/** Body of `PUT /kv/:key`. */
export class PutValueRequest {
  @IsPresent({ message: 'body must be a JSON object with a "value" property' })
  @IsStorableJson(MAX_VALUE_DEPTH)
  value!: JsonValue;

  /**
   * Every write comes through here: a well-formed body (only `value`, storable) skips
   * class-validator's metadata walk; anything else goes the full way, for its messages
   * (client-dtos.spec.ts holds the two to the same verdict).
   */
  static parse(body: unknown): PutValueRequest {
    if (isPlainObject(body)) {
      const keys = Object.keys(body);
      if (keys.length === 1 && keys[0] === 'value' && body.value !== undefined && jsonValueProblem(body.value, MAX_VALUE_DEPTH) === null) {
        return Object.assign(new PutValueRequest(), body);
      }
    }
    return parseFlat(PutValueRequest, body, 'body');
  }
}

/** Query of `PUT` and `DELETE /kv/:key`. */
export class WriteQuery {
  @IsOptional()
  @IsString({ message: 'w must be given once' })
  @Matches(NON_NEGATIVE_INTEGER, { message: 'w must be a non-negative integer' })
  w?: string;

  /** Compare-and-set: apply only if the key's version is exactly this; 0 = the key must be absent. */
  @IsOptional()
  @IsString({ message: 'ifVersion must be given once' })
  @Matches(VERSION_NUMBER, { message: IF_VERSION_PROBLEM })
  ifVersion?: string;

  /** Every write's query comes through here: the common well-formed ones skip class-validator, as PutValueRequest's body does. */
  static parse(query: unknown): WriteQuery {
    const given = withoutEmptyParameters(query);
    if (isPlainObject(given) && isWellFormedWriteQuery(given)) return Object.assign(new WriteQuery(), given);
    return parseFlat(WriteQuery, given, 'query');
  }
}

function isWellFormedWriteQuery(query: Record<string, unknown>): boolean {
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') return false;
    if (name === 'w' ? !NON_NEGATIVE_INTEGER.test(value) : name !== 'ifVersion' || !VERSION_NUMBER.test(value)) return false;
  }
  return true;
}

/** Query of `GET /kv`. */
export class ListRequestQuery {
  @IsOptional()
  @IsString({ message: 'prefix must be given once' })
  prefix?: string;

  @IsOptional()
  @IsString({ message: 'after must be given once' })
  after?: string;

  @IsOptional()
  @IsString({ message: 'limit must be given once' })
  @Matches(NON_NEGATIVE_INTEGER, { message: 'limit must be an integer from 1 to 10000' })
  limit?: string;

  /** Read-your-writes (API.md): checked in range by the node, which names the bounds. */
  @IsOptional()
  @IsString({ message: 'minVersion must be given once' })
  minVersion?: string;

  @IsOptional()
  @IsString({ message: 'timeout must be given once' })
  timeout?: string;

  static parse(query: unknown): ListRequestQuery {
    return parseFlat(ListRequestQuery, withoutEmptyParameters(query), 'query');
  }
}
