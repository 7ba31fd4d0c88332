/** Servers that misbehave on purpose, for the client's specs. */
import http from 'node:http';
import net from 'node:net';

/** A loopback URL on which nothing listens (a port that was free a moment ago). */
export async function freePortUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** An HTTP server that breaks the connection of its first `drops` requests, then answers `answer` with 200. */
export async function flakyServer(drops: number, answer: unknown): Promise<{ url: string; requests: () => number; stop: () => Promise<void> }> {
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (++count <= drops) return void req.socket.destroy();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    requests: () => count,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A TCP server that accepts connections and never answers. */
export async function silentServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * An HTTP server that answers every request with `status` and then a body that never ends
 * (`chunk` every `everyMs` ms): never idle long enough for a socket timeout.
 */
export async function tricklingServer(status: number, chunk: string, everyMs: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' });
    const timer = setInterval(() => void (res.destroyed || res.write(chunk)), everyMs);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stop: async () => {
      timers.forEach((timer) => clearInterval(timer));
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
