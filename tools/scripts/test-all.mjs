// `npm test`: type checks, lints, unit tests and builds every project, then runs the
// multi-process suites against the build; prints `N passed, N failed` over every jest
// run at the end (CI reads that line) and fails if anything failed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const reports = path.resolve('reports/jest');
rmSync(reports, { recursive: true, force: true });

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: 'true' };
const nx = path.resolve('node_modules/nx/dist/bin/nx.js');
const steps = [
  ['run-many', '-t', 'typecheck', 'lint', 'test', 'build', '--parallel=2', '--outputStyle=stream'],
  ['run-many', '-t', 'e2e', '--parallel=1', '--outputStyle=stream'],
];

let failedSteps = 0;
for (const args of steps) {
  process.stdout.write(`\n> nx ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [nx, ...args], { stdio: 'inherit', env });
  if (result.status !== 0) failedSteps++;
}

let passed = 0;
let failed = 0;
let suites = 0;
if (existsSync(reports)) {
  for (const file of readdirSync(reports).filter((f) => f.endsWith('.json'))) {
    const report = JSON.parse(readFileSync(path.join(reports, file), 'utf8'));
    passed += report.numPassedTests;
    // A suite that crashed before running its tests counts as a failure too.
    failed += report.numFailedTests + report.numRuntimeErrorTestSuites;
    suites++;
  }
}
if (suites === 0) failedSteps++;
process.stdout.write(`\njest reports: ${suites}; failed nx steps: ${failedSteps}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failedSteps > 0 || failed > 0 || passed === 0 ? 1 : 0);
