import { Router, type RequestHandler } from 'express';
import type { VersionedStore } from '@kv/store';
import {
  DEFAULT_LIST_LIMIT,
  ListRequestQuery,
  MAX_LIST_LIMIT,
  MAX_LIST_PAGE_BYTES,
  DtoValidationError,
  entryWireBytes,
  type ListResponse,
  type ReadResponse,
} from '@kv/protocol';
import { KvError } from './errors';
import { keyParam } from './http';
import { readConsistency, untilCaughtUp, type AppliedProgress } from './read-your-writes';

/** The header every successful read carries (API.md, "Read-your-writes"). */
export const APPLIED_VERSION_HEADER = 'X-Applied-Version';

function listQuery(query: unknown): { prefix?: string; after?: string; limit: number } {
  let parsed: ListRequestQuery;
  try {
    parsed = ListRequestQuery.parse(query);
  } catch (error) {
    if (error instanceof DtoValidationError) throw new KvError('INVALID_QUERY', error.message);
    throw error;
  }
  const limit = parsed.limit === undefined ? DEFAULT_LIST_LIMIT : Number(parsed.limit);
  if (limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new KvError('INVALID_QUERY', `limit must be an integer from 1 to ${MAX_LIST_LIMIT} (got ${parsed.limit})`);
  }
  return { prefix: parsed.prefix, after: parsed.after, limit };
}

/**
 * `PUT` and `DELETE /kv/` name the empty key, but Express routes `/kv/` like `/kv` (the
 * collection, 405): refuse them as each node refuses writes (`refuse`), before any body is read.
 */
export function emptyKeyWrites(refuse: () => KvError): RequestHandler {
  return (req, _res, next) => {
    // Express matches paths case-insensitively (PUT /KV/a writes key a), so this does too.
    if ((req.method === 'PUT' || req.method === 'DELETE') && req.path.toLowerCase() === '/kv/') return next(refuse());
    next();
  };
}

/**
 * `GET /kv/:key` (with `ETag: "<version>"`) and `GET /kv`, the same on every node. Both
 * take `?minVersion=&timeout=` (read-your-writes: wait until the node holds that version, or
 * 503 NOT_CAUGHT_UP) and answer `X-Applied-Version`. Writes are mounted by each app; other
 * methods answer through RouteMethods.
 */
export function readRoutes(store: VersionedStore, progress: AppliedProgress): Router {
  const router = Router();
  router.get('/kv', async (req, res) => {
    const query = listQuery(req.query);
    const consistency = readConsistency(req.query as Record<string, unknown>);
    res.setHeader(APPLIED_VERSION_HEADER, String(await untilCaughtUp(progress, consistency)));
    const page = store.list({ ...query, maxBytes: MAX_LIST_PAGE_BYTES, sizeOf: entryWireBytes });
    const body: ListResponse = {
      items: page.items.map(({ key, value, version }) => ({ key, value, version })),
      next: page.next,
    };
    res.json(body);
  });
  router.get('/kv/:key', async (req, res) => {
    const key = keyParam(req.params.key);
    // Other parameters of a single-key GET stay ignored, as before read-your-writes (README, Errors).
    const consistency = readConsistency(req.query as Record<string, unknown>);
    res.setHeader(APPLIED_VERSION_HEADER, String(await untilCaughtUp(progress, consistency)));
    const entry = store.get(key);
    if (!entry) throw new KvError('KEY_NOT_FOUND', `key ${JSON.stringify(key)} not found`, { key });
    const body: ReadResponse = { key, value: entry.value, version: entry.version };
    // Set here, not by Express (its automatic ETag hashes the body and is off): the version
    // is what `If-Match` on a conditional write compares with (API.md, "Conditional writes").
    res.setHeader('ETag', `"${entry.version}"`);
    res.json(body);
  });
  return router;
}
