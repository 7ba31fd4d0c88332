import { Router, type RequestHandler } from 'express';
import { ENTRIES_PATH, REPLICATION_PATH, REPLICATION_STREAM_PATH } from '@kv/protocol';
import { methodNotAllowed } from './error-handler';

export type MethodTable = ReadonlyArray<readonly [path: string, methods: readonly string[]]>;

/**
 * The methods each known path takes, declared once per app. `OPTIONS` answers 204 with
 * them in `Allow`; any other method not routed gets 405 naming them.
 */
export class RouteMethods {
  constructor(private readonly table: MethodTable) {}

  /** Whether `path` (as declared, e.g. `/kv/:key`) takes `method`. */
  takes(path: string, method: string): boolean {
    return this.table.some(([p, methods]) => p === path && methods.includes(method));
  }

  /**
   * Mount before the routes: otherwise Express answers OPTIONS itself, in plain text and
   * from the first router that knows the path, so `Allow` would list only that router's methods.
   */
  options(): RequestHandler {
    const router = Router();
    for (const [path, methods] of this.table) {
      router.options(path, (_req, res) => {
        res.setHeader('Allow', methods.join(', '));
        res.status(204).end();
      });
    }
    // Every request passes here; only OPTIONS pays for matching the paths.
    return (req, res, next) => (req.method === 'OPTIONS' ? router(req, res, next) : next());
  }

  /** Mount after the routes. */
  refuseOthers(): Router {
    const router = Router();
    for (const [path, methods] of this.table) router.all(path, methodNotAllowed([...methods]));
    return router;
  }
}

/**
 * The paths every node serves (API.md), leader and follower alike: writes and `/replicate`
 * exist on both, and the node that does not take them answers 403 (or 401 without the token).
 */
export const NODE_ROUTES = new RouteMethods([
  ['/kv', ['GET']],
  ['/kv/:key', ['GET', 'PUT', 'DELETE']],
  [REPLICATION_PATH, ['POST']],
  [REPLICATION_STREAM_PATH, ['POST']],
  [ENTRIES_PATH, ['POST']],
  ['/health', ['GET']],
  ['/livez', ['GET']],
  ['/readyz', ['GET']],
  ['/status', ['GET']],
  ['/metrics', ['GET']],
  ['/watch', ['GET']],
]);
