import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'http-500' | 'drop-connection';

/**
 * Sits between the leader and one follower. Forwards everything, except that the next
 * requests queued with `failNext` fail: answered 500, or their connection destroyed
 * without an answer.
 */
export class FaultProxy {
  readonly faultsInjected: Fault[] = [];
  private readonly pending: Fault[] = [];
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, listenPort: number): Promise<FaultProxy> {
    const holder: { proxy?: FaultProxy } = {};
    const server = http.createServer((req, res) => (holder.proxy as FaultProxy).handle(req, res, targetPort));
    await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
    holder.proxy = new FaultProxy(server, (server.address() as AddressInfo).port);
    return holder.proxy;
  }

  failNext(...faults: Fault[]): void {
    this.pending.push(...faults);
  }

  async close(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, targetPort: number): void {
    const fault = req.url === '/replicate' ? this.pending.shift() : undefined;
    if (fault) {
      this.faultsInjected.push(fault);
      req.resume();
      if (fault === 'http-500') {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'injected by the test proxy' }));
      } else {
        req.socket.destroy();
      }
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, path: req.url, method: req.method, headers: req.headers, agent: this.agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
