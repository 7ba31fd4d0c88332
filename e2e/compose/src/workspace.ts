/** Facts about the workspace the container files must agree with. */
import { readFileSync, writeFileSync } from 'node:fs';

export { buildOutputs } from '@kv/local-cluster';

/**
 * A preload (`NODE_OPTIONS=--require <script>`) that records every environment variable
 * the process reads and writes their names to `out` when it exits. Reads by name (`get`,
 * `in`) count; listing the keys does not, so a library that scans the environment does
 * not make every variable look used — but one that copies it does: check a canary.
 */
export function writeEnvProbe(script: string, out: string): void {
  writeFileSync(
    script,
    `const fs = require('node:fs');
const seen = new Set();
const note = (name) => { if (typeof name === 'string') seen.add(name); };
process.env = new Proxy(process.env, {
  get(target, name) { note(name); return Reflect.get(target, name); },
  has(target, name) { note(name); return Reflect.has(target, name); },
});
process.on('exit', () => fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify([...seen].sort())));
`,
  );
}

export function readEnvProbe(out: string): Set<string> {
  const names: unknown = JSON.parse(readFileSync(out, 'utf8'));
  if (!Array.isArray(names) || !names.every((n: unknown) => typeof n === 'string')) throw new Error(`${out} is not a list of names`);
  return new Set(names);
}
