import fc from 'fast-check';
import { VersionCoverage } from './version-coverage';

describe('VersionCoverage', () => {
  it('advances the watermark only over contiguous versions', () => {
    const c = new VersionCoverage();
    c.add(2, 2);
    c.add(4, 5);
    expect(c.watermark).toBe(0);
    expect(c.gaps).toEqual([[2, 2], [4, 5]]);
    c.add(1, 1);
    expect(c.watermark).toBe(2);
    c.add(3, 3);
    expect(c.watermark).toBe(5);
    expect(c.gaps).toEqual([]);
  });

  it('merges overlapping and adjacent ranges', () => {
    const c = new VersionCoverage();
    c.add(10, 12);
    c.add(14, 15);
    c.add(13, 13);
    expect(c.gaps).toEqual([[10, 15]]);
    c.add(1, 9);
    expect(c.watermark).toBe(15);
  });

  it('matches a brute-force set for any arrival order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 5 }))), (ranges) => {
        const c = new VersionCoverage();
        const covered = new Set<number>();
        for (const [from, length] of ranges) {
          c.add(from, from + length);
          for (let v = from; v <= from + length; v++) covered.add(v);
        }
        let expected = 0;
        while (covered.has(expected + 1)) expected++;
        expect(c.watermark).toBe(expected);
        for (let v = 1; v <= 50; v++) expect(c.covers(v)).toBe(covered.has(v));
      }),
    );
  });
});
