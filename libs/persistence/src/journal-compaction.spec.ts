import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Entry } from '@kv/store';
import { FileJournal } from './journal';

interface Meta {
  mark: number;
}

type Op = { kind: 'put'; key: number } | { kind: 'delete'; key: number } | { kind: 'drop'; fraction: number };

const opArb = (keys: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key: fc.nat(keys - 1) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(keys - 1) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  );

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FileJournal compaction while writes continue', () => {
  // The snapshot is written in many small records, each an await on the disk; the writes
  // below run between those awaits and change the very indexes the snapshot reads.
  it('reopens to exactly the store, whatever writes, deletes and tombstone drops ran during the snapshot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 50, max: 400 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(opArb(400), { minLength: 20, maxLength: 200 }),
        fc.integer({ min: 1, max: 5 }),
        async (keys, chunk, ops, opsPerRecord) => {
          const dir = await mkdtemp(path.join(tmpdir(), 'journal-compaction-'));
          try {
            const pending = [...ops];
            // Between two records of the snapshot, a few of the changes run.
            const onSnapshotRecord = async () => {
              for (const op of pending.splice(0, opsPerRecord)) run(op);
              await nextTurn();
            };
            const { journal, store } = await FileJournal.open<Meta>(dir, { fsync: 'off', snapshotChunkEntries: chunk, onSnapshotRecord });
            let version = 0;
            const commits: Array<Promise<void>> = [];
            const write = (entry: Entry) => {
              store.apply(entry);
              commits.push(journal.commit({ apply: [entry], meta: { mark: entry.version } }));
            };
            for (let k = 0; k < keys; k++) write({ key: `k${k}`, version: ++version, deleted: false, value: k });
            const run = (op: Op) => {
              if (op.kind === 'drop') {
                const through = Math.floor(version * op.fraction);
                store.dropTombstonesThrough(through);
                commits.push(journal.commit({ dropTombstonesThrough: through, meta: { mark: version } }));
              } else {
                const key = `k${op.key % keys}`;
                write(op.kind === 'put' ? { key, version: ++version, deleted: false, value: version } : { key, version: ++version, deleted: true });
              }
            };
            await journal.compact();
            for (const op of pending.splice(0)) run(op);
            await Promise.all(commits);
            const expected = [...store.entriesByVersion()];
            await journal.close();

            const reopened = await FileJournal.open<Meta>(dir, { fsync: 'off' });
            await reopened.journal.close();
            expect([...reopened.store.entriesByVersion()]).toEqual(expected);
            expect(reopened.meta).toEqual({ mark: version });
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);
});
