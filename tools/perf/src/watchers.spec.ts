import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openWatchers } from './watchers';

/** A node stand-in that streams `events` SSE events to every watcher, then stays open. */
async function sseServer(events: number, status = 200) {
  const server = http.createServer((_req, res) => {
    if (status !== 200) return void res.writeHead(status).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': watching\n\n');
    for (let i = 1; i <= events; i++) res.write(`id: ${i}\nevent: put\ndata: {"key":"k","value":${i},"version":${i}}\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('openWatchers', () => {
  it('holds N streams open and counts the events they get (not comments)', async () => {
    const { url, server } = await sseServer(3);
    const pool = await openWatchers(url, 120, { prefix: 'perf-' });
    try {
      for (let i = 0; i < 100 && pool.events < 360; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(pool.open).toBe(120);
      expect(pool.events).toBe(360);
    } finally {
      await pool.close();
      server.closeAllConnections();
      server.close();
    }
    expect(pool.ended).toBe(0);
  });

  it('refuses a node that does not answer 200, naming it', async () => {
    const { url, server } = await sseServer(0, 404);
    try {
      await expect(openWatchers(url, 3)).rejects.toThrow(`watch on ${url} answered 404`);
    } finally {
      server.close();
    }
  });
});
