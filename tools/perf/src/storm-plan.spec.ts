import { CommanderError } from 'commander';
import { createStormCommand, parseStormPlan } from './storm-plan';

const NOW = new Date('2026-11-24T10:20:30.456Z');

/** Parses without exiting the test process or printing commander's messages. */
function parse(argv: string[]) {
  const command = createStormCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  return parseStormPlan(argv, NOW, command);
}

describe('storm plan', () => {
  it("runs the seed's storm by default: demonstration delays, 10 writers, 10 keys, quorums 1-5, own cluster", () => {
    expect(parse([])).toEqual({
      mode: 'latency',
      writes: 250,
      concurrency: 10,
      keys: 10,
      quorums: [1, 2, 3, 4, 5],
      minDelayMs: 50,
      maxDelayMs: 800,
      valueSize: 32,
      outDir: 'perf-results/latency-2026-11-24T10-20-30-456Z',
      cluster: { kind: 'launch' },
      reference: false,
      warmupWrites: 20,
      stormTimeLimitMs: 300_000,
      convergeTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      profileLeader: false,
      profileNodes: false,
      durability: null,
      etcd: null,
      watchers: 0,
      watchLayout: 'same',
    });
  });

  it('opens --watchers N watch streams for a second storm of the cluster, none by default', () => {
    expect(parse([]).watchers).toBe(0);
    expect(parse(['--watchers', '1000']).watchers).toBe(1000);
  });

  it('lays the watchers out with --watch-layout same|spread|idle, same by default', () => {
    expect(parse(['--watchers', '10']).watchLayout).toBe('same');
    expect(parse(['--watchers', '10', '--watch-layout', 'spread']).watchLayout).toBe('spread');
    expect(parse(['--watchers', '10', '--watch-layout', 'idle']).watchLayout).toBe('idle');
  });

  it('adds etcd as a target with --etcd URL or --launch-etcd, at zero delay only', () => {
    expect(parse(['--mode', 'throughput', '--etcd', 'http://127.0.0.1:2379/']).etcd).toEqual({ kind: 'existing', url: 'http://127.0.0.1:2379' });
    expect(parse(['--mode', 'throughput', '--launch-etcd']).etcd).toEqual({ kind: 'launch', bin: 'etcd' });
    expect(parse(['--max-delay', '0', '--min-delay', '0', '--launch-etcd', '--etcd-bin', '/opt/etcd']).etcd).toEqual({ kind: 'launch', bin: '/opt/etcd' });
  });

  it('launches a durable cluster with --durable, FSYNC=always unless --fsync says otherwise', () => {
    expect(parse(['--durable']).durability).toEqual({ fsync: 'always' });
    expect(parse(['--durable', '--fsync', 'batch']).durability).toEqual({ fsync: 'batch' });
  });

  it('has throughput defaults that explicit flags still override', () => {
    expect(parse(['--mode', 'throughput'])).toMatchObject({ writes: 20_000, concurrency: 64, minDelayMs: 0, maxDelayMs: 0, reference: true, warmupWrites: 20_000 });
    expect(parse(['--mode', 'throughput', '--writes', '500', '--no-reference', '--max-delay', '5'])).toMatchObject({ writes: 500, warmupWrites: 500, reference: false, minDelayMs: 0, maxDelayMs: 5 });
    expect(parse(['--mode', 'throughput', '--writes', '500', '--warmup', '7'])).toMatchObject({ writes: 500, warmupWrites: 7 });
    expect(parse(['--writes', '500'])).toMatchObject({ writes: 500, warmupWrites: 20 });
    // The default never goes past what --warmup itself accepts.
    expect(parse(['--mode', 'throughput', '--writes', '5000000'])).toMatchObject({ writes: 5_000_000, warmupWrites: 5_000_000 });
    expect(parse(['--warmup', '5000000'])).toMatchObject({ warmupWrites: 5_000_000 });
    expect(parse(['--reference', '--quorums', '3,1', '--out', 'x'])).toMatchObject({ reference: true, quorums: [3, 1], outDir: 'x' });
  });

  it('storms an existing cluster given --leader and --followers', () => {
    const plan = parse(['--leader', 'http://localhost:8000/', '--followers', 'http://127.0.0.1:8001, http://127.0.0.1:8002', '--quorums', '1,2']);
    expect(plan.cluster).toEqual({ kind: 'existing', leaderUrl: 'http://localhost:8000', followerUrls: ['http://127.0.0.1:8001', 'http://127.0.0.1:8002'] });
  });

  it.each([
    [['--writes', '0']],
    [['--writes', '1.5']],
    [['--concurrency', 'many']],
    [['--quorums', '1,,2']],
    [['--quorums', '1,1']],
    [['--min-delay', '900']],
    [['--mode', 'fast']],
    [['--leader', 'http://127.0.0.1:8000']],
    [['--followers', 'http://127.0.0.1:8001']],
    [['--leader', 'http://example.com:8000', '--followers', 'http://127.0.0.1:8001']],
    [['--leader', 'https://127.0.0.1:8000', '--followers', 'http://127.0.0.1:8001']],
    [['--leader', 'http://127.0.0.1:8000', '--followers', 'http://127.0.0.1:8001', '--quorums', '1,2']],
    [['--quorums', '6']],
    [['--profile-leader', '--leader', 'http://127.0.0.1:8000', '--followers', 'http://127.0.0.1:8001', '--quorums', '1']],
    [['--durable', '--leader', 'http://127.0.0.1:8000', '--followers', 'http://127.0.0.1:8001', '--quorums', '1']],
    [['--fsync', 'off']],
    [['--durable', '--fsync', 'sometimes']],
    [['--unknown']],
    [['--launch-etcd']],
    [['--mode', 'throughput', '--etcd', 'http://127.0.0.1:2379', '--launch-etcd']],
    [['--mode', 'throughput', '--etcd', 'http://example.com:2379']],
  ])('refuses %j', (argv) => {
    expect(() => parse(argv)).toThrow(CommanderError);
  });
});
