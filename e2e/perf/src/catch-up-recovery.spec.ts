import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CATCH_UP_MAIN, killStormClis, RECOVERY_MAIN, runPerfCli } from './storm-cli';

interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}
interface CatchUpFile {
  runsPerCase: number;
  cases: Array<{ scenario: string; keys: number; valueBytes: number; restart: string; path: string; catchUpMs: Summary; runs: Array<{ catchUpMs: number; fullResync: boolean }> }>;
  machine: { cpus: number; node: string };
}
interface RecoveryFile {
  cases: Array<{ scenario: string; keys: number; recoveryMs: Summary; leaderRssMiB: Summary; runs: Array<{ recoveryMs: number; healthMs: number; keysVerified: number; leaderRssMiB: number }> }>;
  machine: { cpus: number };
}

const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

describe('catch-up and recovery benchmarks (built tools, tiny runs)', () => {
  let outRoot: string;
  beforeAll(() => (outRoot = mkdtempSync(path.join(tmpdir(), 'perf-e2e-bench-'))));
  afterEach(() => killStormClis());
  afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

  it('times a full resync and a delta catch-up of 1,000 keys and writes catch-up.json', async () => {
    const out = path.join(outRoot, 'catchup');
    const run = await runPerfCli(CATCH_UP_MAIN, ['--scenario', 'small', '--keys', '1000', '--restart', 'resync,disk', '--runs', '1', '--out', out], 90_000);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/restart resync \(full resync\): \d+ ms/);
    const file = readJson<CatchUpFile>(path.join(out, 'catch-up.json'));
    expect(file.cases.map((c) => [c.scenario, c.keys, c.valueBytes, c.restart, c.path])).toEqual([
      ['small-custom', 1000, 32, 'resync', 'full resync'],
      ['small-custom', 1000, 32, 'disk', 'delta'],
    ]);
    for (const c of file.cases) {
      expect(c.catchUpMs).toEqual({ median: c.runs[0].catchUpMs, min: c.runs[0].catchUpMs, max: c.runs[0].catchUpMs, runs: 1 });
      expect(c.catchUpMs.median).toBeGreaterThan(0);
    }
    expect(file.machine.cpus).toBeGreaterThan(0);
  }, 100_000);

  it('recovers a killed leader with 2,000 keys, checks them all and writes recovery.json', async () => {
    const out = path.join(outRoot, 'recovery');
    const run = await runPerfCli(RECOVERY_MAIN, ['--scenario', 'small', '--keys', '2000', '--runs', '1', '--out', out], 50_000);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [c] = readJson<RecoveryFile>(path.join(out, 'recovery.json')).cases;
    expect(c).toMatchObject({ scenario: 'small-custom', keys: 2000 });
    expect(c.runs).toHaveLength(1);
    expect(c.runs[0].keysVerified).toBe(2000);
    // Serving comes after /health: the leader listens at once, then recovers.
    expect(c.runs[0].recoveryMs).toBeGreaterThanOrEqual(c.runs[0].healthMs);
    expect(c.leaderRssMiB.median).toBeGreaterThan(10);
  }, 100_000);

  it('refuses an unknown scenario with exit code 1 and one line', async () => {
    const run = await runPerfCli(CATCH_UP_MAIN, ['--scenario', 'huge'], 10_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/unknown scenario "huge" \(known: small, large, many\)/);
  });
});
