import { VersionMismatchError } from './errors';
import { SimulatedCluster } from './testing';

async function settledCluster(): Promise<SimulatedCluster> {
  const cluster = new SimulatedCluster({ followers: 3 });
  await cluster.clock.advance(1000);
  return cluster;
}

function mismatch(write: () => unknown): VersionMismatchError {
  try {
    write();
  } catch (error) {
    if (error instanceof VersionMismatchError) return error;
    throw error;
  }
  throw new Error('the write passed its condition');
}

describe('conditional writes on the leader', () => {
  it('applies a put whose ifVersion is the current version, or 0 for an absent key', async () => {
    const cluster = await settledCluster();
    const created = cluster.leader.put('k', 'a', 0, { ifVersion: 0 });
    expect(created.entry.version).toBe(1);
    const updated = cluster.leader.put('k', 'b', 0, { ifVersion: 1 });
    expect(updated.entry.version).toBe(2);
    expect(cluster.leader.store.get('k')?.value).toBe('b');
    cluster.leader.stop();
  });

  it('refuses a mismatch naming the current version, without applying, using a version or replicating', async () => {
    const cluster = await settledCluster();
    cluster.put('k', 'a');
    await cluster.clock.advance(1000);
    const sentBefore = cluster.sent.filter((s) => s.request.entries.length > 0).length;

    const stale = mismatch(() => cluster.leader.put('k', 'b', 0, { ifVersion: 7 }));
    expect(stale).toMatchObject({ code: 'VERSION_MISMATCH', key: 'k', expectedVersion: 7, currentVersion: 1 });
    expect(mismatch(() => cluster.leader.put('k', 'b', 0, { ifVersion: 0 })).currentVersion).toBe(1);
    expect(mismatch(() => cluster.leader.remove('k', 0, { ifVersion: 2 })).currentVersion).toBe(1);

    await cluster.clock.advance(1000);
    expect(cluster.leader.version).toBe(1);
    expect(cluster.leader.store.get('k')?.value).toBe('a');
    expect(cluster.sent.filter((s) => s.request.entries.length > 0).length).toBe(sentBefore);
    // The next write gets the next version: none was used by the refused ones.
    expect(cluster.put('j', 1).entry.version).toBe(2);
    cluster.leader.stop();
  });

  it('treats a deleted key as absent: version 0', async () => {
    const cluster = await settledCluster();
    cluster.put('k', 'a');
    cluster.leader.remove('k', 0, { ifVersion: 1 });
    expect(mismatch(() => cluster.leader.remove('k', 0, { ifVersion: 2 })).currentVersion).toBe(0);
    expect(mismatch(() => cluster.leader.put('k', 'b', 0, { ifVersion: 2 })).currentVersion).toBe(0);
    expect(cluster.leader.put('k', 'b', 0, { ifVersion: 0 }).entry.version).toBe(3);
    cluster.leader.stop();
  });

  it('takes ifExists (If-Match: *) as any version of a live key', async () => {
    const cluster = await settledCluster();
    expect(mismatch(() => cluster.leader.put('k', 'a', 0, { ifExists: true }))).toMatchObject({ expectedVersion: 'exists', currentVersion: 0 });
    cluster.put('k', 'a');
    expect(cluster.leader.put('k', 'b', 0, { ifExists: true }).entry.version).toBe(2);
    expect(cluster.leader.remove('k', 0, { ifExists: true })?.entry.version).toBe(3);
    expect(mismatch(() => cluster.leader.remove('k', 0, { ifExists: true })).currentVersion).toBe(0);
    cluster.leader.stop();
  });

  it('lets exactly one of many writes with the same ifVersion pass', async () => {
    const cluster = await settledCluster();
    cluster.put('k', 0);
    let passed = 0;
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      try {
        cluster.leader.put('k', i, 0, { ifVersion: 1 });
        passed++;
      } catch (error) {
        if (!(error instanceof VersionMismatchError) || error.currentVersion !== 2) throw error;
        refused++;
      }
    }
    expect([passed, refused]).toEqual([1, 19]);
    cluster.leader.stop();
  });
});
