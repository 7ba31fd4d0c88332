// Runs one project's jest suite and keeps its JSON report under reports/jest/, from which
// test-all.mjs prints the `N passed, N failed` line CI reads.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const [projectRoot, projectName, ...extra] = process.argv.slice(2);
const reports = path.resolve('reports/jest');
mkdirSync(reports, { recursive: true });
const result = spawnSync(
  process.execPath,
  [
    'node_modules/jest/bin/jest.js',
    '-c', path.join(projectRoot, 'jest.config.js'),
    '--json', '--outputFile', path.join(reports, `${projectName}.json`),
    ...extra,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
