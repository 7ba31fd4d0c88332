/**
 * Versions as compact ranges for a log line, e.g. `3-7,9,12-13`: a batch carries thousands
 * of consecutive versions, and one line must stay readable. Past `maxRanges` ranges the
 * rest is counted, not listed.
 */
export function versionRanges(versions: Iterable<number>, maxRanges = 50): string {
  const sorted = [...versions].sort((a, b) => a - b);
  const ranges: string[] = [];
  let omitted = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] <= sorted[j] + 1) j++;
    if (ranges.length < maxRanges) ranges.push(sorted[i] === sorted[j] ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    else omitted += j - i + 1;
    i = j + 1;
  }
  return omitted > 0 ? `${ranges.join(',')} and ${omitted} more` : ranges.join(',');
}
