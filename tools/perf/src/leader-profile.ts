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
  const profiles = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile')).map((name) => path.join(dir, name));
  if (profiles.length === 0) throw new Error(`no .cpuprofile in ${dir}: did the leader exit cleanly?`);
  const times = await Promise.all(profiles.map(async (file) => (await stat(file)).mtimeMs));
  const newest = profiles[times.indexOf(Math.max(...times))];
  const text = `${formatProfileSummary(summarizeProfile(JSON.parse(await readFile(newest, 'utf8')) as CpuProfile))}\nprofile: ${newest}\n`;
  await writeFile(path.join(path.dirname(dir), 'leader-profile.txt'), text);
  return text;
}
