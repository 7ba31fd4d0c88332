import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The built storm tool: the smoke test checks the artefact users run, not the sources. */
export const STORM_MAIN = path.resolve('dist/tools/perf/main.js');
/** The built catch-up and recovery benchmarks (`npm run catchup`, `npm run recovery`). */
export const CATCH_UP_MAIN = path.resolve('dist/tools/perf/catch-up-main.js');
export const RECOVERY_MAIN = path.resolve('dist/tools/perf/recovery-main.js');

export interface StormRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<ChildProcess>();

/** Runs `node dist/tools/perf/main.js ...args`; kills it after `timeoutMs` so a hung storm fails the test instead of hanging it. */
export function runStormCli(args: readonly string[], timeoutMs = 45_000): Promise<StormRun> {
  return runPerfCli(STORM_MAIN, args, timeoutMs);
}

/** Runs one built perf tool, `node <script> ...args`; SIGTERM after `timeoutMs` (in ms), SIGKILL 10 s later. */
export function runPerfCli(script: string, args: readonly string[], timeoutMs: number): Promise<StormRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // SIGTERM lets the tool stop the nodes it launched; SIGKILL if even that hangs.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stops any storm still running (a test that failed mid-way). */
export function killStormClis(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Width and height from a PNG's IHDR chunk, after checking the signature; throws on anything else. */
export function pngSize(file: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (file.length < 24 || !file.subarray(0, 8).equals(signature)) throw new Error('not a PNG: bad signature');
  if (file.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG: the first chunk is not IHDR');
  return { width: file.readUInt32BE(16), height: file.readUInt32BE(20) };
}
