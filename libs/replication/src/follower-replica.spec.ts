import { VersionedStore } from '@kv/store';
import { ReplicateRequest } from '@kv/protocol';
import { FollowerReplica } from './follower-replica';
import { StaleLeaderError } from './errors';
import { TombstoneRetention } from './tombstone-retention';

const request = (body: object) => ReplicateRequest.parse({ leaderEpoch: 5, entries: [], ...body });
const put = (key: string, version: number) => ({ key, version, deleted: false, value: `v${version}` });
const del = (key: string, version: number) => ({ key, version, deleted: true });

describe('FollowerReplica', () => {
  it('applies live entries in any order and reports the contiguous applied version', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    expect(replica.receive(request({ entries: [put('a', 2)] })).response.appliedVersion).toBe(0);
    expect(replica.receive(request({ entries: [put('a', 1)] })).response.appliedVersion).toBe(2);
    expect(store.get('a')?.version).toBe(2);
  });

  it('claims a catch-up range only with its closing done message, once every batch is here', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    expect(replica.receive(request({ entries: [put('b', 7)], catchUp: { from: 0, through: 9 } })).response.appliedVersion).toBe(0);
    expect(store.get('b')?.version).toBe(7);
    expect(replica.receive(request({ catchUp: { from: 0, through: 9, done: true } })).response.appliedVersion).toBe(9);
  });

  it('drops tombstones only up to what the leader says every follower holds, never above its own watermark', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    replica.receive(request({ entries: [put('a', 1), del('a', 2)] }));
    expect(store.tombstoneCount).toBe(1);
    replica.receive(request({ droppedThrough: 9 }));
    expect(store.tombstoneCount).toBe(0);
    expect(store.tombstoneHorizon).toBe(2);
    replica.receive(request({ entries: [put('a', 1)] }));
    expect(store.get('a')).toBeUndefined();
  });

  it('refuses a stale leader epoch and changes nothing', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    replica.receive(request({ entries: [put('a', 1)] }));
    expect(() => replica.receive(ReplicateRequest.parse({ leaderEpoch: 4, entries: [put('b', 2)] }))).toThrow(StaleLeaderError);
    expect(store.get('b')).toBeUndefined();
    expect(replica.appliedVersion).toBe(1);
  });

  it('refuses an older leader once a newer one has spoken, even before joining it (a late duplicate cannot change what it reported)', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    replica.receive(request({ leaderId: 'old', entries: [put('a', 1)] }));
    // The newer leader asks; the follower keeps its data and does not join yet.
    replica.receive(ReplicateRequest.parse({ leaderEpoch: 6, leaderId: 'new', entries: [], leaderVersion: 10 }));
    expect(() => replica.receive(request({ leaderId: 'old', entries: [put('late', 2)] }))).toThrow(StaleLeaderError);
    expect(store.get('late')).toBeUndefined();
    // A restart remembers the promise, and what versions leaders said they had assigned.
    const restarted = new FollowerReplica(new VersionedStore(), 'f#2', replica.meta());
    expect(() => restarted.receive(request({ leaderId: 'old', entries: [] }))).toThrow(StaleLeaderError);
    expect(restarted.position().seenVersion).toBe(10);
  });

  it('refuses another leader of the same epoch (two leaders configured against one follower)', () => {
    const replica = new FollowerReplica(new VersionedStore(), 'f#1');
    replica.receive(request({ leaderId: 'leaderA', entries: [put('a', 1)] }));
    expect(() => replica.receive(request({ leaderId: 'leaderB', entries: [put('b', 2)] }))).toThrow(StaleLeaderError);
  });

  it('keeps everything when a newer leader speaks, applying nothing until it says how to join', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    replica.receive(request({ leaderId: 'old', entries: [put('a', 1)] }));
    const { response, adoptedNewEpoch, change } = replica.receive(ReplicateRequest.parse({ leaderEpoch: 6, leaderId: 'new', entries: [put('b', 2)] }));
    expect(adoptedNewEpoch).toBe(false);
    expect(change.apply).toEqual([]);
    expect(response).toMatchObject({ leaderEpoch: 5, leaderId: 'old', appliedVersion: 1 });
    expect(store.get('a')?.value).toBe('v1');
    expect(store.get('b')).toBeUndefined();
  });

  it('joins a newer leader by a catch-up keeping its data, or by a full resync that empties it first', () => {
    const kept = new VersionedStore();
    const keeper = new FollowerReplica(kept, 'f#1');
    keeper.receive(request({ leaderId: 'old', entries: [put('a', 1)] }));
    keeper.receive(ReplicateRequest.parse({ leaderEpoch: 6, leaderId: 'new', entries: [put('b', 2)], catchUp: { from: 1, through: 2 } }));
    expect(keeper.position()).toMatchObject({ leaderEpoch: 6, leaderId: 'new' });
    expect(kept.get('a')?.value).toBe('v1');

    const wiped = new VersionedStore();
    const resynced = new FollowerReplica(wiped, 'f#2');
    resynced.receive(request({ leaderId: 'old', entries: [put('zombie', 1)] }));
    const first = resynced.receive(ReplicateRequest.parse({ leaderEpoch: 6, leaderId: 'new', entries: [put('b', 2)], catchUp: { from: 0, through: 2, resync: 1 } }));
    expect(first.change.clear).toBe(true);
    // It received no tombstone: deletes up to the resync's end cannot be told here (a watch from below gets 410).
    expect(wiped.tombstoneHorizon).toBe(2);
    expect(resynced.resyncing).toBe(true);
    // A second batch of the same resync does not empty the store again.
    const second = resynced.receive(ReplicateRequest.parse({ leaderEpoch: 6, leaderId: 'new', entries: [put('c', 1)], catchUp: { from: 0, through: 2, resync: 1 } }));
    expect(second.change.clear).toBeUndefined();
    resynced.receive(ReplicateRequest.parse({ leaderEpoch: 6, leaderId: 'new', entries: [], catchUp: { from: 0, through: 2, resync: 1, done: true } }));
    expect(wiped.get('zombie')).toBeUndefined();
    expect(SortedKeys(wiped)).toEqual(['b', 'c']);
    expect(resynced.appliedVersion).toBe(2);
    expect(resynced.resyncing).toBe(false);
    // A late duplicate of a batch of that finished resync empties nothing.
    const late = resynced.receive(ReplicateRequest.parse({ leaderEpoch: 6, leaderId: 'new', entries: [put('b', 2)], catchUp: { from: 0, through: 2, resync: 1 } }));
    expect(late.change.clear).toBeUndefined();
    expect(SortedKeys(wiped)).toEqual(['b', 'c']);
  });

  it('ignores a live entry at or below a resync it is receiving: it predates the state that arrives', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    replica.receive(request({ entries: [], catchUp: { from: 0, through: 10, resync: 1 } }));
    replica.receive(request({ entries: [put('late', 4), put('fresh', 11)] }));
    expect(store.get('late')).toBeUndefined();
    expect(store.get('fresh')?.version).toBe(11);
  });

  it('reports its history and held ranges, and gets them back after a restart', () => {
    const replica = new FollowerReplica(new VersionedStore(), 'f#1');
    replica.receive(request({ leaderId: 'L', entries: [put('a', 1), put('b', 3), put('c', 7)] }));
    const meta = replica.meta();
    expect(replica.position()).toMatchObject({ leaderEpoch: 5, leaderId: 'L', appliedVersion: 1, ranges: [[3, 3], [7, 7]] });
    const restarted = new FollowerReplica(new VersionedStore(), 'f#2', meta);
    expect(restarted.position()).toMatchObject({ leaderEpoch: 5, leaderId: 'L', appliedVersion: 1, ranges: [[3, 3], [7, 7]] });
  });
});

function SortedKeys(store: VersionedStore): string[] {
  return store.list({ limit: 100 }).items.map((e) => e.key);
}

describe('FollowerReplica with a tombstone retention', () => {
  it('keeps a tombstone younger than 60 s on its own clock, whatever the leader says', () => {
    let now = 0;
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1', undefined, { retention: new TombstoneRetention(60_000), now: () => now });
    replica.receive(request({ entries: [put('a', 1), del('a', 2)] }));
    now = 59_000;
    replica.receive(request({ droppedThrough: 2 }));
    expect(store.tombstoneCount).toBe(1);
    now = 60_000;
    replica.receive(request({ droppedThrough: 2 }));
    expect(store.tombstoneCount).toBe(0);
    expect(store.tombstoneHorizon).toBe(2);
  });
});
