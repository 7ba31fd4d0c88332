import { deflateSync } from 'node:zlib';
import express, { type Express } from 'express';
import request from 'supertest';
import { DtoValidationError } from '@kv/protocol';
import { KvError } from './errors';
import { errorHandler, routeNotFound } from './error-handler';
import { jsonBody, requestContext, requireClusterToken } from './http';
import { captureLogs, type LogLine } from './testing';
import type { Logger } from './logger';

/** A small app with the node-kit middleware in the order the services mount it. */
function appWith(logger: Logger, routes: (app: Express) => void): Express {
  const app = express();
  app.use(requestContext(logger));
  routes(app);
  app.use(routeNotFound);
  app.use(errorHandler(logger));
  return app;
}

const byMessage = (lines: LogLine[], msg: string) => lines.filter((l) => l.msg === msg);

describe('requestContext', () => {
  it('logs one debug line per request with the caller\'s request id, and the version a write route noted', async () => {
    const { logger, lines } = captureLogs('debug', 'node-a');
    const app = appWith(logger, (a) =>
      a.put('/w', (_req, res) => {
        res.locals.version = 42;
        res.json({});
      }),
    );
    const res = await request(app).put('/w').set('x-request-id', 'client-7');
    expect(res.headers['x-request-id']).toBe('client-7');
    expect(byMessage(lines, 'request')).toEqual([
      expect.objectContaining({ level: 20, node: 'node-a', requestId: 'client-7', method: 'PUT', url: '/w', status: 200, version: 42 }),
    ]);
  });

  it('makes up an id when the caller sends none or one that is not sane', async () => {
    const { logger, lines } = captureLogs('debug');
    const app = appWith(logger, (a) => a.get('/r', (_req, res) => res.json({})));
    for (const given of [undefined, 'has space', 'x'.repeat(129), '{"json":1}']) {
      const req = request(app).get('/r');
      const res = await (given === undefined ? req : req.set('x-request-id', given));
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(byMessage(lines, 'request').map((l) => l.requestId)).toEqual(expect.arrayContaining([expect.stringMatching(/^[0-9a-f-]{36}$/)]));
  });

  it('writes nothing per request above debug', async () => {
    const { logger, lines } = captureLogs('info');
    const app = appWith(logger, (a) => a.get('/r', (_req, res) => res.json({})));
    await request(app).get('/r');
    expect(lines).toEqual([]);
  });
});

describe('errorHandler', () => {
  it('logs one warn line per refused request, with its request id, and answers JSON', async () => {
    const { logger, lines } = captureLogs('info');
    const app = appWith(logger, () => undefined);
    const res = await request(app).get('/nowhere').set('x-request-id', 'lost-1').set('Accept', 'text/html');
    expect(res.status).toBe(404);
    expect(res.type).toBe('application/json');
    expect(lines).toEqual([expect.objectContaining({ level: 40, requestId: 'lost-1', code: 'ROUTE_NOT_FOUND', status: 404 })]);
  });

  it('logs a bug with its stack at error, and shows the client neither', async () => {
    const { logger, lines } = captureLogs('info');
    const app = appWith(logger, (a) =>
      a.get('/bug', () => {
        throw new TypeError('secret internals');
      }),
    );
    const res = await request(app).get('/bug');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'internal error', code: 'INTERNAL' });
    expect(lines).toEqual([expect.objectContaining({ level: 50, msg: 'unhandled error', err: expect.objectContaining({ stack: expect.stringMatching(/secret internals/) }) })]);
  });

  it.each([
    ['gzip that is not gzip', { 'content-encoding': 'gzip' }, Buffer.from('{"a":1}'), 400, 'INVALID_BODY'],
    ['deflate cut short', { 'content-encoding': 'deflate' }, deflateSync('{"a":1}').subarray(0, 4), 400, 'INVALID_BODY'],
    ['an unknown content encoding', { 'content-encoding': 'x-snappy' }, Buffer.from('{}'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['an unknown charset', { 'content-type': 'application/json; charset=ebcdic' }, Buffer.from('{}'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['malformed JSON', {}, Buffer.from('{"a":'), 400, 'MALFORMED_JSON'],
    ['a body over the limit', {}, Buffer.from(`{"a":"${'x'.repeat(200)}"}`), 413, 'PAYLOAD_TOO_LARGE'],
  ])('maps %s to %i %s (a 400 from zlib used to read INVALID_KEY)', async (_name, headers, body, status, code) => {
    const app = appWith(captureLogs('silent').logger, (a) => a.post('/b', jsonBody(100), (req, res) => res.json(req.body)));
    let req = request(app).post('/b').set('content-type', 'application/json');
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    const res = await req.serialize((b: unknown) => b as string).send(body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
  });

  it.each([
    [404, 'ROUTE_NOT_FOUND'],
    [405, 'METHOD_NOT_ALLOWED'],
    [403, 'INVALID_BODY'],
    [418, 'INVALID_BODY'],
  ])('maps another library\'s %i to %s, not to the first code sharing the status', async (status, code) => {
    const app = appWith(captureLogs('silent').logger, (a) =>
      a.get('/e', () => {
        throw Object.assign(new Error('from a library'), { status });
      }),
    );
    expect((await request(app).get('/e')).body.code).toBe(code);
  });

  it('passes coded errors through, and lists at most ten validation problems', async () => {
    const problems = Array.from({ length: 30 }, (_, i) => ({ path: `p${i}`, message: `problem ${i}`, constraints: [] }));
    const app = appWith(captureLogs('silent').logger, (a) => {
      a.get('/coded', () => {
        throw new KvError('NOT_LEADER', 'go away', { leader: null });
      });
      a.get('/dto', () => {
        throw new DtoValidationError(problems);
      });
    });
    expect((await request(app).get('/coded')).body).toEqual({ error: 'go away', code: 'NOT_LEADER', leader: null });
    const dto = await request(app).get('/dto');
    expect(dto.body.problems).toHaveLength(10);
    expect(dto.body.error).toMatch(/problem 9; and 20 more$/);
  });
});

describe('requireClusterToken', () => {
  const app = (token: string | null, logger = captureLogs('silent').logger) =>
    appWith(logger, (a) => a.post('/replicate', requireClusterToken(token), jsonBody(1000), (_req, res) => res.json({ ok: true })));

  it('lets everything through when no token is set, a token included', async () => {
    expect((await request(app(null)).post('/replicate').send({})).status).toBe(200);
    expect((await request(app(null)).post('/replicate').set('x-cluster-token', 'anything').send({})).status).toBe(200);
  });

  it.each([
    ['missing', undefined, /missing x-cluster-token/],
    ['wrong', 'guess', /wrong x-cluster-token/],
    ['a prefix of the token', 's3c', /wrong/],
    ['the token with more after it', 's3cret!', /wrong/],
    ['empty', '', /wrong|missing/],
  ])('refuses a %s token with 401 before reading a malformed body', async (_name, token, message) => {
    const { logger, lines } = captureLogs('info');
    let req = request(app('s3cret', logger)).post('/replicate').set('content-type', 'application/json');
    if (token !== undefined) req = req.set('x-cluster-token', token);
    const res = await req.send('{not json');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: expect.stringMatching(message), code: 'UNAUTHORIZED' });
    expect(lines).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED', requestId: expect.any(String) })]);
  });

  it('accepts the right token', async () => {
    expect((await request(app('s3cret')).post('/replicate').set('x-cluster-token', 's3cret').send({})).status).toBe(200);
  });
});
