import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { KEPT_LINE_CHARS, KEPT_LINES, LineSplitter, MAX_LINE_CHARS, NodeProcess } from './node-process';
import { freePort } from './free-port';

/** A stand-in node: answers /health, logs a ready line, exits 0 on SIGTERM. */
const FIXTURE = `
const http = require('node:http');
if (process.env.FAIL_AT_START) { console.error('bad config: ' + process.env.FAIL_AT_START); process.exit(1); }
const server = http.createServer((req, res) => res.end(JSON.stringify({ status: 'ok', name: process.env.NODE_NAME, extra: process.env.EXTRA })));
server.listen(Number(process.env.PORT), process.env.HOST, () => {
  console.log('ready');
  if (process.env.LONG_LINE) console.log('y'.repeat(Number(process.env.LONG_LINE)));
  const lines = [];
  for (let i = 0; i < Number(process.env.PRINT_LINES ?? 0); i++) lines.push('line ' + i);
  if (lines.length > 0) console.log(lines.join(String.fromCharCode(10)));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

describe('NodeProcess', () => {
  let dir: string;
  let script: string;
  const started: NodeProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'node-process-'));
    script = path.join(dir, 'fixture.js');
    writeFileSync(script, FIXTURE);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((n) => n.kill()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function node(env: Record<string, string> = {}) {
    const n = new NodeProcess({ name: 'n1', role: 'follower', script, host: '127.0.0.1', port: await freePort(), env, readyTimeoutMs: 5000 });
    started.push(n);
    return n;
  }

  it('picks a port that can be bound', async () => {
    const port = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('starts, waits for health, passes the environment, and stops with exit code 0', async () => {
    const n = await node({ EXTRA: 'yes' });
    await n.start();
    const body = await (await fetch(`${n.url}/health`)).json();
    expect(body).toEqual({ status: 'ok', name: 'n1', extra: 'yes' });
    expect(n.lines).toContain('ready');
    expect(await n.stop()).toBe(0);
    expect(n.running).toBe(false);
  });

  it('keeps the most recent lines, within a bound, each cut to a bound: a node printing without end costs the launcher no more', async () => {
    const n = await node({ PRINT_LINES: String(3 * KEPT_LINES), LONG_LINE: String(KEPT_LINE_CHARS + 100) });
    await n.start();
    const last = `line ${3 * KEPT_LINES - 1}`;
    for (let i = 0; i < 500 && n.lines[n.lines.length - 1] !== last; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(n.lines[n.lines.length - 1]).toBe(last);
    expect(n.lines.length).toBeGreaterThanOrEqual(KEPT_LINES);
    expect(n.lines.length).toBeLessThan(2 * KEPT_LINES);
    // What was printed after a moment, found by the count, not by an index the dropping shifted.
    expect(n.lineCount).toBe(3 * KEPT_LINES + 2);
    expect(n.linesSince(n.lineCount - 3)).toEqual([`line ${3 * KEPT_LINES - 3}`, `line ${3 * KEPT_LINES - 2}`, last]);
    expect(n.linesSince(0)).toEqual(n.lines);
    const seen: string[] = [];
    const whole = new NodeProcess({ name: 'n2', role: 'follower', script, host: '127.0.0.1', port: await freePort(), env: { LONG_LINE: String(KEPT_LINE_CHARS + 100) }, readyTimeoutMs: 5000, onLine: (_name, line) => seen.push(line) });
    started.push(whole);
    await whole.start();
    for (let i = 0; i < 500 && whole.lines.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(whole.lines[1]).toBe(`${'y'.repeat(KEPT_LINE_CHARS)}…`);
    expect(seen[1]).toHaveLength(KEPT_LINE_CHARS + 100);
  });

  it('restarts on the same port after kill -9', async () => {
    const n = await node();
    await n.start();
    const firstPid = n.pid;
    await n.kill();
    expect(n.running).toBe(false);
    await n.start({ EXTRA: 'again' });
    expect(n.pid).not.toBe(firstPid);
    const body = (await (await fetch(`${n.url}/health`)).json()) as { extra?: string };
    expect(body.extra).toBe('again');
  });

  it('reports a node that exits before it is ready, with its output', async () => {
    const n = await node({ FAIL_AT_START: 'PORT' });
    await expect(n.start()).rejects.toThrow(/exited with code 1 before it was ready:\nbad config: PORT/);
  });
});

describe('LineSplitter', () => {
  const split = (chunks: string[], end = true) => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    for (const chunk of chunks) splitter.push(chunk);
    if (end) splitter.end();
    return lines;
  };

  it('splits lines cut anywhere, drops the \\r of \\r\\n, and keeps a last line without its newline', () => {
    expect(split(['a\nb', 'c\r', '\n\nd'])).toEqual(['a', 'bc', '', 'd']);
    expect(split(['x\n'])).toEqual(['x']);
  });

  it('cuts a line past MAX_LINE_CHARS, buffering no more of it, and goes on with the next line', () => {
    const lines = split(['y'.repeat(MAX_LINE_CHARS - 1), 'y'.repeat(MAX_LINE_CHARS), 'z'.repeat(10), '\nnext\n']);
    expect(lines).toEqual([`${'y'.repeat(MAX_LINE_CHARS)}…`, 'next']);
  });
});
