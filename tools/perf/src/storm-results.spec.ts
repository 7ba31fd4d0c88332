import { latencyChart, throughputChart } from './charts';
import type { ConsistencyReport } from './consistency-check';
import { formatCsv, formatSummary, formatTable } from './results-table';
import { findProblems, measureStorm, throughputRatios, type RunResults, type StormMeasurement } from './storm-results';
import type { StormSample } from './storm-spec';

const model = { followers: 5, minDelayMs: 200, maxDelayMs: 200 };

const sample = (latencies: number[], overrides: Partial<StormSample> = {}): StormSample => ({
  latenciesMs: Float64Array.from(latencies),
  attempted: latencies.length,
  succeeded: latencies.length,
  failures: {},
  durationMs: 1000,
  endedAtEpochMs: 0,
  cutShort: false,
  ...overrides,
});

const converged: ConsistencyReport = { pairs: 50, firstReadMismatches: 7, lastReadMismatches: 0, converged: true, convergeMs: 120, rounds: 3, examples: [] };

function run(measurements: StormMeasurement[]): RunResults {
  return {
    tool: 'kv-perf-storm',
    startedAt: '2026-11-24T10:00:00.000Z',
    finishedAt: '2026-11-24T10:01:00.000Z',
    machine: { cpuModel: 'test cpu', cpus: 2, memoryGiB: 24, node: 'v20.0.0', platform: 'linux', loadAverageStart: 0, loadAverageEnd: 0 },
    settings: { mode: 'latency', writesPerQuorum: 4, concurrency: 2, keys: 10, valueSize: 32, warmupWrites: 0, quorums: [1, 3], delayModel: model, launchedCluster: true, leaderUrl: 'http://127.0.0.1:1', durability: null },
    measurements,
    throughputRatio: throughputRatios(measurements),
    problems: findProblems(measurements),
  };
}

describe('measureStorm', () => {
  it('puts the measured figures next to the theory and their difference', () => {
    const m = measureStorm({ target: 'cluster', quorum: 3, sample: sample([201, 202, 203, 206]), model, concurrency: 2, consistency: converged });
    expect(m).toMatchObject({ target: 'cluster', quorum: 3, attempted: 4, succeeded: 4, failed: 0, throughputPerSec: 4, consistency: converged, replication: null });
    expect(m.latency?.mean).toBe(203);
    expect(m.theory).toEqual({ mean: 200, p50: 200, p95: 200, p99: 200, min: 200, max: 200 });
    expect(m.overhead?.mean).toBeCloseTo(3, 12);
    expect(m.overhead?.p50).toBeCloseTo(2.5, 12);
    // Little's law: 2 writers each waiting 200 ms.
    expect(m.theoryThroughputPerSec).toBe(10);
  });

  it('has no latency or overhead when every write failed, and no theoretical throughput without delays', () => {
    const m = measureStorm({ target: 'cluster', quorum: 1, sample: sample([], { attempted: 3, failures: { 'HTTP 503': 3 } }), model: { ...model, minDelayMs: 0, maxDelayMs: 0 }, concurrency: 2, consistency: null });
    expect(m).toMatchObject({ failed: 3, latency: null, overhead: null, theoryThroughputPerSec: null, throughputPerSec: 0 });
  });
});

describe('run verdict and ratios', () => {
  it('fails a run whose storm was cut short or whose followers never converged', () => {
    const stuck: ConsistencyReport = { ...converged, converged: false, convergeMs: null, lastReadMismatches: 2, examples: ['f1 k0: absent, leader v3'] };
    const problems = findProblems([
      measureStorm({ target: 'cluster', quorum: 1, sample: sample([200], { cutShort: true, attempted: 1 }), model, concurrency: 2, consistency: converged }),
      measureStorm({ target: 'cluster', quorum: 3, sample: sample([200]), model, concurrency: 2, consistency: stuck }),
    ]);
    expect(problems).toEqual([
      'cluster w=1: the time limit stopped the storm after 1 writes',
      'cluster w=3: followers did not converge: 2 of 50 reads still differ from the leader after 3 rounds (f1 k0: absent, leader v3)',
    ]);
  });

  it('divides cluster throughput by the reference server throughput of the same quorum', () => {
    const measurements = [
      measureStorm({ target: 'reference', quorum: 1, sample: sample([1, 1], { durationMs: 100 }), model, concurrency: 2, consistency: null }),
      measureStorm({ target: 'cluster', quorum: 1, sample: sample([1, 1], { durationMs: 400 }), model, concurrency: 2, consistency: converged }),
      measureStorm({ target: 'cluster', quorum: 3, sample: sample([1, 1]), model, concurrency: 2, consistency: converged }),
    ];
    expect(throughputRatios(measurements)).toEqual([{ quorum: 1, ratio: 0.25 }]);
  });
});

describe('table, CSV and charts', () => {
  const measurements = [
    measureStorm({ target: 'reference', quorum: 1, sample: sample([201, 202]), model, concurrency: 2, consistency: null }),
    measureStorm({
      target: 'cluster',
      quorum: 1,
      sample: sample([203, 205], { attempted: 3, failures: { 'HTTP 503': 1 } }),
      model,
      concurrency: 2,
      consistency: converged,
      replication: { requestsByKind: { append: 4, heartbeat: 2 }, entries: 10, entriesPerRequest: 2.5 },
    }),
    measureStorm({ target: 'cluster', quorum: 3, sample: sample([210, 230]), model, concurrency: 2, consistency: converged }),
  ];
  const results = run(measurements);

  it('prints one aligned row per storm and a summary of ratios and failures', () => {
    const lines = formatTable(measurements).split('\n');
    expect(lines).toHaveLength(5);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[3]).toMatch(/^cluster\s+1\s+2\s+1\s+204\.0\s+\S+\s+200\.0\s+\+4\.0 /);
    expect(lines[3]).toMatch(/7\/50\s+120\s+2\.50\s+-$/);
    expect(formatSummary(results)).toBe("w=1: cluster throughput is 100.0% of the reference server's\ncluster w=1 failures: HTTP 503 × 1");
  });

  it('puts the storm with watchers open beside the same storm without', () => {
    const plain = measureStorm({ target: 'cluster', quorum: 3, sample: sample([200, 200, 200, 200]), model, concurrency: 2, consistency: converged });
    const watched = measureStorm({ target: 'watched', quorum: 3, sample: sample([200, 200, 200]), model, concurrency: 2, consistency: converged });
    expect(formatSummary(run([plain, watched]))).toBe('w=3: with watchers open, cluster throughput is 75.0% of the same storm without');
  });

  it('says how the watchers were laid out and how many events they got', () => {
    const plain = measureStorm({ target: 'cluster', quorum: 5, sample: sample([200, 200]), model, concurrency: 2, consistency: converged });
    const watched = {
      ...measureStorm({ target: 'watched', quorum: 5, sample: sample([200, 200]), model, concurrency: 2, consistency: converged }),
      watchers: { count: 1000, layout: 'spread' as const, openAtEnd: 1000, events: 3800, endedEarly: 0, clientCpuMsPerWrite: 0.01 },
    };
    expect(formatSummary(run([plain, watched]))).toBe('w=5: with watchers open (1000, spread: 3800 events), cluster throughput is 100.0% of the same storm without');
  });

  it('puts etcd with watchers open beside etcd without, as the cluster', () => {
    const plain = measureStorm({ target: 'cluster', quorum: 3, sample: sample([200, 200, 200, 200]), model, concurrency: 2, consistency: converged });
    const watched = measureStorm({ target: 'watched', quorum: 3, sample: sample([200, 200, 200]), model, concurrency: 2, consistency: converged });
    const etcd = measureStorm({ target: 'etcd', quorum: 3, sample: sample([200, 200, 200, 200, 200]), model, concurrency: 2 });
    const etcdWatched = {
      ...measureStorm({ target: 'etcd-watched', quorum: 3, sample: sample([200, 200]), model, concurrency: 2 }),
      watchers: { count: 1000, layout: 'same' as const, openAtEnd: 1000, events: 20, endedEarly: 0, clientCpuMsPerWrite: 0.1 },
    };
    expect(formatSummary(run([plain, watched, etcd, etcdWatched]))).toBe(
      'w=3: with watchers open, cluster throughput is 75.0% of the same storm without\n' +
        'w=3: with watchers open (1000, same: 20 events), etcd throughput is 40.0% of the same storm without',
    );
  });

  it('writes a CSV row per storm with the same columns as the header', () => {
    const lines = formatCsv(measurements).trim().split('\n');
    expect(lines).toHaveLength(4);
    const header = lines[0].split(',');
    for (const line of lines.slice(1)) expect(line.split(',')).toHaveLength(header.length);
    const row = Object.fromEntries(header.map((name, i) => [name, lines[2].split(',')[i]]));
    expect(row).toMatchObject({ target: 'cluster', quorum: '1', failed: '1', mean_ms: '204', theory_mean_ms: '200', overhead_mean_ms: '4', first_read_mismatches: '7', converged: 'true', failures: 'HTTP 503:1', replication_requests: '6', replicated_entries: '10', entries_per_request: '2.5' });
  });

  it('draws measured percentiles beside the theory, per cluster quorum, and the reference when it ran', () => {
    const chart = latencyChart(results);
    expect(chart.data.labels).toEqual(['w=1', 'w=3']);
    expect(chart.data.datasets.map((d) => d.label)).toEqual([
      'measured mean', 'measured p50', 'measured p95', 'measured p99', 'theory mean', 'theory p50', 'theory p95', 'theory p99', 'reference server mean',
    ]);
    expect(chart.data.datasets[0].data).toEqual([204, 220]);
    expect(chart.data.datasets[4].data).toEqual([200, 200]);
    expect(chart.data.datasets[8].data).toEqual([201.5, null]);
  });

  it('draws throughput bars for the cluster and the reference, and the limit the delays set', () => {
    const chart = throughputChart(results);
    expect(chart.data.datasets.map((d) => [d.type, d.label])).toEqual([
      ['bar', 'cluster'],
      ['bar', 'reference server (bare Node HTTP, same load)'],
      ['line', 'theory: writers / theoretical mean latency'],
    ]);
    expect(chart.data.datasets[2].data).toEqual([10, 10]);
  });
});
