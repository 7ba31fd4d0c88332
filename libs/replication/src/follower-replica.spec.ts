import { VersionedStore } from '@kv/store';
import { ReplicateRequest } from '@kv/protocol';
import { FollowerReplica } from './follower-replica';
import { StaleLeaderError } from './errors';

const request = (body: object) => ReplicateRequest.parse({ leaderEpoch: 5, entries: [], ...body });
const put = (key: string, version: number) => ({ key, version, deleted: false, value: `v${version}` });

describe('FollowerReplica', () => {
  it('applies live entries in any order and reports the contiguous applied version', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    expect(replica.receive(request({ entries: [put('a', 2)] })).response.appliedVersion).toBe(0);
    expect(replica.receive(request({ entries: [put('a', 1)] })).response.appliedVersion).toBe(2);
    expect(store.get('a')?.version).toBe(2);
  });

  it('treats a catch-up batch as covering its whole range', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    const { response } = replica.receive(request({ entries: [put('b', 7)], catchUp: { from: 0, through: 9 } }));
    expect(response.appliedVersion).toBe(9);
  });

  it('drops tombstones once it holds everything up to them, and ignores older entries after', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    replica.receive(request({ entries: [put('a', 1), { key: 'a', version: 2, deleted: true }] }));
    expect(store.tombstoneCount).toBe(0);
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

  it('drops data from an older leader history when a newer epoch speaks', () => {
    const store = new VersionedStore();
    const replica = new FollowerReplica(store, 'f#1');
    replica.receive(request({ entries: [put('a', 1)] }));
    const { response, adoptedNewEpoch } = replica.receive(ReplicateRequest.parse({ leaderEpoch: 6, entries: [] }));
    expect(adoptedNewEpoch).toBe(true);
    expect(response).toMatchObject({ leaderEpoch: 6, appliedVersion: 0 });
    expect(store.keyCount).toBe(0);
  });
});
