/**
 * A preload (`NODE_OPTIONS=--require <script>`) that records every path a process opens for
 * writing, creates, renames or removes, one line per call in `out` marked `inside` or
 * `outside` of `allowed` (the pod's DATA_DIR), as it happens (a killed process leaves its
 * record). The `inside` lines show that the probe sees the app's writes at all. It stands in for
 * readOnlyRootFilesystem: a pod whose app wrote anywhere else would fail in the cluster.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function writeFsProbe(script: string, out: string, allowed: string): void {
  writeFileSync(
    script,
    `const fs = require('node:fs');
const path = require('node:path');
const append = fs.appendFileSync;
const allowed = path.resolve(${JSON.stringify(allowed)});
// appendFileSync calls the (wrapped) writeFileSync: the probe's own record is not noted.
let recording = false;
const note = (what, p) => {
  if (recording || (typeof p !== 'string' && !(p instanceof URL))) return;
  const abs = path.resolve(String(p instanceof URL ? p.pathname : p));
  const inside = abs === allowed || abs.startsWith(allowed + path.sep);
  recording = true;
  try {
    append(${JSON.stringify(out)}, (inside ? 'inside ' : 'outside ') + what + ' ' + abs + '\\n');
  } finally {
    recording = false;
  }
};
const writes = (flags) => typeof flags === 'number' ? (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT)) !== 0 : typeof flags === 'string' && /[wa+]/.test(flags);
const wrap = (target, name, check) => {
  const original = target[name];
  if (typeof original !== 'function') return;
  target[name] = function (...args) { check(args); return original.apply(this, args); };
};
for (const target of [fs, fs.promises]) {
  for (const name of ['open', 'openSync']) wrap(target, name, (a) => { if (writes(a[1])) note(name, a[0]); });
  for (const name of ['writeFile', 'writeFileSync', 'appendFile', 'appendFileSync', 'mkdir', 'mkdirSync', 'mkdtemp', 'mkdtempSync', 'rm', 'rmSync', 'unlink', 'unlinkSync', 'truncate', 'truncateSync', 'createWriteStream', 'symlink', 'symlinkSync', 'chmod', 'chmodSync'])
    wrap(target, name, (a) => note(name, a[0]));
  for (const name of ['rename', 'renameSync', 'copyFile', 'copyFileSync', 'link', 'linkSync']) wrap(target, name, (a) => note(name, a[1]));
}
`,
  );
}

/** The writes a process was seen to make, inside and outside the allowed directory. */
export function readFsProbe(out: string): { inside: string[]; outside: string[] } {
  const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l !== '') : [];
  return { inside: lines.filter((l) => l.startsWith('inside ')), outside: lines.filter((l) => l.startsWith('outside ')) };
}
