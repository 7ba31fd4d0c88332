/** Facts about the workspace the manifests must agree with (the minimum of e2e/compose's workspace.ts). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isObject } from './manifests';

export const repoRoot = path.resolve(__dirname, '../../..');
export const bundleDir = path.join(repoRoot, 'docker/kubernetes');

/** Repository-relative path of each file an app's `build` target writes -> the app's project name. */
export function buildOutputs(root: string): Map<string, string> {
  const outputs = new Map<string, string>();
  for (const dir of readdirSync(path.join(root, 'apps'))) {
    const file = path.join(root, 'apps', dir, 'project.json');
    if (!existsSync(file)) continue;
    const project: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isObject(project) || typeof project['name'] !== 'string' || !isObject(project['targets'])) continue;
    const build = project['targets']['build'];
    const options = isObject(build) ? build['options'] : undefined;
    if (!isObject(options) || typeof options['outputPath'] !== 'string') continue;
    const fileName = typeof options['outputFileName'] === 'string' ? options['outputFileName'] : 'main.js';
    outputs.set(path.posix.join(options['outputPath'], fileName), project['name']);
  }
  return outputs;
}

/** The files directly in `dir`. */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile()).sort();
}
