import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DtoValidationError, MAX_PROBLEMS_IN_MESSAGE } from '@kv/protocol';
import { ErrorCode, KvError } from './errors';

/** body-parser, zlib and router errors carry `type` / `status` / `code`; map them to our codes. */
interface HttpishError {
  type?: string;
  status?: number;
  statusCode?: number;
  code?: string;
  message?: string;
  limit?: number;
}

/**
 * Statuses that mean the same as one of our codes. Any other 4xx is a request we cannot
 * read: INVALID_BODY. (Picking the first code with the same status would call a broken
 * gzip body an INVALID_KEY.)
 */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: 'UNAUTHORIZED',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

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
  // body-parser passes zlib's errors on as they are (400, no type).
  if (typeof error.code === 'string' && error.code.startsWith('Z_')) {
    return new KvError('INVALID_BODY', `request body does not decode with its Content-Encoding: ${error.message ?? error.code}`);
  }
  const status = error.status ?? error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new KvError(CODE_BY_STATUS[status] ?? 'INVALID_BODY', error.message ?? 'bad request');
  }
  return null;
}

/**
 * The KvError a thrown value stands for: itself, a DTO validation failure as INVALID_BODY
 * (its first MAX_PROBLEMS_IN_MESSAGE problems listed), a body-parser / router / zlib error
 * by its type or status, anything else INTERNAL.
 */
export function toKvError(error: unknown): KvError {
  if (error instanceof KvError) return error;
  if (error instanceof DtoValidationError) {
    // The message already names the first few; a batch of junk must not answer megabytes.
    const problems = error.problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).map((p) => p.message);
    return new KvError('INVALID_BODY', error.message, { problems });
  }
  return fromHttpish((error ?? {}) as HttpishError) ?? new KvError('INTERNAL', 'internal error');
}

/** The JSON body of an error answer (API.md, "Errors"): `{error, code, ...details}`. */
export function errorBody(kvError: KvError): Record<string, unknown> {
  return { error: kvError.message, code: kvError.code, ...kvError.details };
}

/** Logs a refused request as the error handler does: INTERNAL at error with the cause, the rest at warn. */
export function logRefusal(logger: Logger, kvError: KvError, cause: unknown, request: { requestId: unknown; method: string | undefined; url: string | undefined }): void {
  if (kvError.code === 'INTERNAL') logger.error({ err: cause, ...request }, 'unhandled error');
  else logger.warn({ requestId: request.requestId, code: kvError.code, status: kvError.status, method: request.method, url: request.url }, kvError.message);
}

/** Turns anything thrown in a route into `{error, code, ...}` JSON with the fitting status. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    const kvError = toKvError(error);
    logRefusal(logger, kvError, error, { requestId: res.locals.requestId, method: req.method, url: req.originalUrl });
    res.status(kvError.status).json(errorBody(kvError));
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
