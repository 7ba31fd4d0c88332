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
