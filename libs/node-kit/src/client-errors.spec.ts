import http, { type Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { answerClientErrorsWithJson } from './client-errors';
import { captureLogs } from './testing';

/** Writes raw bytes (framing no HTTP client would produce) and reads until the server closes. */
function exchange(port: number, raw: string, later?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(raw);
      if (later !== undefined) setTimeout(() => socket.write(later), 100);
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(3000, () => socket.destroy());
  });
}

describe('answerClientErrorsWithJson', () => {
  const { logger, lines } = captureLogs('info');
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const app = express();
    app.use((req, res) => res.json({ method: req.method }));
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    answerClientErrorsWithJson(server, logger);
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it.each([
    ['Transfer-Encoding with Content-Length', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding twice', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['an unknown method', 'BREW /kv/a HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a space in the path', 'GET /kv/a b HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('answers %s with 400 JSON instead of an empty 400', async (_name, raw) => {
    const answer = await exchange(port, raw);
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    expect(answer).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({ error: expect.stringMatching(/^malformed HTTP request \(HPE_/), code: 'INVALID_BODY' });
  });

  it('answers a malformed request after a good one on the same keep-alive connection', async () => {
    const answer = await exchange(port, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /kv/a b HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"method":"GET"\}HTTP\/1\.1 400 Bad Request\r\n[\s\S]*"code":"INVALID_BODY"\}$/);
  });

  it('answers headers over the limit with 431 JSON', async () => {
    const answer = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({ error: expect.stringMatching(/headers larger/), code: 'HEADERS_TOO_LARGE' });
  });

  it('logs one warn line per refused connection', () => {
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.every((l) => l.level === 40 && typeof l.requestId === 'string')).toBe(true);
  });

  it('leaves oddities Node can frame to the app: chunked with other codings, identity', async () => {
    const chunked = await exchange(port, 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n');
    expect(chunked).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('answerClientErrorsWithJson on a request that never completes', () => {
  const { logger } = captureLogs('info');
  let server: Server;
  let port: number;

  beforeAll(async () => {
    // Node checks its header timeout on this interval; short ones keep the test quick.
    server = http.createServer({ headersTimeout: 300, requestTimeout: 400, connectionsCheckingInterval: 50 }, (_req, res) => res.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    answerClientErrorsWithJson(server, logger);
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('answers headers that stop arriving with 408 JSON', async () => {
    const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({ error: 'request not received in time', code: 'REQUEST_TIMEOUT' });
  });
});
