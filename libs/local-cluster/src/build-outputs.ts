import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Repository-relative path of each file an app's `build` target writes -> the app's project
 * name, read from `apps/<name>/project.json`: what a container's or a pod's command must run.
 */
export function buildOutputs(repoRoot: string): Map<string, string> {
  const outputs = new Map<string, string>();
  for (const dir of readdirSync(path.join(repoRoot, 'apps'))) {
    const file = path.join(repoRoot, 'apps', dir, 'project.json');
    if (!existsSync(file)) continue;
    const project: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isRecord(project) || typeof project['name'] !== 'string' || !isRecord(project['targets'])) continue;
    const build = project['targets']['build'];
    const options = isRecord(build) ? build['options'] : undefined;
    if (!isRecord(options) || typeof options['outputPath'] !== 'string') continue;
    const fileName = typeof options['outputFileName'] === 'string' ? options['outputFileName'] : 'main.js';
    outputs.set(path.posix.join(options['outputPath'], fileName), project['name']);
  }
  return outputs;
}
