import { IF_VERSION_PROBLEM } from '@kv/protocol';
import { KvError } from '@kv/node-kit';
import type { WriteCondition } from '@kv/replication';

/** One quoted decimal integer: the `ETag` that `GET /kv/:key` answers with. */
const QUOTED_VERSION = /^"(0|[1-9][0-9]{0,15})"$/;

/** One way the client stated its condition: the query's `ifVersion`, or an HTTP precondition header. */
interface Stated {
  readonly source: string;
  /** A version (0 = absent), or `exists` for `If-Match: *`. */
  readonly expects: number | 'exists';
}

function version(text: string, problem: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new KvError('INVALID_QUERY', problem);
  return n;
}

/** A request header by its lower-case name (Express' `req.get`, or `IncomingMessage.headers` joined). */
export type HeaderOf = (name: string) => string | undefined;

/** An empty header counts as absent, as an empty query parameter does. */
function header(headerOf: HeaderOf, name: string): string | undefined {
  const value = headerOf(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function stated(headerOf: HeaderOf, ifVersion: string | undefined): Stated[] {
  const found: Stated[] = [];
  if (ifVersion !== undefined) found.push({ source: `ifVersion=${ifVersion}`, expects: version(ifVersion, IF_VERSION_PROBLEM) });
  const ifMatch = header(headerOf, 'if-match');
  if (ifMatch !== undefined) {
    const problem = `If-Match must be one quoted version such as "12" (the ETag of GET /kv/:key) or *, got ${JSON.stringify(ifMatch)}`;
    if (ifMatch === '*') found.push({ source: 'If-Match: *', expects: 'exists' });
    else {
      const match = QUOTED_VERSION.exec(ifMatch);
      if (!match) throw new KvError('INVALID_QUERY', problem);
      found.push({ source: `If-Match: ${ifMatch}`, expects: version(match[1], problem) });
    }
  }
  const ifNoneMatch = header(headerOf, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch !== '*') {
      throw new KvError('INVALID_QUERY', `If-None-Match on a write must be * (create only), got ${JSON.stringify(ifNoneMatch)}`);
    }
    found.push({ source: 'If-None-Match: *', expects: 0 });
  }
  return found;
}

/**
 * The condition of a `PUT` or `DELETE /kv/:key` (API.md, "Conditional writes"), from
 * `?ifVersion=N` (already checked as digits by WriteQuery), `If-Match: "N"`, `If-Match: *`
 * (the key must exist, as in HTTP) or `If-None-Match: *` (= ifVersion 0), or undefined when
 * none is given. Throws INVALID_QUERY for a malformed one, for forms that disagree, and for
 * a DELETE that requires the key absent (it would delete a key that must not exist).
 */
export function writeCondition(headerOf: HeaderOf, ifVersion: string | undefined, op: 'put' | 'delete'): WriteCondition | undefined {
  const all = stated(headerOf, ifVersion);
  if (all.length === 0) return undefined;
  const [first, ...others] = all;
  const disagreeing = others.find((s) => s.expects !== first.expects);
  if (disagreeing) throw new KvError('INVALID_QUERY', `${first.source} and ${disagreeing.source} disagree; give one condition`);
  if (op === 'delete' && first.expects === 0) {
    throw new KvError('INVALID_QUERY', `${first.source} on a DELETE requires the key to be absent: there would be nothing to delete`);
  }
  return first.expects === 'exists' ? { ifExists: true } : { ifVersion: first.expects };
}
