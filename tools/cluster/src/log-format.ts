/** Pino's numeric levels, as words for people reading a terminal. */
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * One node's log line for the terminal: `[f2] 09:15:01 info  follower ready on ...`.
 * Lines that are not pino JSON (a crash trace) pass through unchanged, still prefixed.
 */
export function formatLine(name: string, line: string, width: number): string {
  const prefix = `[${name}]`.padEnd(width + 2);
  try {
    const entry = JSON.parse(line) as { level?: number; time?: number; msg?: string };
    if (typeof entry.msg !== 'string') return `${prefix} ${line}`;
    const time = new Date(entry.time ?? Date.now()).toISOString().slice(11, 19);
    const level = (LEVELS[entry.level ?? 30] ?? 'info').padEnd(5);
    return `${prefix} ${time} ${level} ${entry.msg}`;
  } catch {
    return `${prefix} ${line}`;
  }
}
