import path from 'node:path';
import { freePort } from './free-port';
import { NodeProcess } from './node-process';

export interface LocalClusterOptions {
  readonly followers?: number;
  readonly host?: string;
  /** Ports leader, f1, f2, ...; picked free when absent. */
  readonly ports?: readonly number[];
  /** Environment for every node (e.g. CLUSTER_TOKEN). */
  readonly env?: Readonly<Record<string, string>>;
  readonly leaderEnv?: Readonly<Record<string, string>>;
  readonly followerEnv?: Readonly<Record<string, string>>;
  /** Where `apps/leader/main.js` and `apps/follower/main.js` were built. */
  readonly distDir?: string;
  /** When set, node `name` keeps its data in `dataRoot/name`. */
  readonly dataRoot?: string;
  readonly onLine?: (name: string, line: string) => void;
}

/** A leader and its followers as local processes on loopback: what the e2e tests, the launcher and the perf tool run. */
export class LocalCluster {
  private constructor(
    readonly leader: NodeProcess,
    readonly followers: NodeProcess[],
  ) {}

  get nodes(): NodeProcess[] {
    return [this.leader, ...this.followers];
  }

  /** The processes on their ports, none started: for tests that start them in their own order. */
  static async prepare(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    return LocalCluster.create(await LocalCluster.resolvePorts(options), options);
  }

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const cluster = LocalCluster.create(await LocalCluster.resolvePorts(options), options);
    try {
      await Promise.all(cluster.followers.map((f) => f.start()));
      await cluster.leader.start();
      await cluster.leaderServing();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /**
   * Waits until the leader serves: after its start it first hears from its followers
   * (API.md guarantee 7); `/health` answers before that.
   */
  async leaderServing(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${this.leader.url}/status`, { signal: AbortSignal.timeout(1000) });
        if (((await res.json()) as { state?: string }).state !== 'recovering') return;
      } catch {
        // not answering yet
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`the leader did not finish its recovery within ${timeoutMs} ms`);
  }

  /** Stops every node this cluster started; SIGKILL for any that does not exit in time. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(5000)));
  }

  private static async resolvePorts(options: LocalClusterOptions): Promise<number[]> {
    const count = (options.followers ?? 5) + 1;
    if (options.ports) {
      if (options.ports.length !== count) throw new Error(`need ${count} ports, got ${options.ports.length}`);
      return [...options.ports];
    }
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freePort(options.host);
      if (!ports.includes(port)) ports.push(port);
    }
    return ports;
  }

  private static create(ports: number[], options: LocalClusterOptions): LocalCluster {
    const host = options.host ?? '127.0.0.1';
    const distDir = options.distDir ?? path.resolve('dist');
    const url = (port: number) => `http://${host}:${port}`;
    const [leaderPort, ...followerPorts] = ports;
    const dataEnv = (name: string): Record<string, string> => (options.dataRoot ? { DATA_DIR: path.join(options.dataRoot, name) } : {});
    const followers = followerPorts.map(
      (port, i) =>
        new NodeProcess({
          name: `f${i + 1}`,
          role: 'follower',
          script: path.join(distDir, 'apps/follower/main.js'),
          host,
          port,
          env: { ...options.env, LEADER_URL: url(leaderPort), ...dataEnv(`f${i + 1}`), ...options.followerEnv },
          onLine: options.onLine,
        }),
    );
    const leader = new NodeProcess({
      name: 'leader',
      role: 'leader',
      script: path.join(distDir, 'apps/leader/main.js'),
      host,
      port: leaderPort,
      env: { ...options.env, FOLLOWERS: followerPorts.map(url).join(','), ...dataEnv('leader'), ...options.leaderEnv },
      onLine: options.onLine,
    });
    return new LocalCluster(leader, followers);
  }
}
