import { appendFile, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Entry } from '@kv/store';
import { DataDirError, FileJournal, JournalDamagedError } from './journal';
import { decodeRecords, encodeRecord } from './record-codec';

interface Meta {
  epoch: number;
  mark: number;
}

const put = (key: string, version: number, value: unknown = `v${version}`): Entry => ({ key, version, deleted: false, value }) as Entry;

describe('FileJournal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'journal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function openJournal(options: Partial<Parameters<typeof FileJournal.open>[1]> = {}) {
    const warnings: string[] = [];
    const opened = await FileJournal.open<Meta>(dir, { fsync: 'always', warn: (m) => warnings.push(m), ...options });
    return { ...opened, warnings };
  }

  /** Makes a change to the store and journals it, as a node does. */
  function change(opened: Awaited<ReturnType<typeof openJournal>>, entries: Entry[], meta: Meta, extra: { dropTombstonesThrough?: number } = {}) {
    for (const e of entries) opened.store.apply(e);
    if (extra.dropTombstonesThrough !== undefined) opened.store.dropTombstonesThrough(extra.dropTombstonesThrough);
    return opened.journal.commit({ apply: entries, meta, ...extra });
  }

  it('starts empty, and gives back the store and metadata after a restart', async () => {
    const first = await openJournal();
    expect(first.meta).toBeNull();
    expect(first.store.keyCount).toBe(0);
    await change(first, [put('a', 1), put('b', 2)], { epoch: 7, mark: 2 });
    await change(first, [{ key: 'a', version: 3, deleted: true }], { epoch: 7, mark: 3 });
    await first.journal.close();

    const second = await openJournal();
    expect(second.meta).toEqual({ epoch: 7, mark: 3 });
    expect([...second.store.entriesByVersion()]).toEqual([put('b', 2), { key: 'a', version: 3, deleted: true }]);
    expect(second.warnings).toEqual([]);
    await second.journal.close();
  });

  it.each(['always', 'batch', 'off'] as const)('keeps committed changes across a restart with FSYNC=%s', async (fsync) => {
    const first = await openJournal({ fsync });
    await Promise.all([change(first, [put('a', 1)], { epoch: 1, mark: 1 }), change(first, [put('b', 2)], { epoch: 1, mark: 2 })]);
    await first.journal.close();
    const second = await openJournal({ fsync });
    expect(second.store.keyCount).toBe(2);
    expect(second.meta).toEqual({ epoch: 1, mark: 2 });
    await second.journal.close();
  });

  it('replays tombstone compaction and clears in order', async () => {
    const first = await openJournal();
    await change(first, [put('a', 1), { key: 'b', version: 2, deleted: true }], { epoch: 1, mark: 2 });
    await change(first, [], { epoch: 1, mark: 2 }, { dropTombstonesThrough: 2 });
    first.store.clear();
    await first.journal.commit({ clear: true, apply: [put('c', 1)], meta: { epoch: 2, mark: 1 } });
    first.store.apply(put('c', 1));
    await first.journal.close();
    const second = await openJournal();
    expect([...second.store.entriesByVersion()]).toEqual([put('c', 1)]);
    expect(second.meta).toEqual({ epoch: 2, mark: 1 });
    await second.journal.close();
  });

  it('writes concurrent commits together (group commit)', async () => {
    const opened = await openJournal();
    await Promise.all(Array.from({ length: 200 }, (_, i) => change(opened, [put(`k${i}`, i + 1)], { epoch: 1, mark: i + 1 })));
    await opened.journal.close();
    const bytes = await readFile(path.join(dir, 'log.1'));
    expect(decodeRecords(bytes).payloads).toHaveLength(200);
    const reopened = await openJournal();
    expect(reopened.store.keyCount).toBe(200);
    await reopened.journal.close();
  });

  it.each([
    ['a truncated last record', async (file: string) => truncate(file, (await stat(file)).size - 3)],
    ['garbage after the last record', (file: string) => appendFile(file, Buffer.from('\x07\x00\x00\x00garbage!'))],
    ['a last record with a bad checksum', async (file: string) => {
      const bytes = await readFile(file);
      bytes[bytes.length - 2] ^= 0xff;
      await writeFile(file, bytes);
    }],
  ])('survives %s: keeps every change before it, logs it, and appends cleanly after', async (_name, damage) => {
    const first = await openJournal();
    await change(first, [put('a', 1)], { epoch: 1, mark: 1 });
    await change(first, [put('b', 2)], { epoch: 1, mark: 2 });
    await first.journal.close();
    const file = path.join(dir, 'log.1');
    const intact = (await stat(file)).size;
    await damage(file);

    const second = await openJournal();
    expect(second.warnings).toHaveLength(1);
    expect(second.warnings[0]).toMatch(/log\.1: dropped a torn tail of \d+ bytes at byte \d+/);
    expect(second.store.get('a')).toEqual(put('a', 1));
    // The torn record may be the last one written, never an earlier one.
    const kept = [...second.store.entriesByVersion()].length;
    expect(kept).toBeGreaterThanOrEqual(1);
    expect((await stat(file)).size).toBeLessThanOrEqual(intact);
    await change(second, [put('c', 3)], { epoch: 1, mark: 3 });
    await second.journal.close();

    const third = await openJournal();
    expect(third.warnings).toEqual([]);
    expect(third.store.get('c')).toEqual(put('c', 3));
    expect(third.meta).toEqual({ epoch: 1, mark: 3 });
    await third.journal.close();
  });

  it('folds a long log into a snapshot and keeps the same state', async () => {
    const opened = await openJournal({ compactAtBytes: 2000 });
    for (let i = 1; i <= 100; i++) await change(opened, [put(`k${i % 30}`, i, 'x'.repeat(50))], { epoch: 1, mark: i });
    await opened.journal.compact();
    const files = await readdir(dir);
    expect(files).toContain('snapshot');
    expect(files.filter((f) => f.startsWith('log.'))).toHaveLength(1);
    const expected = [...opened.store.entriesByVersion()];
    await opened.journal.close();

    const reopened = await openJournal();
    expect([...reopened.store.entriesByVersion()]).toEqual(expected);
    expect(reopened.meta).toEqual({ epoch: 1, mark: 100 });
    await reopened.journal.close();
  });

  it('recovers from a compaction cut short after the snapshot was renamed into place', async () => {
    const opened = await openJournal();
    await change(opened, [put('a', 1)], { epoch: 1, mark: 1 });
    await opened.journal.compact();
    await change(opened, [put('b', 2)], { epoch: 1, mark: 2 });
    await opened.journal.close();
    // A leftover log the snapshot already holds, as if the process died before deleting it.
    await writeFile(path.join(dir, 'log.1'), encodeRecord({ apply: [put('a', 1, 'stale')], meta: { epoch: 1, mark: 1 } }));
    const reopened = await openJournal();
    expect(reopened.store.get('a')?.value).toBe('v1');
    expect(reopened.meta).toEqual({ epoch: 1, mark: 2 });
    expect(await readdir(dir)).not.toContain('log.1');
    await reopened.journal.close();
  });

  it('refuses to start on a damaged snapshot rather than serve partial data', async () => {
    const opened = await openJournal();
    await change(opened, [put('a', 1)], { epoch: 1, mark: 1 });
    await opened.journal.compact();
    await opened.journal.close();
    const file = path.join(dir, 'snapshot');
    await truncate(file, (await stat(file)).size - 5);
    const refused = await openJournal().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirError);
    expect((refused as DataDirError).cause).toBeInstanceOf(JournalDamagedError);
    expect((refused as DataDirError).explainsItself).toBe(true);
    expect((refused as Error).message).toMatch(new RegExp(`^DATA_DIR ${dir}: ${file} is damaged at byte \\d+ \\(incomplete record: \\d+ of \\d+ bytes\\); refusing to start without it$`));
  });

  it('creates missing parents of the directory', async () => {
    const nested = path.join(dir, 'a', 'b', 'c');
    const opened = await FileJournal.open<Meta>(nested, { fsync: 'off' });
    await opened.journal.close();
    expect((await stat(nested)).isDirectory()).toBe(true);
  });

  it.each([
    ['a path under a regular file', (file: string) => path.join(file, 'data'), /^DATA_DIR .*\/file\/data: ENOTDIR/],
    ['a regular file', (file: string) => file, /^DATA_DIR .*\/file: .*\/file is not a directory$/],
  ])('refuses %s with an error naming DATA_DIR', async (_name, target, message) => {
    const file = path.join(dir, 'file');
    await writeFile(file, 'x');
    const refused = await FileJournal.open<Meta>(target(file), { fsync: 'off' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirError);
    expect((refused as Error).message).toMatch(message);
    expect((refused as DataDirError).explainsItself).toBe(true);
  });

  it('asks for a stack when the cause is neither a system error nor damage', () => {
    expect(new DataDirError('/d', new TypeError('x is undefined')).explainsItself).toBe(false);
    expect(new DataDirError('/d', Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })).explainsItself).toBe(true);
  });

  it('refuses a dangling symlink with an error naming DATA_DIR', async () => {
    const link = path.join(dir, 'link');
    await symlink(path.join(dir, 'nowhere'), link);
    await expect(FileJournal.open<Meta>(path.join(link, 'data'), { fsync: 'off' })).rejects.toThrow(
      new RegExp(`^DATA_DIR ${link}/data: ${link} exists but is not a directory \\(a dangling symlink\\?\\)$`),
    );
  });

  // Node 20's recursive mkdir loops forever on such a path; this one must refuse it.
  it('refuses a directory its parent cannot hold (/proc) instead of hanging', async () => {
    await expect(FileJournal.open<Meta>('/proc/kv-no-such-dir/data', { fsync: 'off' })).rejects.toThrow(/^DATA_DIR \/proc\/kv-no-such-dir\/data: ENOENT/);
  });
});
