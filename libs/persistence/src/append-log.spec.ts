import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppendLog, type OpenFile } from './append-log';

/**
 * Opens real files whose `write` answers as `writeAs` says for the n-th write (from 1):
 * 'fail' rejects with EIO, 'short' writes half and reports it, 'ok' writes normally. Each
 * write first tells `onWrite` and waits for what it returns.
 */
function failingFiles(writeAs: (n: number) => 'ok' | 'fail' | 'short', onWrite: (n: number) => Promise<void> = async () => undefined): OpenFile {
  let writes = 0;
  return async (file, flags) => {
    const real = await open(file, flags);
    const write = async (data: Buffer, offset: number, length: number, position: number | null) => {
      const n = ++writes;
      await onWrite(n);
      const how = writeAs(n);
      if (how === 'fail') throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      if (how === 'short') return real.write(data, offset, Math.floor(length / 2), position);
      return real.write(data, offset, length, position);
    };
    return new Proxy(real, {
      get(target, property) {
        if (property === 'write') return write;
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as FileHandle;
  };
}

describe('AppendLog is fail-stop: after one failed write nothing more reaches the file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'append-log-'));
    file = path.join(dir, 'log');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const record = (text: string) => Buffer.from(`${text}\n`);

  it.each(['fail', 'short'] as const)('a %s write: that group and every later append are refused, the file keeps only what came before', async (how) => {
    let started!: () => void;
    const secondWriteStarted = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const onWrite = (n: number) => (n === 2 ? (started(), gate) : Promise.resolve());
    const log = await AppendLog.open(file, 0, 'always', failingFiles((n) => (n === 2 ? how : 'ok'), onWrite));
    await log.append(record('one'));
    // Two in the failing group, one appended while that group is being written, one after.
    const failing = [log.append(record('two')), log.append(record('three'))];
    await secondWriteStarted;
    const queuedBehind = log.append(record('four'));
    release();
    for (const append of failing) await expect(append).rejects.toThrow(how === 'fail' ? /EIO/ : /short write/);
    await expect(queuedBehind).rejects.toThrow(/takes no more records/);
    await expect(log.append(record('five'))).rejects.toThrow(/takes no more records/);
    await expect(log.rotate(path.join(dir, 'next'), () => 'cut')).rejects.toThrow(/takes no more records/);
    const text = await readFile(file, 'utf8');
    // A short write leaves its torn half, which a replay cuts as a torn tail; nothing after it.
    expect(text.startsWith('one\n')).toBe(true);
    expect(text).not.toMatch(/three|four|five/);
    await log.close().catch(() => undefined);
  });

  it('keeps writing in groups while nothing fails', async () => {
    const log = await AppendLog.open(file, 0, 'always', failingFiles(() => 'ok'));
    await Promise.all(['a', 'b', 'c'].map((t) => log.append(record(t))));
    await log.append(record('d'));
    await log.close();
    expect(await readFile(file, 'utf8')).toBe('a\nb\nc\nd\n');
  });
});
