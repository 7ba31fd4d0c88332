import { formatOp, type Op } from '../history';
import type { Anomaly } from './anomaly';
import type { HistoryIndex } from './history-index';

/**
 * Guarantee "version: strictly increasing": every write the leader gave a version (200, or
 * 503 with the write kept) has its own, and a write that began after another was answered
 * has a higher one.
 */
export function checkVersions(index: HistoryIndex): Anomaly[] {
  const writes = index.history.ops.filter(
    (o) => (o.kind === 'put' || o.kind === 'delete') && (o.status === 200 || o.status === 503) && o.version !== undefined && o.completeMs !== null,
  );
  const anomalies: Anomaly[] = [];
  const byVersion = new Map<number, Op>();
  for (const w of writes) {
    const other = byVersion.get(w.version as number);
    if (other) {
      anomalies.push({ check: 'versions', kind: 'duplicate-version', key: w.key, message: `two writes got version ${w.version}`, history: [formatOp(other), formatOp(w)] });
    } else byVersion.set(w.version as number, w);
  }
  // Sweep in invocation order, keeping the write with the highest version among those answered before.
  const byComplete = [...writes].sort((a, b) => (a.completeMs as number) - (b.completeMs as number));
  const byInvoke = [...writes].sort((a, b) => a.invokeMs - b.invokeMs);
  let done = 0;
  let highest: Op | undefined;
  for (const w of byInvoke) {
    while (done < byComplete.length && (byComplete[done].completeMs as number) < w.invokeMs) {
      const c = byComplete[done++];
      if (highest === undefined || (c.version as number) > (highest.version as number)) highest = c;
    }
    if (highest && (w.version as number) <= (highest.version as number) && highest !== w) {
      anomalies.push({
        check: 'versions',
        kind: 'version-went-back',
        key: w.key,
        message: `a write began after v${highest.version} was answered and got v${w.version}`,
        history: [formatOp(highest), formatOp(w)],
      });
    }
  }
  return anomalies;
}
