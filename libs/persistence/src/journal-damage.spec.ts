import { appendFile, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Entry } from '@kv/store';
import { DataDirError, FileJournal, JournalDamagedError } from './journal';
import { encodeRecord, HEADER_BYTES } from './record-codec';

interface Meta {
  mark: number;
}

const put = (key: string, version: number): Entry => ({ key, version, deleted: false, value: `v${version}` });
const record = (version: number) => encodeRecord({ apply: [put(`c${version - 1}`, version)], meta: { mark: version } });

/** Where record `index` (from 0) of a log of `record(1)`, `record(2)`, ... starts. */
const offsetOf = (index: number) => Array.from({ length: index }, (_, i) => record(i + 1).length).reduce((a, b) => a + b, 0);

describe('FileJournal at start: only a torn tail is cut, any other damage stops it and changes nothing', () => {
  let dir: string;
  let warnings: string[];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'journal-damage-'));
    warnings = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const open = () => FileJournal.open<Meta>(dir, { fsync: 'always', warn: (m) => warnings.push(m) });

  /** Journals c0..c(n-1) at versions 1..n, as a node does, into log.1. */
  async function writeKeys(n: number): Promise<void> {
    const { journal, store } = await open();
    for (let v = 1; v <= n; v++) {
      store.apply(put(`c${v - 1}`, v));
      await journal.commit({ apply: [put(`c${v - 1}`, v)], meta: { mark: v } });
    }
    await journal.close();
  }

  /** Every file in the directory and its bytes. */
  async function contents(): Promise<Map<string, Buffer>> {
    const files = (await readdir(dir)).sort();
    return new Map(await Promise.all(files.map(async (f) => [f, await readFile(path.join(dir, f))] as const)));
  }

  async function expectRefused(message: RegExp): Promise<void> {
    const before = await contents();
    const refused = await open().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirError);
    expect((refused as DataDirError).cause).toBeInstanceOf(JournalDamagedError);
    expect((refused as DataDirError).explainsItself).toBe(true);
    expect((refused as Error).message).not.toContain('\n');
    expect((refused as Error).message).toMatch(message);
    expect(warnings).toEqual([]);
    expect(await contents()).toEqual(before);
  }

  async function damage(file: string, change: (bytes: Buffer) => void): Promise<void> {
    const bytes = await readFile(path.join(dir, file));
    change(bytes);
    await writeFile(path.join(dir, file), bytes);
  }

  it('writes records where the test expects them', async () => {
    await writeKeys(10);
    expect((await readFile(path.join(dir, 'log.1'))).length).toBe(offsetOf(10));
  });

  it('refuses a flipped bit inside record 4 of 10 of the last log, naming the file and the offset', async () => {
    await writeKeys(10);
    await damage('log.1', (bytes) => (bytes[offsetOf(3) + HEADER_BYTES + 5] ^= 0x04));
    await expectRefused(new RegExp(`${dir}/log\\.1 is damaged at byte ${offsetOf(3)} \\(checksum mismatch\\); intact records follow from byte ${offsetOf(4)}, so it is no torn tail$`));
  });

  it.each([
    ['larger than the file', 0x00ff_ffff, /incomplete record: \d+ of 16777215 bytes/],
    ['impossible', 0xffff_ff00, /impossible record length 4294967040/],
    ['a little longer', -1, /checksum mismatch/],
  ])('refuses a length field in the middle that is %s', async (_name, length, problem) => {
    await writeKeys(10);
    await damage('log.1', (bytes) => bytes.writeUInt32LE(length === -1 ? bytes.readUInt32LE(offsetOf(3)) + 3 : length, offsetOf(3)));
    await expectRefused(new RegExp(`${dir}/log\\.1 is damaged at byte ${offsetOf(3)} \\(${problem.source}\\); intact records follow`));
  });

  it('refuses damage in a log that later logs follow', async () => {
    await writeFile(path.join(dir, 'log.1'), Buffer.concat([record(1), record(2).subarray(0, 10)]));
    await writeFile(path.join(dir, 'log.2'), record(3));
    await expectRefused(new RegExp(`${dir}/log\\.1 is damaged at byte ${offsetOf(1)} \\(incomplete record: 2 of \\d+ bytes\\) and later logs follow it$`));
  });

  it('refuses a gap between log generations, naming the missing log', async () => {
    await writeFile(path.join(dir, 'log.1'), record(1));
    await writeFile(path.join(dir, 'log.2'), record(2));
    await writeFile(path.join(dir, 'log.4'), record(3));
    await expectRefused(new RegExp(`${dir}/log\\.3 is missing: log\\.2 is followed by log\\.4$`));
  });

  it('refuses logs that do not start where the snapshot ends, and keeps the logs it already holds', async () => {
    const { journal, store } = await open();
    store.apply(put('a', 1));
    await journal.commit({ apply: [put('a', 1)], meta: { mark: 1 } });
    await journal.compact();
    await journal.close();
    // The snapshot holds log.1; log.2 went astray and log.3 follows. A leftover log.1 stays too.
    await writeFile(path.join(dir, 'log.1'), record(1));
    await rename(path.join(dir, 'log.2'), path.join(dir, 'log.3'));
    await expectRefused(new RegExp(`${dir}/log\\.2 is missing: ${dir}/snapshot holds everything through log generation 1, but the oldest log after it is log\\.3$`));
  });

  it('refuses logs without the snapshot that held their start', async () => {
    await writeFile(path.join(dir, 'log.2'), record(1));
    await expectRefused(new RegExp(`${dir}/log\\.1 is missing: there is no snapshot, but the oldest log after it is log\\.2$`));
  });

  it('refuses a flipped bit inside the snapshot, naming the offset', async () => {
    const { journal, store } = await open();
    for (let v = 1; v <= 3000; v++) store.apply(put(`k${v}`, v));
    await journal.commit({ apply: [], meta: { mark: 3000 } });
    await journal.compact();
    await journal.close();
    const snapshot = await readFile(path.join(dir, 'snapshot'));
    const header = snapshot.readUInt32LE(0) + HEADER_BYTES;
    const chunk = snapshot.readUInt32LE(header) + HEADER_BYTES;
    await damage('snapshot', (bytes) => (bytes[header + chunk + 100] ^= 0x01));
    await expectRefused(new RegExp(`${dir}/snapshot is damaged at byte ${header + chunk} \\(checksum mismatch\\); refusing to start without it$`));
  });

  it('refuses a whole record that is not JSON even at the end', async () => {
    await writeKeys(3);
    const body = Buffer.from('not json');
    const bad = Buffer.alloc(HEADER_BYTES);
    bad.writeUInt32LE(body.length, 0);
    bad.writeUInt32LE((await import('node:zlib')).crc32(body), 4);
    await appendFile(path.join(dir, 'log.1'), Buffer.concat([bad, body]));
    await expectRefused(new RegExp(`${dir}/log\\.1 is damaged at byte ${offsetOf(3)} \\(record is not JSON\\): its checksum matches, so it is no torn write$`));
  });

  it.each([
    ['half of the last record', (bytes: Buffer) => bytes.subarray(0, offsetOf(9) + 20)],
    ['a flipped bit in the last record', (bytes: Buffer) => ((bytes[offsetOf(9) + 12] ^= 0x10), bytes)],
    ['zeros instead of the last record (a file extended, never written)', (bytes: Buffer) => Buffer.concat([bytes.subarray(0, offsetOf(9)), Buffer.alloc(4096)])],
    ['the start of a record followed by zeros', (bytes: Buffer) => Buffer.concat([bytes.subarray(0, offsetOf(9) + 30), Buffer.alloc(4096)])],
  ])('still cuts a true torn tail (%s) with the warning, keeping everything before it', async (_name, tear) => {
    await writeKeys(10);
    const file = path.join(dir, 'log.1');
    await writeFile(file, tear(await readFile(file)));
    const { journal, store, meta } = await open();
    await journal.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^${file}: dropped a torn tail of \\d+ bytes at byte ${offsetOf(9)} .*a change that was never acknowledged`));
    expect(meta).toEqual({ mark: 9 });
    expect(store.keyCount).toBe(9);
    expect((await readFile(file)).length).toBe(offsetOf(9));
  });
});
