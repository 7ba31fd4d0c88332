import { Registry, collectDefaultMetrics, Counter } from 'prom-client';
import type { RequestHandler } from 'express';

/**
 * A registry per node (not prom-client's global), so several apps can live in one test process.
 *
 * The default metrics keep prom-client's event-loop lag sampling (a 10 ms timer). It wakes an
 * idle node 100 times a second (an idle follower: 8 ms of CPU per second, 4 at 100 ms), but
 * Node's histogram records the time between samples, interval included, so sampling every
 * 100 ms would read every `nodejs_eventloop_lag_*` value about 90 ms higher than dashboards
 * built on the default expect (README, "Against etcd", fourth round).
 */
export function createRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Counts answers by method, route pattern and status; mount before the routes. */
export function httpMetrics(registry: Registry): RequestHandler {
  const requests = new Counter({
    name: 'kv_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  return (req, res, next) => {
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

export function metricsRoute(registry: Registry): RequestHandler {
  return async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  };
}
