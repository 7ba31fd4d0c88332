// Servers for the perf tool's specs (not built into the tool): each listens on a free
// loopback port and stops with everything it started.
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';

/** A server listening on loopback: its base URL, and `close` to stop it and drop its connections. */
export interface LoopbackServer {
  readonly url: string;
  readonly close: () => Promise<void>;
}

/**
 * Listens on a free loopback port; `close` clears the answer timers, drops every connection
 * (`dropConnections`) and stops the server.
 */
export async function onLoopback(server: net.Server, timers: Set<NodeJS.Timeout>, dropConnections: () => void): Promise<LoopbackServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        timers.forEach((timer) => clearTimeout(timer));
        dropConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A server that answers every request, once its body is read, by `answer(res)` on the raw
 * response: headers and as much body as it likes, when it likes (an answer cut off, stalled
 * or trickled). Timers `answer` adds to `timers` are cleared on `close`.
 */
export async function rawServer(answer: (res: http.ServerResponse, timers: Set<NodeJS.Timeout>) => void): Promise<LoopbackServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res, timers));
  });
  return onLoopback(server, timers, () => server.closeAllConnections());
}

/** Answers 200 with a body that never ends: `chunk` every `everyMs` ms (never idle for a socket timeout). */
export function trickleForever(chunk: string, everyMs: number): (res: http.ServerResponse, timers: Set<NodeJS.Timeout>) => void {
  return (res, timers) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => void (res.destroyed || res.write(chunk)), everyMs);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  };
}
