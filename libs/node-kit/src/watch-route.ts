import { Router, type Request } from 'express';
import type { VersionedStore } from '@kv/store';
import { KvError } from './errors';
import { integerParam, type AppliedProgress } from './read-your-writes';
import { APPLIED_VERSION_HEADER } from './read-routes';
import type { WatchHub } from './watch-hub';

const WATCH_PARAMETERS = new Set(['prefix', 'fromVersion']);

/** Where a watch starts: `Last-Event-ID` wins over `fromVersion` (API.md, "Watch"); absent, the node's version. */
export function watchStart(req: Request, currentVersion: number): { prefix: string; fromVersion: number } {
  const query = req.query as Record<string, unknown>;
  const unknown = Object.keys(query).filter((name) => !WATCH_PARAMETERS.has(name));
  if (unknown.length > 0) throw new KvError('INVALID_QUERY', `unknown parameter ${unknown.map((n) => JSON.stringify(n)).join(', ')} on GET /watch; it takes prefix and fromVersion`);
  const prefix = query.prefix ?? '';
  if (typeof prefix !== 'string') throw new KvError('INVALID_QUERY', 'prefix must be given once');
  const lastEventId = req.get('last-event-id');
  if (lastEventId !== undefined && lastEventId !== '') {
    return { prefix, fromVersion: integerParam('Last-Event-ID', lastEventId, Number.MAX_SAFE_INTEGER, 0) };
  }
  return { prefix, fromVersion: integerParam('fromVersion', query.fromVersion, Number.MAX_SAFE_INTEGER, currentVersion) };
}

/**
 * `GET /watch?prefix=&fromVersion=` (API.md, "Watch"): 400 on bad parameters, 410
 * HISTORY_COMPACTED before streaming when deletes since the start can no longer be told,
 * else `200 text/event-stream` kept open, fed by `hub`. `X-Applied-Version` is the version
 * the node holds now (a client without fromVersion resumes from it).
 */
export function watchRoute(store: VersionedStore, progress: AppliedProgress, hub: WatchHub): Router {
  const router = Router();
  router.get('/watch', (req, res) => {
    // A leader's hub learns the version it recovered here; never ahead of what the node holds.
    hub.advance(progress.appliedVersion());
    const current = Math.min(progress.appliedVersion(), hub.version);
    const { prefix, fromVersion } = watchStart(req, current);
    const oldest = store.tombstoneHorizon;
    if (fromVersion !== 0 && fromVersion < oldest) {
      throw new KvError('HISTORY_COMPACTED', `deletes up to version ${oldest} were forgotten; list, then watch from the listing's X-Applied-Version`, { oldestVersion: oldest });
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      [APPLIED_VERSION_HEADER]: String(current),
    });
    res.flushHeaders();
    // Some clients (and proxies) show the stream only once its first bytes arrive.
    res.write(': watching\n\n');
    hub.open(res, prefix, fromVersion);
  });
  return router;
}
