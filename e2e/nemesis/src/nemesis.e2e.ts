import path from 'node:path';
import { formatReport } from './report';
import { leftoverPidsOfLastRun, runNemesis, writeRun, type NemesisRun, type Storage } from './runner';

/**
 * The CI-sized nemesis: one seeded run in memory and one with DATA_DIR and FSYNC=always,
 * both also restarting the leader without its data (`leaderWipe`): it must recover the
 * newest state from its followers (API.md guarantee 7). Every node is stopped by PID even
 * on failure.
 */
async function run(storage: Storage, seed: number, seconds: number): Promise<NemesisRun> {
  const started = Date.now();
  const result = await runNemesis({
    seconds, seed, storage, leaderWipe: true, clients: 6, keys: 8, minDelayMs: 0, maxDelayMs: 100,
    writeQuorum: 3, replicationTimeoutMs: 2000, distDir: path.resolve('dist'),
    log: (line) => process.stdout.write(`[nemesis ${storage} ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`),
  });
  const report = formatReport({
    seed, storage, seconds, ops: result.history.ops, faults: result.history.faults, anomalies: result.anomalies,
    convergedAfterMs: result.final.convergedAfterMs, deadlineMs: result.final.deadlineMs,
    linearizabilityUnknown: result.result.linearizability.unknown, linearizedKeys: result.result.linearizability.keys,
  });
  process.stdout.write(`${report}\n`);
  await writeRun(path.resolve('reports/nemesis'), result, report);
  return result;
}

describe('nemesis (seeded, CI-sized)', () => {
  afterEach(() => {
    // runNemesis killed any node still alive by its PID; none should have been.
    expect(leftoverPidsOfLastRun()).toEqual([]);
  });

  it('finds no anomaly in memory (seed 1, 30 s)', async () => {
    const result = await run('memory', 1, 30);
    expect(result.history.ops.length).toBeGreaterThan(500);
    expect(result.history.faults.length).toBeGreaterThan(5);
    expect(result.history.faults.some((f) => f.target === 'leader' && f.lostData === true)).toBe(true);
    expect(result.anomalies.map((a) => `${a.check}/${a.kind}: ${a.message}`)).toEqual([]);
  });

  it('finds no anomaly with DATA_DIR and FSYNC=always (seed 7, 25 s)', async () => {
    const result = await run('always', 7, 25);
    expect(result.history.faults.some((f) => f.kind === 'kill' || f.kind === 'wipe' || f.kind === 'torn-write')).toBe(true);
    expect(result.anomalies.map((a) => `${a.check}/${a.kind}: ${a.message}`)).toEqual([]);
  });
});
