import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatProfileSummary, summarizeProfile, type CpuProfile } from './cpu-profile';

/** Where the launched leader writes its `.cpuprofile` when the run profiles it. */
export function leaderProfileDir(outDir: string): string {
  return path.resolve(outDir, 'leader-profile');
}

/** Environment for a leader that profiles itself into `dir` (written when it exits), by the preload next to the running bundle. */
export function profilingEnv(dir: string, preload = path.join(__dirname, 'leader-profiler.js')): Record<string, string> {
  return { NODE_OPTIONS: `--require ${JSON.stringify(preload)}`, KV_PERF_PROFILE_DIR: dir };
}

/** Summarizes the newest profile in `dir` into `leader-profile.txt` beside it; returns the summary text. */
export async function summarizeLeaderProfile(dir: string): Promise<string> {
  const profiles = (await readdir(dir)).filter((name) => name.startsWith('leader') && name.endsWith('.cpuprofile')).map((name) => path.join(dir, name));
  if (profiles.length === 0) throw new Error(`no .cpuprofile in ${dir}: did the leader exit cleanly?`);
  const times = await Promise.all(profiles.map(async (file) => (await stat(file)).mtimeMs));
  const newest = profiles[times.indexOf(Math.max(...times))];
  const text = `${formatProfileSummary(summarizeProfile(JSON.parse(await readFile(newest, 'utf8')) as CpuProfile))}\nprofile: ${newest}\n`;
  await writeFile(path.join(path.dirname(dir), 'leader-profile.txt'), text);
  return text;
}

/**
 * Summarizes every profile in `dir` (a whole cluster's, `--profile-nodes`): one block per
 * process, leader first, and the busy share of each on one line; writes `node-profiles.txt` beside it.
 */
export async function summarizeNodeProfiles(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile')).sort((a, b) => Number(b.startsWith('leader')) - Number(a.startsWith('leader')) || a.localeCompare(b));
  if (names.length === 0) throw new Error(`no .cpuprofile in ${dir}: did the nodes exit cleanly?`);
  const blocks: string[] = [];
  const busyLines: string[] = [];
  for (const name of names) {
    const summary = summarizeProfile(JSON.parse(await readFile(path.join(dir, name), 'utf8')) as CpuProfile);
    const busy = summary.totalMs - summary.idleMs;
    busyLines.push(`${name.replace('.cpuprofile', '').padEnd(16)} ${busy.toFixed(0).padStart(7)} ms busy of ${summary.totalMs.toFixed(0)} (${((busy / Math.max(summary.totalMs, 1)) * 100).toFixed(0)}%)`);
    blocks.push(`== ${name}\n${formatProfileSummary(summary).replace(/^leader CPU profile/, 'CPU profile')}`);
  }
  const text = `busy time per process:\n${busyLines.join('\n')}\n\n${blocks.join('\n\n')}\n`;
  await writeFile(path.join(path.dirname(dir), 'node-profiles.txt'), text);
  return text;
}
