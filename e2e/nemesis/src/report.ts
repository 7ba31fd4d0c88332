import type { Anomaly } from './checker';
import type { FaultEvent, Op } from './history';

export interface ReportInput {
  readonly seed: number;
  readonly storage: string;
  readonly seconds: number;
  readonly ops: readonly Op[];
  readonly faults: readonly FaultEvent[];
  readonly anomalies: readonly Anomaly[];
  readonly convergedAfterMs: number | null;
  readonly deadlineMs: number;
  readonly linearizabilityUnknown: readonly string[];
  readonly linearizedKeys: number;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

export function summarize(input: ReportInput) {
  return {
    operations: countBy(input.ops, (o) => `${o.node === 'leader' ? 'leader' : 'follower'} ${o.kind}${o.ifVersion === undefined ? '' : ' (conditional)'} ${o.outcome} ${o.status ?? o.error ?? ''}`.trim()),
    faults: countBy(input.faults, (f) => f.kind),
  };
}

/** The human-readable report: operations by outcome, faults by kind, every anomaly with its history. */
export function formatReport(input: ReportInput): string {
  const { operations, faults } = summarize(input);
  const lines = [
    `nemesis seed ${input.seed}, ${input.storage}, ${input.seconds} s: ${input.ops.length} operations, ${input.faults.length} faults`,
    '',
    'operations by outcome:',
    ...Object.entries(operations).map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`),
    '',
    'faults injected by kind:',
    ...Object.entries(faults).map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`),
    '',
    input.convergedAfterMs === null
      ? `convergence: NOT within ${input.deadlineMs} ms after the faults stopped`
      : `convergence: ${input.convergedAfterMs.toFixed(0)} ms after the faults stopped (deadline ${input.deadlineMs} ms)`,
    `linearizability: ${input.linearizedKeys} keys checked on the leader${input.linearizabilityUnknown.length ? `, undecided: ${input.linearizabilityUnknown.join('; ')}` : ''}`,
    '',
    input.anomalies.length === 0 ? 'anomalies: none' : `anomalies: ${input.anomalies.length}`,
  ];
  input.anomalies.forEach((a, i) => {
    lines.push(`  ${i + 1}. [${a.check}/${a.kind}] ${a.message}`);
    for (const h of a.history) lines.push(`       ${h}`);
  });
  lines.push('', `replay: npm run nemesis -- --seed ${input.seed} --seconds ${input.seconds} --storage ${input.storage}`);
  return lines.join('\n');
}
