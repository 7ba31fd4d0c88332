import { Registry, collectDefaultMetrics, Counter } from 'prom-client';
import type { RequestHandler } from 'express';

/**
 * How often (ms) the event-loop lag histogram (`nodejs_eventloop_lag_*`) samples. prom-client's
 * default, 10 ms, is a timer that wakes the process 100 times a second, idle or not: an idle
 * follower woke 102 times a second and spent 8 ms of CPU per second, 12 and 4 at 100 ms
 * (README, "Against etcd", fourth round). At 100 ms a stall still shows in the histogram
 * whenever a sample falls in it, and a long stall always does.
 */
export const EVENT_LOOP_LAG_SAMPLE_MS = 100;

/** A registry per node (not prom-client's global), so several apps can live in one test process. */
export function createRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_LAG_SAMPLE_MS });
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
