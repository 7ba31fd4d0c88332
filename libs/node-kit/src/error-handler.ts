import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DtoValidationError } from '@kv/protocol';
import { ERROR_STATUS, ErrorCode, KvError } from './errors';

/** body-parser and router errors carry `type` / `status`; map them to our codes. */
interface HttpishError {
  type?: string;
  status?: number;
  statusCode?: number;
  message?: string;
  limit?: number;
}

function fromHttpish(error: HttpishError): KvError | null {
  switch (error.type) {
    case 'entity.parse.failed':
      return new KvError('MALFORMED_JSON', `malformed JSON body: ${error.message}`);
    case 'entity.too.large':
      return new KvError('PAYLOAD_TOO_LARGE', `request body larger than the limit of ${error.limit} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new KvError('UNSUPPORTED_MEDIA_TYPE', error.message ?? 'unsupported encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new KvError('INVALID_BODY', error.message ?? 'invalid request body');
  }
  if (error instanceof URIError) return new KvError('MALFORMED_URL', `malformed percent-encoding in the URL: ${error.message}`);
  const status = error.status ?? error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((c) => ERROR_STATUS[c] === status) ?? 'INVALID_BODY';
    return new KvError(code, error.message ?? 'bad request');
  }
  return null;
}

/** Turns anything thrown in a route into `{error, code, ...}` JSON with the fitting status. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    let kvError: KvError;
    if (error instanceof KvError) kvError = error;
    else if (error instanceof DtoValidationError) kvError = new KvError('INVALID_BODY', error.message, { problems: error.problems.map((p) => p.message) });
    else kvError = fromHttpish((error ?? {}) as HttpishError) ?? new KvError('INTERNAL', 'internal error');

    if (kvError.code === 'INTERNAL') logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error');
    else logger.warn({ code: kvError.code, status: kvError.status, method: req.method, url: req.originalUrl }, kvError.message);
    res.status(kvError.status).json({ error: kvError.message, code: kvError.code, ...kvError.details });
  };
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new KvError('ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

/** For a known path: `405` naming the methods it does take. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Allow', allowed.join(', '));
    next(new KvError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; use ${allowed.join(' or ')}`));
  };
}
