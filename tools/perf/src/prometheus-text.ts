/**
 * Reads single samples from Prometheus text exposition (what `GET /metrics` answers): the
 * full-resync counter the catch-up benchmark checks, the RSS the recovery benchmark reports.
 */

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;

/** Label pairs of one sample, e.g. `follower="http://127.0.0.1:8005"`; values keep their escapes. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]] = match[2];
  return labels;
}

/**
 * The sum of the samples of metric `name` whose labels include every pair in `labels`
 * (0 when there is none: a counter never incremented has no labelled sample yet).
 */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match || match[1] !== name) continue;
    const have = parseLabels(match[2] ?? '');
    if (!Object.entries(labels).every(([key, value]) => have[key] === value)) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
