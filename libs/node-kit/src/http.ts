import { randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { CLUSTER_TOKEN_HEADER, REQUEST_ID_HEADER, keyProblem } from '@kv/protocol';
import { KvError } from './errors';

/** Parses a JSON body whatever its content type (curl -d sends form encoding by default). */
export function jsonBody(limitBytes: number): RequestHandler {
  return express.json({ limit: limitBytes, type: () => true, strict: true });
}

/** The decoded `:key` path parameter, or INVALID_KEY. */
export function keyParam(raw: unknown): string {
  const problem = keyProblem(raw);
  if (problem !== null) throw new KvError('INVALID_KEY', problem);
  return raw as string;
}

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/** The request's id: the caller's `X-Request-Id` when it is sane (1-128 of `[\w.:-]`), else a fresh UUID. */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/**
 * Gives every request an id (the caller's X-Request-Id when it sends a sane one) that
 * comes back in the answer and in every log line, and logs one line per request at debug.
 * A write route sets `res.locals.version`, so that line ties the request id to the
 * version, which the replication log lines name (README, "Logs: LOG_LEVEL and request ids").
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdOf(req.get(REQUEST_ID_HEADER));
    res.locals.requestId = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    // Checked once per request: with debug off, no timer, no listener, no line.
    if (logger.isLevelEnabled('debug')) {
      const started = performance.now();
      res.on('finish', () => {
        const version: unknown = res.locals.version;
        logger.debug(
          {
            requestId: id,
            method: req.method,
            url: req.originalUrl,
            status: res.statusCode,
            ms: +(performance.now() - started).toFixed(2),
            ...(typeof version === 'number' ? { version } : {}),
          },
          'request',
        );
      });
    }
    next();
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Refuses replication traffic without the cluster token with 401, before the body is read.
 * Compares digests in constant time, so the answer time does not reveal the token.
 */
export function requireClusterToken(token: string | null): RequestHandler {
  if (token === null) return (_req, _res, next) => next();
  const expected = digest(token);
  return (req, _res, next) => {
    const given = req.get(CLUSTER_TOKEN_HEADER);
    if (given === undefined) return next(new KvError('UNAUTHORIZED', `missing ${CLUSTER_TOKEN_HEADER} header: this cluster requires its token`));
    if (!timingSafeEqual(digest(given), expected)) return next(new KvError('UNAUTHORIZED', `wrong ${CLUSTER_TOKEN_HEADER}`));
    next();
  };
}
