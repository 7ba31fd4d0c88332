import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Random } from './random';

/**
 * What one leader→follower link does to the replication traffic it carries:
 * - `pass`: forward as is;
 * - `cut`: destroy every connection and every request, no answer (a partition);
 * - `delay`: hold each request `delayMs` (± half) before forwarding;
 * - `duplicate`: forward each request, and again a little later (the later copy's answer is dropped);
 * - `reorder`: hold requests and release them in shuffled batches.
 */
export type LinkMode = 'pass' | 'cut' | 'delay' | 'duplicate' | 'reorder';

/**
 * An HTTP proxy on 127.0.0.1 in front of one follower; the leader's FOLLOWERS point at it.
 * Grown from e2e/cluster's FaultProxy: there faults are queued per request, here the link
 * has a mode that the nemesis switches.
 */
export class LinkProxy {
  private mode: LinkMode = 'pass';
  private delayMs = 0;
  private readonly held: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();
  private readonly agent = new http.Agent({ keepAlive: true });
  private flushTimer: NodeJS.Timeout | null = null;
  /** Requests forwarded, cut, duplicated: for the report. */
  readonly counts = { forwarded: 0, cut: 0, duplicated: 0, reordered: 0, delayed: 0 };

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    readonly targetPort: number,
    private readonly random: Random,
  ) {}

  static async start(targetPort: number, seed: number): Promise<LinkProxy> {
    const holder: { proxy?: LinkProxy } = {};
    const server = http.createServer((req, res) => (holder.proxy as LinkProxy).handle(req, res));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new LinkProxy(server, (server.address() as AddressInfo).port, targetPort, new Random(seed));
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
      if (proxy.mode === 'cut') socket.destroy();
    });
    holder.proxy = proxy;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setMode(mode: LinkMode, delayMs = 0): void {
    this.mode = mode;
    this.delayMs = delayMs;
    if (mode === 'cut') for (const socket of this.sockets) socket.destroy();
    if (mode !== 'reorder') this.flush();
  }

  async close(): Promise<void> {
    this.flush();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private flush(): void {
    const batch = this.held.splice(0);
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(this.random.next() * (i + 1));
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
    for (const send of batch) send();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.mode === 'cut') {
      this.counts.cut++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const mode = this.mode;
      const send = () => this.forward(req, body, res);
      if (mode === 'delay') {
        this.counts.delayed++;
        setTimeout(send, this.delayMs / 2 + this.random.next() * this.delayMs);
      } else if (mode === 'reorder') {
        this.counts.reordered++;
        this.held.push(send);
        if (!this.flushTimer) {
          this.flushTimer = setTimeout(() => {
            this.flushTimer = null;
            this.flush();
          }, 50 + this.random.int(0, 250));
        }
      } else if (mode === 'duplicate') {
        this.counts.duplicated++;
        send();
        // The copy arrives late, after newer traffic may have passed: guarantee 3's case.
        setTimeout(() => this.forward(req, body, null), this.random.int(0, 1500));
      } else {
        send();
      }
    });
  }

  /** Sends one copy upstream; `res` null: a duplicate whose answer nobody waits for. */
  private forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse | null): void {
    if (this.mode === 'cut') {
      this.counts.cut++;
      res?.destroy();
      return;
    }
    this.counts.forwarded++;
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const upstream = http.request(
      { host: '127.0.0.1', port: this.targetPort, path: req.url, method: req.method, headers, agent: this.agent, timeout: 30_000 },
      (answer) => {
        if (res === null || res.destroyed) {
          answer.resume();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res?.destroy());
    upstream.on('timeout', () => upstream.destroy());
    upstream.end(body);
  }
}
