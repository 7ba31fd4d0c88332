/**
 * Where a node spent its CPU: self time by function and by package, from the `.cpuprofile` that
 * `node --cpu-prof` writes on exit (the V8 profile format, samples with time deltas).
 */

export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }>;
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  /** Share of the profile's sampled time, idle included. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly byFunction: readonly SelfTime[];
  readonly byArea: readonly SelfTime[];
}

/** The package or part of the runtime a function belongs to: what an owner would go and optimize. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native';
  if (url.startsWith('node:')) return 'node internals';
  const nodeModules = url.lastIndexOf('node_modules/');
  if (nodeModules >= 0) {
    const parts = url.slice(nodeModules + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  return url.replace(/^file:\/\//, '').split('/').slice(-3).join('/');
}

function rank(times: Map<string, number>, total: number, top: number): SelfTime[] {
  return [...times.entries()]
    .map(([name, ms]) => ({ name, ms, share: total > 0 ? ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = frames.get(id);
    if (!frame || ms <= 0) return;
    totalMs += ms;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    const area = areaOf(frame.url, frame.functionName);
    const name = `${frame.functionName || '(anonymous)'} [${area}${frame.url ? `:${frame.lineNumber + 1}` : ''}]`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
  });
  return { totalMs, idleMs, byFunction: rank(byFunction, totalMs, top), byArea: rank(byArea, totalMs, top) };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const row = (t: SelfTime) => `${t.ms.toFixed(0).padStart(8)} ms ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}`;
  const busy = summary.totalMs - summary.idleMs;
  return [
    `leader CPU profile: ${summary.totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy (${((busy / Math.max(summary.totalMs, 1)) * 100).toFixed(0)}%), ${summary.idleMs.toFixed(0)} ms idle`,
    'self time by package:',
    ...summary.byArea.map(row),
    'self time by function:',
    ...summary.byFunction.map(row),
  ].join('\n');
}
