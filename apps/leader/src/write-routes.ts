import { Router, type Request, type Response } from 'express';
import { CLIENT_BODY_LIMIT_BYTES } from '@kv/protocol';
import { jsonBody } from '@kv/node-kit';
import type { LeaderWrites, WriteRequest } from './leader-writes';

/**
 * `PUT` and `DELETE /kv/:key` on Express: every write the raw write path (fast-writes.ts)
 * hands on, with the same validation and answers (LeaderWrites).
 */
export function writeRoutes(writes: LeaderWrites): Router {
  const router = Router();
  const handle = async (req: Request, res: Response, op: WriteRequest['op']) => {
    const write = await writes.start({ op, key: req.params.key, query: req.query, header: (name) => req.get(name), body: req.body });
    // For the request's log line: the version is how replication logs name this write.
    res.locals.version = write.version;
    res.json(await write.answer);
  };
  router.put('/kv/:key', jsonBody(CLIENT_BODY_LIMIT_BYTES), (req, res) => handle(req, res, 'put'));
  router.delete('/kv/:key', (req, res) => handle(req, res, 'delete'));
  return router;
}
