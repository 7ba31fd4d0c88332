/** The console table and the CSV of a run's results: text formatting only. */
import { WATCHED_TWIN, type RunResults, type StormMeasurement } from './storm-results';

const ms = (value: number | null | undefined, digits = 1): string => (value === null || value === undefined ? '-' : value.toFixed(digits));
const signed = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : (value >= 0 ? '+' : '') + value.toFixed(1));

interface Column {
  readonly header: string;
  readonly cell: (m: StormMeasurement) => string;
}

const COLUMNS: readonly Column[] = [
  { header: 'target', cell: (m) => m.target },
  { header: 'w', cell: (m) => String(m.quorum) },
  { header: 'ok', cell: (m) => String(m.succeeded) },
  { header: 'fail', cell: (m) => String(m.failed) },
  { header: 'mean', cell: (m) => ms(m.latency?.mean) },
  { header: '±95%', cell: (m) => ms(m.latency?.meanCi95) },
  { header: 'theory', cell: (m) => ms(m.theory.mean) },
  { header: 'Δmean', cell: (m) => signed(m.overhead?.mean) },
  { header: 'p50', cell: (m) => ms(m.latency?.p50) },
  { header: 'th.p50', cell: (m) => ms(m.theory.p50) },
  { header: 'p95', cell: (m) => ms(m.latency?.p95) },
  { header: 'th.p95', cell: (m) => ms(m.theory.p95) },
  { header: 'p99', cell: (m) => ms(m.latency?.p99) },
  { header: 'th.p99', cell: (m) => ms(m.theory.p99) },
  { header: 'Δp99', cell: (m) => signed(m.overhead?.p99) },
  { header: 'min', cell: (m) => ms(m.latency?.min) },
  { header: 'max', cell: (m) => ms(m.latency?.max) },
  { header: 'writes/s', cell: (m) => ms(m.throughputPerSec, 0) },
  { header: '1st-read diff', cell: (m) => (m.consistency ? `${m.consistency.firstReadMismatches}/${m.consistency.pairs}` : '-') },
  { header: 'converge ms', cell: (m) => (m.consistency ? (m.consistency.converged ? String(m.consistency.convergeMs) : 'NEVER') : '-') },
  { header: 'entries/req', cell: (m) => ms(m.replication?.entriesPerRequest, 2) },
  { header: 'CPU ms/write', cell: (m) => ms(m.cpuMsPerWrite, 3) },
];

/** A fixed-width table, latencies in ms, one row per storm. */
export function formatTable(measurements: readonly StormMeasurement[]): string {
  const rows = [COLUMNS.map((c) => c.header), ...measurements.map((m) => COLUMNS.map((c) => c.cell(m)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: readonly string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The lines under the table: throughput against the reference, and what failed. */
export function formatSummary(results: RunResults): string {
  const lines: string[] = [];
  for (const { quorum, ratio } of results.throughputRatio) lines.push(`w=${quorum}: cluster throughput is ${(ratio * 100).toFixed(1)}% of the reference server's`);
  for (const watched of results.measurements) {
    const twin = WATCHED_TWIN[watched.target];
    const plain = twin && results.measurements.find((m) => m.target === twin && m.quorum === watched.quorum);
    if (twin && plain && plain.throughputPerSec > 0) {
      const layout = watched.watchers ? ` (${watched.watchers.count}, ${watched.watchers.layout}: ${watched.watchers.events} events)` : '';
      lines.push(`w=${watched.quorum}: with watchers open${layout}, ${twin} throughput is ${((watched.throughputPerSec / plain.throughputPerSec) * 100).toFixed(1)}% of the same storm without`);
    }
  }
  for (const { quorum, ratio } of results.etcdRatio ?? []) lines.push(`w=${quorum}: cluster throughput is ${ratio.toFixed(2)} × etcd's (${results.etcd?.members ?? '?'} members, its own majority)`);
  for (const m of results.measurements) {
    const kinds = Object.entries(m.failures);
    if (kinds.length > 0) lines.push(`${m.target} w=${m.quorum} failures: ${kinds.map(([kind, count]) => `${kind} × ${count}`).join(', ')}`);
  }
  for (const problem of results.problems) lines.push(`FAILED: ${problem}`);
  return lines.join('\n');
}

const CSV_HEADER = [
  'target', 'quorum', 'attempted', 'succeeded', 'failed', 'mean_ms', 'mean_ci95_ms', 'stddev_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'min_ms', 'max_ms',
  'throughput_per_s', 'theory_mean_ms', 'theory_p50_ms', 'theory_p95_ms', 'theory_p99_ms', 'overhead_mean_ms', 'overhead_p50_ms', 'overhead_p95_ms',
  'overhead_p99_ms', 'theory_throughput_per_s', 'first_read_mismatches', 'pairs_checked', 'converged', 'converge_ms', 'cut_short', 'failures',
  'replication_requests', 'replicated_entries', 'entries_per_request',
];

const csvNumber = (value: number | null | undefined): string => (value === null || value === undefined ? '' : String(Math.round(value * 1000) / 1000));
const csvText = (value: string): string => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** One row per storm, numbers in ms rounded to the microsecond, empty cells where nothing was measured. */
export function formatCsv(measurements: readonly StormMeasurement[]): string {
  const rows = measurements.map((m) =>
    [
      m.target, String(m.quorum), String(m.attempted), String(m.succeeded), String(m.failed),
      csvNumber(m.latency?.mean), csvNumber(m.latency?.meanCi95), csvNumber(m.latency?.stddev), csvNumber(m.latency?.p50), csvNumber(m.latency?.p95),
      csvNumber(m.latency?.p99), csvNumber(m.latency?.min), csvNumber(m.latency?.max), csvNumber(m.throughputPerSec),
      csvNumber(m.theory.mean), csvNumber(m.theory.p50), csvNumber(m.theory.p95), csvNumber(m.theory.p99),
      csvNumber(m.overhead?.mean), csvNumber(m.overhead?.p50), csvNumber(m.overhead?.p95), csvNumber(m.overhead?.p99), csvNumber(m.theoryThroughputPerSec),
      m.consistency ? String(m.consistency.firstReadMismatches) : '', m.consistency ? String(m.consistency.pairs) : '',
      m.consistency ? String(m.consistency.converged) : '', csvNumber(m.consistency?.convergeMs), String(m.cutShort),
      csvText(Object.entries(m.failures).map(([kind, count]) => `${kind}:${count}`).join(';')),
      m.replication ? String(Object.values(m.replication.requestsByKind).reduce((sum, n) => sum + n, 0)) : '',
      m.replication ? String(m.replication.entries) : '', csvNumber(m.replication?.entriesPerRequest),
    ].join(','),
  );
  return [CSV_HEADER.join(','), ...rows].join('\n') + '\n';
}
