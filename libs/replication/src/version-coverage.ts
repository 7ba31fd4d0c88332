/**
 * The set of versions a follower holds, kept as a watermark plus the disjoint ranges above it.
 *
 * Invariant: every version in [1, watermark] is covered; `ranges` are sorted, disjoint,
 * non-adjacent and start above watermark + 1. Ranges exist only while writes arrive out of
 * order, so the array stays short.
 */
export class VersionCoverage {
  private mark = 0;
  private ranges: Array<[number, number]> = [];

  /** Everything up to this version is covered. */
  get watermark(): number {
    return this.mark;
  }

  /** Ranges held above the watermark (for status and tests). */
  get gaps(): ReadonlyArray<readonly [number, number]> {
    return this.ranges;
  }

  /** Marks [from, through] covered. */
  add(from: number, through: number): void {
    if (through < from || through <= this.mark) return;
    if (from <= this.mark + 1) {
      this.mark = through;
    } else {
      this.insert(from, through);
    }
    while (this.ranges.length > 0 && this.ranges[0][0] <= this.mark + 1) {
      const [, end] = this.ranges.shift() as [number, number];
      if (end > this.mark) this.mark = end;
    }
  }

  /** Every covered version as disjoint `[from, through]` spans, the watermark's first. */
  spans(): Array<[number, number]> {
    const spans: Array<[number, number]> = this.mark > 0 ? [[1, this.mark]] : [];
    return [...spans, ...this.ranges.map(([a, b]) => [a, b] as [number, number])];
  }

  /** Whether every version `other` covers is covered here. */
  contains(other: VersionCoverage): boolean {
    return other.spans().every(([from, through]) => this.coversSpan(from, through));
  }

  /** Adds everything `other` covers (a union). */
  addAll(other: VersionCoverage): void {
    for (const [from, through] of other.spans()) this.add(from, through);
  }

  private coversSpan(from: number, through: number): boolean {
    if (through <= this.mark) return true;
    const start = Math.max(from, this.mark + 1);
    return this.ranges.some(([a, b]) => a <= start && through <= b);
  }

  covers(version: number): boolean {
    if (version <= this.mark) return true;
    return this.ranges.some(([from, through]) => version >= from && version <= through);
  }

  /** Starts over at `watermark` (a restart that restored its state from disk). */
  reset(watermark = 0): void {
    this.mark = watermark;
    this.ranges = [];
  }

  private insert(from: number, through: number): void {
    const merged: Array<[number, number]> = [];
    let start = from;
    let end = through;
    let placed = false;
    for (const [a, b] of this.ranges) {
      if (b < start - 1) {
        merged.push([a, b]);
      } else if (a > end + 1) {
        if (!placed) merged.push([start, end]);
        placed = true;
        merged.push([a, b]);
      } else {
        start = Math.min(start, a);
        end = Math.max(end, b);
      }
    }
    if (!placed) merged.push([start, end]);
    this.ranges = merged;
  }
}
