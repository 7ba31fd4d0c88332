import { versionRanges } from './version-ranges';

describe('versionRanges', () => {
  it.each([
    [[], ''],
    [[7], '7'],
    [[1, 2, 3, 5, 7, 8], '1-3,5,7-8'],
    [[9, 3, 4, 1], '1,3-4,9'],
    [[2, 2, 3], '2-3'],
  ])('writes %j as %j', (versions, expected) => expect(versionRanges(versions)).toBe(expected));

  it('counts what lies past the last range it lists', () => {
    expect(versionRanges([1, 3, 5, 7, 8, 9], 2)).toBe('1,3 and 4 more');
  });
});
