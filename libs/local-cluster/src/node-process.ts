import { spawn, type ChildProcess } from 'node:child_process';

export type Role = 'leader' | 'follower';

export interface NodeProcessOptions {
  readonly name: string;
  readonly role: Role;
  readonly script: string;
  readonly host: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string>>;
  /** Every line the node prints, stdout and stderr alike. */
  readonly onLine?: (name: string, line: string) => void;
  readonly readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
// Last resort: never leave a node behind when the process that started it exits.
process.on('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** The most recent lines a NodeProcess keeps (a cluster left running at LOG_LEVEL=debug prints without end). */
export const KEPT_LINES = 10_000;
/** A longer line is kept cut to this many characters, marked with `…`. */
export const KEPT_LINE_CHARS = 16 * 1024;
/** A longer line is cut to this many characters, marked with `…`, even for `onLine`: a line without its end is not buffered for ever. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** A copy of `text` that holds only its own characters (a slice of a long string keeps the whole string alive). */
const detached = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

/**
 * Splits a stream's text into lines (`\n`, a `\r` before it dropped), cutting any line to
 * MAX_LINE_CHARS: what was read of a line without an end is never more than that.
 */
export class LineSplitter {
  private partial = '';
  private cut = false;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline >= 0; newline = chunk.indexOf('\n', start)) {
      this.take(chunk.slice(start, newline));
      this.emit();
      start = newline + 1;
    }
    this.take(chunk.slice(start));
  }

  /** The stream ended: a last line without its newline is still a line. */
  end(): void {
    if (this.partial !== '' || this.cut) this.emit();
  }

  private take(text: string): void {
    if (this.cut) return;
    const room = MAX_LINE_CHARS - this.partial.length;
    if (text.length > room) {
      this.partial += text.slice(0, room);
      this.cut = true;
    } else {
      this.partial += text;
    }
  }

  private emit(): void {
    const line = this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial;
    const whole = this.cut ? `${line}…` : line;
    this.partial = '';
    this.cut = false;
    this.onLine(whole);
  }
}

/** One leader or follower process that can be stopped, killed, paused and restarted on its port. */
export class NodeProcess {
  /**
   * The lines the node printed, stdout and stderr alike, oldest first: at least the last
   * KEPT_LINES (at most twice that), each cut to KEPT_LINE_CHARS. `onLine` sees every line
   * (cut only past MAX_LINE_CHARS). Indexes shift when old lines are dropped: to take what
   * was printed after some moment, note `lineCount` then and call `linesSince`.
   */
  readonly lines: string[] = [];
  /** Lines printed since this object was made, dropped ones included. */
  lineCount = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  env: Record<string, string>;

  constructor(private readonly options: NodeProcessOptions) {
    this.env = { ...options.env };
  }

  get name(): string {
    return this.options.name;
  }

  get role(): Role {
    return this.options.role;
  }

  get port(): number {
    return this.options.port;
  }

  get url(): string {
    return `http://${this.options.host}:${this.options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits until `/health` answers. */
  async start(envOverrides: Record<string, string> = {}): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.env = { ...this.env, ...envOverrides };
    const child = spawn(process.execPath, [this.options.script], {
      env: { PATH: process.env.PATH ?? '', ...this.env, PORT: String(this.port), HOST: this.options.host, NODE_NAME: this.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    this.exited = new Promise((resolve) => child.once('exit', (code) => (live.delete(child), resolve(code))));
    for (const stream of [child.stdout, child.stderr]) {
      const splitter = new LineSplitter((line) => this.keep(line));
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => splitter.push(chunk));
      stream.on('end', () => splitter.end());
    }
    await this.waitHealthy(this.options.readyTimeoutMs ?? 15_000);
  }

  /** The lines printed after `lineCount` was `count`, those still kept. */
  linesSince(count: number): string[] {
    const dropped = this.lineCount - this.lines.length;
    return this.lines.slice(Math.max(0, count - dropped));
  }

  private keep(line: string): void {
    this.lineCount++;
    // A copy either way: a line split from a chunk shares the chunk's memory, a long neighbour's too.
    this.lines.push(detached(line.length > KEPT_LINE_CHARS ? `${line.slice(0, KEPT_LINE_CHARS)}…` : line));
    // Dropped in one go once twice the bound: a splice per line would copy the array each time.
    if (this.lines.length >= 2 * KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES);
    this.options.onLine?.(this.name, line);
  }

  /** SIGTERM and wait for the exit code (the contract: 0 after finishing requests in flight). */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (!this.running) return this.child?.exitCode ?? null;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** kill -9: no chance to finish anything. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** Resolves with the exit code once the process ends by itself. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.running) this.child?.kill(signal);
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.name} exited with code ${this.child?.exitCode} before it was ready:\n${this.lines.slice(-10).join('\n')}`);
      }
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.lines.slice(-10).join('\n')}`);
  }
}
