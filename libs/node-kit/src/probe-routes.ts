import { Router } from 'express';

/** What a node says about itself to `/readyz`: ready, or why not, with details for an operator. */
export type ReadyVerdict = { readonly ready: true; readonly details?: Record<string, unknown> } | { readonly ready: false; readonly reason: string; readonly details?: Record<string, unknown> };

/**
 * `GET /livez` (200 while the process serves HTTP) and `GET /readyz` (200 `{"status":"ready"}`
 * or 503 `{"status":"not-ready","reason"}`), as API.md's Probes section specifies. A 503
 * here is a probe's answer, not an error: it carries no `code`.
 */
export function probeRoutes(readiness: () => ReadyVerdict): Router {
  const router = Router();
  router.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const verdict = readiness();
    if (verdict.ready) res.json({ status: 'ready', ...verdict.details });
    else res.status(503).json({ status: 'not-ready', reason: verdict.reason, ...verdict.details });
  });
  return router;
}
