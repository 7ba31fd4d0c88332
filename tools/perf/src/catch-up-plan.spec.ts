import { CommanderError } from 'commander';
import { createCatchUpCommand, parseCatchUpPlan } from './catch-up-plan';
import { MAX_VALUE_BYTES } from './size-scenario';

const NOW = new Date('2026-11-30T10:20:30.456Z');

/** Parses without exiting the test process or printing commander's messages. */
function parse(argv: string[]) {
  const command = createCatchUpCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  return parseCatchUpPlan(argv, NOW, command);
}

describe('catch-up plan', () => {
  it("keeps the default run what it was: 100,000 writes of 32 B, the follower restarted empty, 3 runs", () => {
    expect(parse([])).toEqual({
      scenarios: [{ name: 'small', keys: 100_000, valueBytes: 32, writers: 64 }],
      restarts: ['empty'],
      runs: 3,
      outDir: 'perf-results/catchup-2026-11-30T10-20-30-456Z',
    });
  });

  it('takes named scenarios and restart modes as lists, in order', () => {
    const plan = parse(['--scenario', 'small,large,many', '--restart', 'resync,disk', '--runs', '1', '--out', 'x']);
    expect(plan.scenarios.map((s) => [s.name, s.keys, s.valueBytes])).toEqual([
      ['small', 100_000, 32],
      ['large', 100, MAX_VALUE_BYTES],
      ['many', 200_000, 32],
    ]);
    expect(plan.restarts).toEqual(['resync', 'disk']);
    expect(plan).toMatchObject({ runs: 1, outDir: 'x' });
  });

  it('builds one custom scenario from --keys and --value-bytes (--writes as before is --keys)', () => {
    expect(parse(['--keys', '2000']).scenarios).toEqual([{ name: 'small-custom', keys: 2000, valueBytes: 32, writers: 64 }]);
    expect(parse(['--writes', '2000']).scenarios).toEqual(parse(['--keys', '2000']).scenarios);
    // Large values are written by few writers, so the leader's memory stays bounded.
    expect(parse(['--scenario', 'large', '--keys', '3']).scenarios).toEqual([{ name: 'large-custom', keys: 3, valueBytes: MAX_VALUE_BYTES, writers: 3 }]);
    expect(parse(['--value-bytes', '100000', '--keys', '10']).scenarios[0]).toMatchObject({ valueBytes: 100_000, writers: 4 });
  });

  it.each([
    [['--scenario', 'huge']],
    [['--scenario', 'small,small']],
    [['--restart', 'warm']],
    [['--restart', 'disk,disk']],
    [['--keys', '0']],
    [['--keys', '1.5']],
    [['--value-bytes', '2']],
    [['--value-bytes', String(MAX_VALUE_BYTES + 1)]],
    [['--scenario', 'small,many', '--keys', '10']],
    [['--keys', '10', '--writes', '20']],
    [['--runs', '0']],
    [['--unknown']],
  ])('refuses %j', (argv) => {
    expect(() => parse(argv)).toThrow(CommanderError);
  });
});
