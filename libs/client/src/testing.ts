/**
 * A node that keeps the client API of API.md in a few lines, in process, for the client's
 * and kvctl's tests: leader or follower, conditional writes, read-your-writes, watch. It
 * replicates nothing; a test sets what it needs (a failing quorum, a lagging version).
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import type { JsonValue } from '@kv/store';

export interface FakeNodeOptions {
  readonly role: 'leader' | 'follower';
  /** A follower's 403 hint. */
  readonly leaderUrl?: string | null;
  /** What `?w=` defaults to and may go up to. */
  readonly followers?: number;
}

interface StoredEntry {
  value: JsonValue;
  version: number;
}

interface Change {
  readonly key: string;
  readonly value?: JsonValue;
  readonly version: number;
}

export class FakeNode {
  readonly entries = new Map<string, StoredEntry>();
  /** Every change in version order: what /watch replays. */
  readonly history: Change[] = [];
  /** Method and URL of every request, with its Last-Event-ID header. */
  readonly requests: Array<{ method: string; url: string; lastEventId: string | undefined }> = [];
  /** When true, writes are applied but answer 503 QUORUM_NOT_REACHED. */
  failQuorum = false;
  /** A watch from below this answers 410 HISTORY_COMPACTED. */
  oldestVersion = 0;
  leaderUrl: string | null;
  version = 0;
  private readonly watchers = new Set<{ res: ServerResponse; prefix: string }>();

  private constructor(
    readonly role: 'leader' | 'follower',
    readonly followers: number,
    leaderUrl: string | null,
    private readonly server: Server,
  ) {
    this.leaderUrl = leaderUrl;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static async start(options: FakeNodeOptions): Promise<FakeNode> {
    const app = express();
    let node: FakeNode | null = null;
    app.use(express.json({ type: () => true }));
    app.use((req, _res, next) => {
      node?.requests.push({ method: req.method, url: req.url, lastEventId: req.get('last-event-id') });
      next();
    });
    app.all('/{*splat}', (req, res, next) => (node ? node.route(req, res).catch(next) : next()));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    node = new FakeNode(options.role, options.followers ?? 5, options.leaderUrl ?? null, server);
    return node;
  }

  /** Applies a change as the leader would (also on a follower: "it caught up"), telling every watcher. */
  apply(key: string, value: JsonValue | undefined): number {
    const version = ++this.version;
    if (value === undefined) this.entries.delete(key);
    else this.entries.set(key, { value, version });
    const change: Change = value === undefined ? { key, version } : { key, value, version };
    this.history.push(change);
    for (const watcher of this.watchers) if (key.startsWith(watcher.prefix)) sendEvent(watcher.res, change);
    return version;
  }

  /** Cuts every open watch stream, as a node restart would. */
  dropWatchers(): void {
    for (const watcher of this.watchers) watcher.res.destroy();
    this.watchers.clear();
  }

  async stop(): Promise<void> {
    this.dropWatchers();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async route(req: Request, res: Response): Promise<void> {
    const path = req.path;
    res.set('x-applied-version', String(this.version));
    if (req.method === 'GET' && path === '/health') return void res.json({ status: 'ok', role: this.role });
    if (req.method === 'GET' && path === '/livez') return void res.json({ status: 'ok' });
    if (req.method === 'GET' && path === '/status') {
      return void res.json(
        this.role === 'leader'
          ? { role: 'leader', version: this.version, keys: this.entries.size, writeQuorum: 3, inSync: this.followers, followers: [] }
          : { role: 'follower', appliedVersion: this.version, keys: this.entries.size },
      );
    }
    if (req.method === 'GET' && path === '/watch') return this.watch(req, res);
    if (req.method === 'GET' && path === '/kv') {
      if (!(await this.caughtUp(req, res))) return;
      const prefix = String(req.query.prefix ?? '');
      const after = req.query.after === undefined ? null : String(req.query.after);
      const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit);
      const keys = [...this.entries.keys()].filter((k) => k.startsWith(prefix) && (after === null || k > after)).sort();
      const page = keys.slice(0, limit);
      const items = page.map((key) => ({ key, ...(this.entries.get(key) as StoredEntry) }));
      return void res.json({ items, next: keys.length > limit ? page[page.length - 1] : null });
    }
    const keyMatch = /^\/kv\/([^/]+)$/.exec(path);
    if (!keyMatch) return void res.status(404).json({ error: 'no such route', code: 'ROUTE_NOT_FOUND' });
    const key = decodeURIComponent(keyMatch[1]);
    if (req.method === 'GET') {
      if (!(await this.caughtUp(req, res))) return;
      const entry = this.entries.get(key);
      if (!entry) return void res.status(404).json({ error: `key ${key} not found`, code: 'KEY_NOT_FOUND' });
      return void res.set('etag', `"${entry.version}"`).json({ key, value: entry.value, version: entry.version });
    }
    const entry = this.entries.get(key);
    if (this.role === 'follower') return void res.status(403).json({ error: 'Only leader accepts writes', code: 'NOT_LEADER', leader: this.leaderUrl });
    const ifVersion = req.query.ifVersion === undefined ? null : Number(req.query.ifVersion);
    if (ifVersion !== null && ifVersion !== (entry?.version ?? 0)) {
      return void res.status(412).json({ error: 'version mismatch', code: 'VERSION_MISMATCH', key, version: entry?.version ?? 0 });
    }
    if (req.method === 'DELETE' && !entry) return void res.status(404).json({ error: `key ${key} not found`, code: 'KEY_NOT_FOUND' });
    const w = req.query.w === undefined ? 3 : Number(req.query.w);
    const version = this.apply(key, req.method === 'PUT' ? (req.body as { value: JsonValue }).value : undefined);
    if (this.failQuorum) return void res.status(503).json({ error: 'quorum not reached', code: 'QUORUM_NOT_REACHED', key, version, acks: 0, quorum: w });
    res.json({ key, version, acks: w, quorum: w });
  }

  /** Read-your-writes: waits up to `?timeout=` for `?minVersion=`; false once it answered 503. */
  private async caughtUp(req: Request, res: Response): Promise<boolean> {
    if (req.query.minVersion === undefined) return true;
    const minVersion = Number(req.query.minVersion);
    const deadline = Date.now() + (req.query.timeout === undefined ? 1000 : Number(req.query.timeout));
    while (this.version < minVersion && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.version >= minVersion) {
      res.set('x-applied-version', String(this.version));
      return true;
    }
    res.status(503).json({ error: 'not caught up', code: 'NOT_CAUGHT_UP', appliedVersion: this.version, minVersion });
    return false;
  }

  private watch(req: Request, res: Response): void {
    const header = req.get('last-event-id');
    const from = header !== undefined ? Number(header) : req.query.fromVersion === undefined ? this.version : Number(req.query.fromVersion);
    const prefix = String(req.query.prefix ?? '');
    if (from < this.oldestVersion) {
      return void res.status(410).json({ error: 'history compacted', code: 'HISTORY_COMPACTED', oldestVersion: this.oldestVersion });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-applied-version': String(this.version) });
    res.write(': keep-alive\n\n');
    for (const change of this.history) if (change.version > from && change.key.startsWith(prefix)) sendEvent(res, change);
    const watcher = { res, prefix };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }
}

function sendEvent(res: ServerResponse, change: Change): void {
  const type = 'value' in change ? 'put' : 'delete';
  res.write(`id: ${change.version}\nevent: ${type}\ndata: ${JSON.stringify(change)}\n\n`);
}
