import { VersionedStore } from '@kv/store';
import { ReplicateResponse, type ReplicateRequest } from '@kv/protocol';
import { ReplicationLeader, VERSION_RESERVATION_BLOCK, type LeaderJournal, type LeaderMeta, type ReplicationLeaderOptions } from './replication-leader';
import { VirtualClock, flushMicrotasks } from './testing';
import type { ReplicationTransport } from './transport';

/**
 * Lets a completed commit's send go out: the commit's callback asks for a pump, which runs
 * once the I/O callbacks of the following event-loop turn have run (schedulePump).
 */
async function afterCommit(): Promise<void> {
  await flushMicrotasks();
  await flushMicrotasks();
}

/** A journal whose commits complete only when the test says so. */
function manualJournal() {
  const commits: Array<{ change: Parameters<LeaderJournal['commit']>[0]; done: () => void }> = [];
  const journal: LeaderJournal = {
    commit: (change) => new Promise<void>((resolve) => commits.push({ change, done: resolve })),
  };
  return { journal, commits };
}

function recordingTransport() {
  const sent: ReplicateRequest[] = [];
  const transport: ReplicationTransport = {
    async send(follower, request) {
      sent.push(request);
      const applied = Math.max(0, ...request.entries.map((e) => e.version), request.catchUp?.through ?? 0);
      return Object.assign(new ReplicateResponse(), { followerId: follower, leaderEpoch: request.leaderEpoch, appliedVersion: applied });
    },
  };
  return { transport, sent };
}

function leaderWith(journal: LeaderJournal, transport: ReplicationTransport, reservedVersion = 0, store = new VersionedStore(), more: Partial<ReplicationLeaderOptions> = {}) {
  return new ReplicationLeader({
    store,
    epoch: 42,
    followers: ['f1'],
    replication: { minDelayMs: 0, maxDelayMs: 0, heartbeatIntervalMs: 1_000_000 },
    replicationTimeoutMs: 1000,
    transport,
    clock: new VirtualClock(),
    journal,
    reservedVersion,
    ...more,
  });
}

describe('ReplicationLeader with a journal', () => {
  it('replicates a write only once it is durable, and answers only then', async () => {
    const { journal, commits } = manualJournal();
    const { transport, sent } = recordingTransport();
    const leader = leaderWith(journal, transport);
    await flushMicrotasks();
    const ticket = leader.put('k', 'v', 1);
    let settled = false;
    void ticket.quorum.then(() => (settled = true));
    await flushMicrotasks();
    expect(sent.filter((r) => r.entries.length > 0)).toHaveLength(0);
    expect(settled).toBe(false);

    commits[0].done();
    await afterCommit();
    expect(sent.filter((r) => r.entries.length > 0)).toHaveLength(1);
    await expect(ticket.quorum).resolves.toMatchObject({ outcome: 'reached', acks: 1 });
    leader.stop();
  });

  it('sends a write within a durable reservation while the journal writes it, and answers only when both are done', async () => {
    const { journal, commits } = manualJournal();
    const { transport, sent } = recordingTransport();
    const leader = leaderWith(journal, transport);
    await flushMicrotasks();
    const sentEntries = () => sent.flatMap((r) => r.entries.map((e) => e.version));
    // Versions 1 and 2: nothing reserved on disk yet, so both wait for the record reserving them.
    const first = leader.put('a', 1, 1);
    const second = leader.put('b', 1, 1);
    await flushMicrotasks();
    expect(sentEntries()).toEqual([]);
    commits[0].done();
    await afterCommit();
    expect(sentEntries()).toEqual([1]);
    commits[1].done();
    await afterCommit();
    expect(sentEntries()).toEqual([1, 2]);
    await expect(first.quorum).resolves.toMatchObject({ outcome: 'reached' });
    await expect(second.quorum).resolves.toMatchObject({ outcome: 'reached' });

    // Version 3 is within the durable reservation: it goes out before its own record is durable...
    const third = leader.put('c', 1, 1);
    let answered = false;
    void third.quorum.then(() => (answered = true));
    await flushMicrotasks();
    expect(sentEntries()).toEqual([1, 2, 3]);
    // ...and is answered only once it is durable here too.
    expect(answered).toBe(false);
    commits[2].done();
    await expect(third.quorum).resolves.toMatchObject({ outcome: 'reached', acks: 1 });
    leader.stop();
  });

  it('never sends a version that a crash could reuse: above the durable reservation, writes wait in order for the record reserving them', async () => {
    const { journal, commits } = manualJournal();
    const { transport, sent } = recordingTransport();
    // Reserved on disk through 10 by a previous run, which this one continues above: 11 needs a new record.
    const leader = leaderWith(journal, transport, 10);
    await flushMicrotasks();
    const sentEntries = () => sent.flatMap((r) => r.entries.map((e) => e.version));
    const versions = Array.from({ length: 4 }, (_, i) => leader.put(`k${i}`, i, 0).entry.version);
    expect(versions).toEqual([11, 12, 13, 14]);
    await flushMicrotasks();
    expect(sentEntries()).toEqual([]);
    expect(commits[0].change.meta.reservedVersion).toBeGreaterThanOrEqual(14);
    // Records become durable in order; each write goes out after its own record.
    for (const [i, commit] of commits.entries()) {
      commit.done();
      await flushMicrotasks();
      expect(sentEntries()).toEqual(versions.slice(0, i + 1));
    }
    leader.stop();
  });

  it('stops sending once a journal commit fails: no later write goes out early, and the failure is reported', async () => {
    const commits: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
    const journal: LeaderJournal = { commit: () => new Promise<void>((resolve, reject) => commits.push({ resolve, reject })) };
    const { transport, sent } = recordingTransport();
    const failures: unknown[] = [];
    const leader = leaderWith(journal, transport, 100, new VersionedStore(), { onJournalFailure: (error) => failures.push(error) });
    await flushMicrotasks();
    const sentEntries = () => sent.flatMap((r) => r.entries.map((e) => e.version));
    leader.put('a', 1, 1); // 101: its record reserves the next block
    commits[0].resolve();
    await flushMicrotasks();
    // 102: within the durable reservation, sent while its record is written (its answer fails with the disk).
    leader.put('b', 1, 1).quorum.catch(() => undefined);
    await flushMicrotasks();
    expect(sentEntries()).toEqual([101, 102]);
    commits[1].reject(new Error('EIO'));
    await flushMicrotasks();
    expect(failures).toHaveLength(1);
    leader.put('c', 1, 1).quorum.catch(() => undefined); // 103: within the reservation too, but the disk failed
    await flushMicrotasks();
    expect(sentEntries()).toEqual([101, 102]);
    leader.stop();
  });

  it('counts writes still waiting for the journal in /status lag: version - ackedVersion', async () => {
    const { journal, commits } = manualJournal();
    const leader = leaderWith(journal, recordingTransport().transport);
    await flushMicrotasks();
    leader.put('a', 1, 1);
    leader.put('b', 1, 1);
    await flushMicrotasks();
    // Waiting for the record that reserves their versions, so not sent: two behind the version /status shows.
    expect(leader.version).toBe(2);
    expect(leader.status()[0]).toMatchObject({ ackedVersion: 0, lag: 2 });
    commits[0].done();
    commits[1].done();
    // One append in flight per follower: a, then b.
    for (let i = 0; i < 3; i++) await flushMicrotasks();
    expect(leader.status()[0]).toMatchObject({ ackedVersion: 2, lag: 0 });
    leader.stop();
  });

  it('reserves versions in blocks, in the same record as the write that needs them', async () => {
    const { journal, commits } = manualJournal();
    const leader = leaderWith(journal, recordingTransport().transport);
    leader.put('a', 1, 0);
    leader.put('b', 1, 0);
    expect(commits.map((c) => c.change.meta)).toEqual<LeaderMeta[]>([
      { epoch: 42, leaderId: '', reservedVersion: 1 + VERSION_RESERVATION_BLOCK, droppedThrough: 0 },
      { epoch: 42, leaderId: '', reservedVersion: 1 + VERSION_RESERVATION_BLOCK, droppedThrough: 0 },
    ]);
    expect(commits[0].change.apply).toEqual([{ key: 'a', version: 1, deleted: false, value: 1 }]);
    leader.stop();
  });

  it('continues above its reservation after a restart, never reusing a version', () => {
    const store = new VersionedStore();
    store.apply({ key: 'a', version: 7, deleted: false, value: 1 });
    const leader = leaderWith(manualJournal().journal, recordingTransport().transport, 10_007, store);
    expect(leader.put('b', 2, 0).entry.version).toBe(10_008);
    leader.stop();
  });
});

describe('ReplicationLeader timers', () => {
  it('sends a message when its wake timer fires, even if the timer fired a fraction of a millisecond early by performance.now()', async () => {
    // Node schedules a timer on the event loop's clock, which can lag performance.now() by a
    // fraction of a millisecond; the timer then fires that much early, and a re-armed timer
    // waits at least 1 ms. Modelled here: every timer is due 0.4 ms early, none sooner than 1 ms.
    const virtual = new VirtualClock();
    const clock = { now: virtual.now, setTimer: (callback: () => void, delayMs: number) => virtual.setTimer(callback, Math.max(1, delayMs) - 0.4) };
    const { transport, sent } = recordingTransport();
    const leader = new ReplicationLeader({
      store: new VersionedStore(),
      epoch: 1,
      followers: ['f1'],
      replication: { minDelayMs: 200, maxDelayMs: 200, heartbeatIntervalMs: 1_000_000 },
      replicationTimeoutMs: 1000,
      transport,
      clock,
    });
    await virtual.advance(1000); // the first heartbeat, answered: f1 replicates
    const writtenAt = virtual.now();
    void leader.put('k', 'v', 1);
    await virtual.advance(199.9);
    // Sent by its wake timer at writtenAt + 199.6, not 1 ms later by a second one.
    expect(sent.filter((r) => r.entries.length > 0)).toHaveLength(1);
    expect(virtual.now() - writtenAt).toBeLessThan(200);
    leader.stop();
  });
});
