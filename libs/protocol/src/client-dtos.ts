import { IsOptional, IsString, Matches } from 'class-validator';
import type { JsonValue } from '@kv/store';
import { IsPresent, IsStorableJson } from './decorators';
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
  return isPlainObject(query) ? Object.fromEntries(Object.entries(query).filter(([, value]) => value !== '')) : query;
}

/** Body of `PUT /kv/:key`. */
export class PutValueRequest {
  @IsPresent({ message: 'body must be a JSON object with a "value" property' })
  @IsStorableJson(MAX_VALUE_DEPTH)
  value!: JsonValue;

  static parse(body: unknown): PutValueRequest {
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

  static parse(query: unknown): WriteQuery {
    return parseFlat(WriteQuery, withoutEmptyParameters(query), 'query');
  }
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

  static parse(query: unknown): ListRequestQuery {
    return parseFlat(ListRequestQuery, withoutEmptyParameters(query), 'query');
  }
}
