import fc from 'fast-check';
import { VersionedStore, type Entry } from '@kv/store';
import { MAX_SAFE_VERSION, ReplicateResponse, type EntriesPage, type ReplicatedEntry } from '@kv/protocol';
import { DuplicateFollowerError, VERSION_GAP_AFTER_MEMORY_LOSS, recoverFromFollowers, requiredAnswers, type RecoveryTransport } from './recovery';
import { VersionCoverage } from './version-coverage';
import { VirtualClock } from './testing';
import { systemClock } from './clock';

interface FakeFollower {
  readonly id: string;
  readonly epoch: number;
  readonly leaderId: string;
  readonly store: VersionedStore;
  readonly coverage: VersionCoverage;
  readonly seenVersion?: number;
}

/** Followers as a recovering leader reads them: positions and pages of entries, or down. */
function transport(followers: Record<string, FakeFollower | 'down'>): RecoveryTransport & { pages: number } {
  const t = {
    pages: 0,
    async entries(url: string, after: number, maxBytes: number): Promise<EntriesPage> {
      const f = followers[url];
      if (f === undefined || f === 'down') throw new Error(`connect ECONNREFUSED ${url}`);
      t.pages++;
      const page = f.store.page(after, MAX_SAFE_VERSION, { maxBytes, sizeOf: () => 1 });
      const [watermark, ...ranges] = f.coverage.spans();
      const position = Object.assign(new ReplicateResponse(), {
        followerId: f.id,
        leaderEpoch: f.epoch,
        leaderId: f.leaderId,
        appliedVersion: watermark && watermark[0] === 1 ? watermark[1] : 0,
        ranges: watermark && watermark[0] === 1 ? ranges : f.coverage.spans(),
        droppedThrough: f.store.tombstoneHorizon,
        ...(f.seenVersion !== undefined ? { seenVersion: f.seenVersion } : {}),
      });
      return { position, entries: page.entries as ReplicatedEntry[], next: page.coveredThrough < MAX_SAFE_VERSION ? page.coveredThrough : null };
    },
  };
  return t;
}

const put = (key: string, version: number, value: unknown = `v${version}`): Entry => ({ key, version, deleted: false, value: value as string });
const del = (key: string, version: number): Entry => ({ key, version, deleted: true });

function follower(id: string, entries: Entry[], covered: Array<[number, number]>, history = { epoch: 3, leaderId: 'old' }): FakeFollower {
  const store = new VersionedStore();
  entries.forEach((e) => store.apply(e));
  const coverage = new VersionCoverage();
  covered.forEach(([a, b]) => coverage.add(a, b));
  return { id, ...history, store, coverage };
}

const recover = (followers: Record<string, FakeFollower | 'down'>, options: { quorum?: number; own?: Parameters<typeof recoverFromFollowers>[0]['own'] } = {}) =>
  recoverFromFollowers({
    followers: Object.keys(followers),
    writeQuorum: options.quorum ?? 3,
    own: options.own ?? null,
    transport: transport(followers),
    clock: systemClock,
    graceMs: 0,
    retryMs: 1,
    pageBytes: 2,
  });

describe('recoverFromFollowers (API.md guarantee 7)', () => {
  it('needs followers − WRITE_QUORUM + 1 answers (every quorum meets that set), at least one', () => {
    expect([requiredAnswers(5, 3), requiredAnswers(5, 1), requiredAnswers(5, 5), requiredAnswers(5, 0), requiredAnswers(0, 0)]).toEqual([3, 5, 1, 5, 0]);
  });

  it('takes the follower with the highest applied version as the base, plus every entry above it that another holds', async () => {
    const result = await recover({
      f1: follower('p1', [put('a', 1), put('b', 2), del('a', 4)], [[1, 4]]),
      f2: follower('p2', [put('a', 1), put('b', 2)], [[1, 2]]),
      // Out of order: it holds 6 but not 5.
      f3: follower('p3', [put('a', 1), put('c', 6)], [[1, 2], [6, 6]]),
    });
    expect(result.base).toBe('f1');
    expect(result.store.list({ limit: 10 }).items.map((e) => [e.key, e.version])).toEqual([['b', 2], ['c', 6]]);
    expect(result.store.head('a')).toEqual(del('a', 4));
    expect(result.epoch).toBe(4);
    // No own reservation: versions continue a block above anything reported.
    expect(result.highestSeenVersion).toBe(6 + VERSION_GAP_AFTER_MEMORY_LOSS);
    expect(result.lineage?.coverage.spans()).toEqual([[1, 4], [6, 6]]);
  });

  it('continues above a version a follower only heard of (a 503 write that reached nobody)', async () => {
    const f = { ...follower('p1', [put('a', 1)], [[1, 1]]), seenVersion: 90 };
    expect((await recover({ f1: f }, { quorum: 1 })).highestSeenVersion).toBe(90 + VERSION_GAP_AFTER_MEMORY_LOSS);
  });

  it('keeps its own state when it is the newest (no transfer), and its reservation', async () => {
    const own = new VersionedStore();
    [put('a', 1), put('b', 2), put('c', 3)].forEach((e) => own.apply(e));
    const t = transport({ f1: follower('p1', [put('a', 1)], [[1, 1]]), f2: follower('p2', [put('a', 1), put('b', 2)], [[1, 2]]) });
    const result = await recoverFromFollowers({
      followers: ['f1', 'f2'],
      writeQuorum: 1,
      own: { history: { epoch: 3, leaderId: 'old' }, store: own, reservedVersion: 10_003 },
      transport: t,
      clock: systemClock,
      graceMs: 0,
      retryMs: 1,
    });
    expect(result.base).toBe('self');
    expect(result.store).toBe(own);
    expect(result.highestSeenVersion).toBe(10_003);
    expect(t.pages).toBe(2); // the two position asks only
  });

  it('ignores followers of an older history (stragglers: they get a full resync) and a brand-new cluster starts at once', async () => {
    const result = await recover({
      f1: follower('p1', [put('a', 1), put('b', 2)], [[1, 2]], { epoch: 4, leaderId: 'new' }),
      f2: follower('p2', [put('zombie', 7)], [[1, 7]], { epoch: 2, leaderId: 'older' }),
    }, { quorum: 1 });
    expect(result.store.get('zombie')).toBeUndefined();
    expect(result.stragglers).toEqual(['f2']);
    expect(result.epoch).toBe(5);
    const fresh = await recover({ f1: follower('p1', [], []), f2: follower('p2', [], []) }, { quorum: 1 });
    expect(fresh).toMatchObject({ base: 'none (a new cluster)', highestSeenVersion: 0, lineage: null });
  });

  it('refuses two URLs that answer as one follower process', async () => {
    const same = follower('one-process', [], []);
    await expect(recover({ f1: same, f2: same }, { quorum: 1 })).rejects.toThrow(DuplicateFollowerError);
  });

  it('waits for the required answers, however long followers are down', async () => {
    const followers: Record<string, FakeFollower | 'down'> = { f1: follower('p1', [put('a', 1)], [[1, 1]]), f2: 'down', f3: 'down' };
    const clock = new VirtualClock();
    let done = false;
    const recovery = recoverFromFollowers({ followers: ['f1', 'f2', 'f3'], writeQuorum: 1, own: null, transport: transport(followers), clock, graceMs: 0, retryMs: 100 }).then((r) => ((done = true), r));
    await clock.advance(5000);
    expect(done).toBe(false);
    followers.f2 = follower('p2', [put('a', 1)], [[1, 1]]);
    followers.f3 = follower('p3', [put('a', 1), put('b', 2)], [[1, 2]]);
    await clock.advance(300);
    expect((await recovery).base).toBe('f3');
  });

  it('property: every write any answering follower of the newest history holds is recovered, unless a newer write to its key is', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), deleted: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(40), fc.array(fc.nat(40), { maxLength: 5 })), { minLength: 1, maxLength: 5 }),
        async (writes, holdings) => {
          const history: Entry[] = writes.map((w, i) => (w.deleted ? del(w.key, i + 1) : put(w.key, i + 1)));
          // Each follower holds a prefix of the history plus a few entries above it (out of order).
          const followers: Record<string, FakeFollower> = {};
          const held: Entry[][] = [];
          holdings.forEach(([prefix, extra], i) => {
            const through = Math.min(prefix, history.length);
            const extras = [...new Set(extra.filter((v) => v > through + 1 && v <= history.length))];
            const entries = [...history.slice(0, through), ...extras.map((v) => history[v - 1])];
            held.push(entries);
            followers[`f${i}`] = follower(`p${i}`, entries, [[1, through], ...extras.map((v) => [v, v] as [number, number])]);
          });
          const result = await recover(followers, { quorum: 1 });
          for (const entries of held) {
            for (const entry of entries) {
              const now = result.store.head(entry.key);
              // The entry, or a newer one of its key; a forgotten tombstone reads as absent.
              if (now === undefined) expect(entry.deleted || history.some((h) => h.key === entry.key && h.version > entry.version && h.deleted)).toBe(true);
              else expect(now.version).toBeGreaterThanOrEqual(entry.version);
            }
          }
          expect(result.highestSeenVersion).toBeGreaterThanOrEqual(Math.max(0, ...held.flat().map((e) => e.version)));
        },
      ),
      { numRuns: 200 },
    );
  });
});
