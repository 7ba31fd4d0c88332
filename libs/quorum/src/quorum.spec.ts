import fc from 'fast-check';
import { quorumOutcome } from './quorum';

/** Brute force: enumerate every way the undecided voters could still answer. */
function bruteForce(needed: number, voters: number, acks: number, failures: number): string {
  if (acks >= needed) return 'reached';
  const undecided = voters - acks - failures;
  for (let extra = 0; extra <= undecided; extra++) if (acks + extra >= needed) return 'pending';
  return 'impossible';
}

describe('quorumOutcome', () => {
  it('matches a brute-force enumeration for every tally', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }).chain((voters) =>
          fc.tuple(
            fc.constant(voters),
            fc.integer({ min: 0, max: voters }),
            fc.integer({ min: 0, max: voters }).chain((acks) =>
              fc.tuple(fc.constant(acks), fc.integer({ min: 0, max: voters - acks })),
            ),
          ),
        ),
        ([voters, needed, [acks, failures]]) => {
          expect(quorumOutcome({ needed, voters, acks, failures })).toBe(bruteForce(needed, voters, acks, failures));
        },
      ),
    );
  });

  it('is reached at once when nothing is needed', () => {
    expect(quorumOutcome({ needed: 0, voters: 0, acks: 0, failures: 0 })).toBe('reached');
  });
});
