import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks (100 on every mainstream architecture). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) the processes have used so far, from /proc/<pid>/stat; null
 * off Linux or when one has gone. Unlike wall time or a profile's busy share, this does not
 * grow when other work on the machine delays these processes, so it compares builds on a
 * busy machine: CPU per write.
 */
export function cpuMsOf(pids: readonly number[]): number | null {
  return cpuMsOfStatFiles(pids.map((pid) => `/proc/${pid}/stat`));
}

/**
 * CPU time (ms) of this process's main thread alone (/proc/<pid>/task/<pid>/stat): the
 * storm's watch streams are read there, while its load generator runs in a worker thread.
 */
export function mainThreadCpuMs(): number | null {
  return cpuMsOfStatFiles([`/proc/${process.pid}/task/${process.pid}/stat`]);
}

/** The sum of utime and stime (ms) over /proc stat files of processes or threads; null when one cannot be read. */
function cpuMsOfStatFiles(paths: readonly string[]): number | null {
  let ticks = 0;
  for (const path of paths) {
    let stat: string;
    try {
      stat = readFileSync(path, 'utf8');
    } catch {
      return null;
    }
    // Fields after the command name (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** What waitCpuQuiet waits with; tests give a virtual clock. */
export interface QuietWait {
  /** Give up after this long (ms); one interval is measured however short it is. */
  readonly timeoutMs: number;
  /** Length of each measured interval (ms): 500 unless told. */
  readonly intervalMs?: number;
  /** Quiet: under this share of one core over an interval (0.2 unless told). */
  readonly maxCoreShare?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * How a wait ended, after `afterMs`: `quiet`, `busy` (still at the timeout) or `unreadable`
 * (a process could no longer be read: it is gone).
 */
export interface QuietOutcome {
  readonly outcome: 'quiet' | 'busy' | 'unreadable';
  readonly afterMs: number;
}

/**
 * Waits until the processes `readCpuMs` measures (CPU ms so far, as cpuMsOf, or null when
 * one cannot be read) use less than `maxCoreShare` of one core over one interval. Measures at
 * least one interval, then more until `timeoutMs`. Used between storms, so one target's
 * leftover work is not counted in the next's.
 */
export async function waitCpuQuiet(readCpuMs: () => number | null, wait: QuietWait): Promise<QuietOutcome> {
  const intervalMs = wait.intervalMs ?? 500;
  const maxCoreShare = wait.maxCoreShare ?? 0.2;
  const now = wait.now ?? Date.now;
  const sleep = wait.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  let before = readCpuMs();
  if (before === null) return { outcome: 'unreadable', afterMs: 0 };
  do {
    await sleep(intervalMs);
    const after = readCpuMs();
    if (after === null) return { outcome: 'unreadable', afterMs: now() - started };
    if (after - before < intervalMs * maxCoreShare) return { outcome: 'quiet', afterMs: now() - started };
    before = after;
  } while (now() - started < wait.timeoutMs);
  return { outcome: 'busy', afterMs: now() - started };
}
