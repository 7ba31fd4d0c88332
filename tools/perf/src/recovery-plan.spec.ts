import { CommanderError } from 'commander';
import { createRecoveryCommand, parseRecoveryPlan } from './recovery-plan';
import { MAX_VALUE_BYTES } from './size-scenario';

const NOW = new Date('2026-11-30T10:20:30.456Z');

function parse(argv: string[]) {
  const command = createRecoveryCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  return parseRecoveryPlan(argv, NOW, command);
}

describe('recovery plan', () => {
  it('measures 100,000 small keys and 100 values of 1 MiB, 3 restarts each, by default', () => {
    const plan = parse([]);
    expect(plan.scenarios.map((s) => [s.name, s.keys, s.valueBytes])).toEqual([
      ['small', 100_000, 32],
      ['large', 100, MAX_VALUE_BYTES],
    ]);
    expect(plan).toMatchObject({ runs: 3, outDir: 'perf-results/recovery-2026-11-30T10-20-30-456Z' });
  });

  it('takes one custom size', () => {
    expect(parse(['--scenario', 'large', '--keys', '2', '--runs', '1']).scenarios).toEqual([{ name: 'large-custom', keys: 2, valueBytes: MAX_VALUE_BYTES, writers: 2 }]);
  });

  it.each([[['--scenario', 'small,large', '--keys', '5']], [['--runs', 'x']], [['--restart', 'empty']], [['--scenario', '']]])('refuses %j', (argv) => {
    expect(() => parse(argv)).toThrow(CommanderError);
  });
});
