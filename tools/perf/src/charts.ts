/**
 * Chart.js configurations of a run's results: which series are drawn and how. Building them is
 * pure; rendering them to PNG is chart-renderer's job.
 */
import type { ChartConfiguration, ChartDataset } from 'chart.js';
import type { RunResults, StormMeasurement } from './storm-results';

type Percentile = 'mean' | 'p50' | 'p95' | 'p99';

const SERIES: ReadonlyArray<{ readonly field: Percentile; readonly label: string; readonly colour: string }> = [
  { field: 'mean', label: 'mean', colour: '#1f77b4' },
  { field: 'p50', label: 'p50', colour: '#2ca02c' },
  { field: 'p95', label: 'p95', colour: '#ff7f0e' },
  { field: 'p99', label: 'p99', colour: '#d62728' },
];
const REFERENCE_COLOUR = '#7f7f7f';

function byTarget(results: RunResults, target: StormMeasurement['target']): StormMeasurement[] {
  return results.measurements.filter((m) => m.target === target).sort((a, b) => a.quorum - b.quorum);
}

function delayText(results: RunResults): string {
  const { minDelayMs: a, maxDelayMs: b, followers } = results.settings.delayModel;
  const delay = a === b ? `fixed delay ${a} ms` : `delay uniform ${a}-${b} ms`;
  return `${followers} followers, ${delay}, ${results.settings.concurrency} writers, ${results.settings.writesPerQuorum} writes per quorum`;
}

function machineText(results: RunResults): string {
  const m = results.machine;
  return `${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}; cluster and load generator on the same machine`;
}

/** Mean, p50, p95 and p99 against quorum, measured (solid) beside the delay model's theory (dashed). */
export function latencyChart(results: RunResults): ChartConfiguration<'line', Array<number | null>, string> {
  const cluster = byTarget(results, 'cluster');
  const reference = byTarget(results, 'reference');
  const datasets: Array<ChartDataset<'line', Array<number | null>>> = [];
  for (const series of SERIES) {
    datasets.push({
      label: `measured ${series.label}`,
      data: cluster.map((m) => m.latency?.[series.field] ?? null),
      borderColor: series.colour,
      backgroundColor: series.colour,
      borderWidth: 2.5,
      pointRadius: 4,
    });
  }
  for (const series of SERIES) {
    datasets.push({
      label: `theory ${series.label}`,
      data: cluster.map((m) => m.theory[series.field]),
      borderColor: series.colour,
      // Unfilled, so the legend shows the dashed outline of the theory's lines.
      backgroundColor: 'rgba(0, 0, 0, 0)',
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
    });
  }
  if (reference.length > 0) {
    datasets.push({
      label: 'reference server mean',
      data: cluster.map((c) => reference.find((r) => r.quorum === c.quorum)?.latency?.mean ?? null),
      borderColor: REFERENCE_COLOUR,
      backgroundColor: 'rgba(0, 0, 0, 0)',
      borderDash: [2, 3],
      borderWidth: 2,
      pointRadius: 3,
    });
  }
  return {
    type: 'line',
    data: { labels: cluster.map((m) => `w=${m.quorum}`), datasets },
    options: {
      responsive: false,
      animation: false,
      plugins: {
        title: { display: true, text: 'Write latency by quorum: measured vs. order-statistic theory', font: { size: 18 } },
        subtitle: { display: true, text: [delayText(results), machineText(results)], font: { size: 12 }, padding: { bottom: 10 } },
        legend: { position: 'right', labels: { boxWidth: 36 } },
      },
      scales: {
        x: { title: { display: true, text: 'write quorum (follower acks awaited)' } },
        // Room below the lowest line: with a fixed delay the theory lies flat at the bottom.
        y: { grace: '5%', title: { display: true, text: 'latency (ms)' } },
      },
    },
  };
}

/** Writes per second against quorum: the cluster, the reference server, and the limit the delays set. */
export function throughputChart(results: RunResults): ChartConfiguration<'bar' | 'line', Array<number | null>, string> {
  const cluster = byTarget(results, 'cluster');
  const reference = byTarget(results, 'reference');
  const datasets: Array<ChartDataset<'bar' | 'line', Array<number | null>>> = [
    { type: 'bar', label: 'cluster', data: cluster.map((m) => m.throughputPerSec), backgroundColor: '#1f77b4' },
  ];
  if (reference.length > 0) {
    datasets.push({
      type: 'bar',
      label: 'reference server (bare Node HTTP, same load)',
      data: cluster.map((c) => reference.find((r) => r.quorum === c.quorum)?.throughputPerSec ?? null),
      backgroundColor: '#bbbbbb',
    });
  }
  if (cluster.some((m) => m.theoryThroughputPerSec !== null)) {
    datasets.push({
      type: 'line',
      label: 'theory: writers / theoretical mean latency',
      data: cluster.map((m) => m.theoryThroughputPerSec),
      borderColor: '#d62728',
      backgroundColor: 'rgba(0, 0, 0, 0)',
      borderDash: [6, 4],
      pointRadius: 3,
    });
  }
  return {
    type: 'bar',
    data: { labels: cluster.map((m) => `w=${m.quorum}`), datasets },
    options: {
      responsive: false,
      animation: false,
      plugins: {
        title: { display: true, text: 'Write throughput by quorum', font: { size: 18 } },
        subtitle: { display: true, text: [delayText(results), machineText(results)], font: { size: 12 }, padding: { bottom: 10 } },
        legend: { position: 'bottom' },
      },
      scales: {
        x: { title: { display: true, text: 'write quorum (follower acks awaited)' } },
        y: { beginAtZero: true, title: { display: true, text: 'successful writes per second' } },
      },
    },
  };
}
