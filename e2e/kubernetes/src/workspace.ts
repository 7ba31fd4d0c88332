/** Facts about the workspace the manifests must agree with (the minimum of e2e/compose's workspace.ts). */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '../../..');
export const bundleDir = path.join(repoRoot, 'docker/kubernetes');

export { buildOutputs } from '@kv/local-cluster';

/** The files directly in `dir`. */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile()).sort();
}
