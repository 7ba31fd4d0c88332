import { checkHistory } from './check';
import { checkRegister, shrinkCounterexample } from './linearizability';
import { converged, history, op } from './testing';

const kinds = (result: ReturnType<typeof checkHistory>) => result.anomalies.map((a) => `${a.check}/${a.kind}`);

describe('linearizability of one register (Wing–Gong with memoization)', () => {
  it('accepts a sequential history and a read concurrent with a write that sees either value', () => {
    const ops = [
      op('put', 'k', 0, 10, { value: 'a', version: 1 }),
      op('put', 'k', 20, 40, { value: 'b', version: 2 }),
      op('read', 'k', 25, 30, { readValue: 'a', version: 1 }),
      op('read', 'k', 26, 35, { readValue: 'b', version: 2 }),
      op('read', 'k', 50, 60, { readValue: 'b', version: 2 }),
    ];
    expect(checkRegister(ops)).toEqual({ linearizable: true });
  });

  it('rejects a read after a write that returns the older value, and shrinks it to the pair', () => {
    const ops = [
      op('put', 'k', 0, 10, { value: 'a', version: 1 }),
      op('put', 'k', 20, 30, { value: 'b', version: 2 }),
      op('read', 'k', 40, 50, { readValue: 'a', version: 1 }),
    ];
    expect(checkRegister(ops)).toEqual({ linearizable: false });
    expect(shrinkCounterexample(ops).map((o) => o.id)).toEqual([ops[1].id, ops[2].id]);
  });

  it('rejects a non-linearizable pair: an acknowledged put, then a read that finds the key absent', () => {
    const ops = [op('put', 'k', 0, 10, { value: 'a', version: 1 }), op('read', 'k', 20, 30)];
    expect(checkRegister(ops).linearizable).toBe(false);
    expect(shrinkCounterexample(ops)).toHaveLength(2);
  });

  it('treats a timed-out write as maybe applied, at any time after its invocation', () => {
    const put = op('put', 'k', 0, 5000, { value: 'x', outcome: 'info', status: undefined });
    expect(checkRegister([put, op('read', 'k', 100, 110)]).linearizable).toBe(true);
    expect(checkRegister([put, op('read', 'k', 6000, 6010, { readValue: 'x', version: 3 })]).linearizable).toBe(true);
    // Once seen, it cannot be unseen.
    expect(checkRegister([put, op('read', 'k', 100, 110, { readValue: 'x', version: 3 }), op('read', 'k', 200, 210)]).linearizable).toBe(false);
  });

  it('follows conditional writes: a 412 names the current version, a passing ifVersion needs it', () => {
    const ok = [
      op('put', 'k', 0, 10, { value: 'a', version: 4 }),
      op('put', 'k', 20, 30, { value: 'b', ifVersion: 1, status: 412, version: 4 }),
      op('put', 'k', 40, 50, { value: 'c', ifVersion: 4, version: 5 }),
    ];
    expect(checkRegister(ok).linearizable).toBe(true);
    const lostCondition = [ok[0], op('put', 'k', 40, 50, { value: 'c', ifVersion: 0, version: 5 })];
    expect(checkRegister(lostCondition).linearizable).toBe(false);
  });

  it('finishes a long history with concurrent clients quickly (memoization)', () => {
    const ops = [];
    let version = 0;
    for (let t = 0; t < 3000; t += 10) {
      version++;
      ops.push(op('put', 'k', t, t + 15, { value: `v${version}`, version }));
      ops.push(op('read', 'k', t + 1, t + 14, { readValue: `v${version}`, version }));
      ops.push(op('put', 'k', t + 2, t + 200_000, { value: `lost${version}`, outcome: 'info', status: undefined }));
    }
    const started = Date.now();
    expect(checkRegister(ops).linearizable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('checkHistory', () => {
  it('finds nothing in a correct history', () => {
    const ops = [
      op('put', 'k', 0, 10, { value: 'a', version: 1, w: 3 }),
      op('read', 'k', 11, 15, { node: 'f1', client: 1, readValue: 'a', version: 1 }),
      op('delete', 'k', 20, 30, { version: 2, w: 3 }),
      op('read', 'k', 40, 45, { node: 'f1', client: 1 }),
      op('put', 'j', 50, 60, { value: 'b', version: 3, w: 5 }),
      op('delete', 'gone', 70, 80, { status: 404 }),
    ];
    const result = checkHistory(history(ops), converged([{ key: 'j', value: 'b', version: 3 }]));
    expect(result.anomalies).toEqual([]);
    expect(result.linearizability.keys).toBe(3);
  });

  it('reports a lost write: acknowledged, then not on the leader at the end', () => {
    const ops = [op('put', 'k', 0, 10, { value: 'a', version: 1, w: 2 }), op('put', 'j', 20, 30, { value: 'b', version: 2, w: 2 })];
    const result = checkHistory(history(ops), converged([{ key: 'j', value: 'b', version: 2 }]));
    expect(kinds(result)).toEqual(['acknowledged-writes/lost-write']);
    expect(result.anomalies[0].history[0]).toContain('put k "a"');
  });

  it('reports a write acknowledged with w=3 that the probe right after found on fewer followers', () => {
    const write = op('put', 'k', 0, 10, { value: 'a', version: 1, w: 3 });
    const probes = ['f1', 'f2', 'f3'].map((f) => op('read', 'k', 11, 12, { node: f, probeOf: write.id, readValue: 'old', version: 0 }));
    const final = converged([{ key: 'k', value: 'a', version: 1 }]);
    expect(kinds(checkHistory(history([write, ...probes]), final))).toEqual(['acknowledged-writes/acknowledged-without-quorum']);
    // Not when one of them lost its data in between (restarted in memory).
    const kill = { kind: 'kill' as const, target: 'f1', startMs: 5, endMs: 8, lostData: true };
    expect(kinds(checkHistory(history([write, ...probes], [kill]), final))).toEqual([]);
  });

  it('reports a stale read: one client sees a follower go back in version', () => {
    const ops = [
      op('put', 'k', 0, 10, { value: 'a', version: 1 }),
      op('put', 'k', 20, 30, { value: 'b', version: 2 }),
      op('read', 'k', 40, 45, { node: 'f2', client: 7, readValue: 'b', version: 2 }),
      op('read', 'k', 50, 55, { node: 'f2', client: 7, readValue: 'a', version: 1 }),
    ];
    const result = checkHistory(history(ops), converged([{ key: 'k', value: 'b', version: 2 }]));
    expect(kinds(result)).toEqual(['monotonic-reads/stale-read']);
    expect(result.anomalies[0].history).toHaveLength(2);
  });

  it('reports a resurrected delete: on a follower read, on the leader, and in the final listings', () => {
    const ops = [
      op('put', 'k', 0, 10, { value: 'a', version: 1 }),
      op('delete', 'k', 20, 30, { version: 2 }),
      op('read', 'k', 40, 45, { node: 'f3', client: 2 }),
      op('read', 'k', 50, 55, { node: 'f3', client: 2, readValue: 'a', version: 1 }),
      op('read', 'k', 60, 65, { readValue: 'a', version: 1 }),
    ];
    const final = { ...converged([]), convergedAfterMs: null, followers: { ...converged([]).followers, f3: [{ key: 'k', value: 'a', version: 1 }] } };
    const result = checkHistory(history(ops), final);
    expect(kinds(result).sort()).toEqual(['convergence/resurrected-delete', 'linearizability/not-linearizable', 'monotonic-reads/resurrected-delete']);
    const leaderPiece = result.anomalies.find((a) => a.check === 'linearizability')?.history ?? [];
    expect(leaderPiece).toHaveLength(2);
    expect(leaderPiece[0]).toContain('delete k');
  });

  it('takes a follower\'s 404 for a delete only once the follower held it (X-Applied-Version at or above it)', () => {
    const reads = (appliedAt404: number) => [
      op('put', 'k', 0, 10, { value: 'a', version: 1 }),
      op('delete', 'k', 20, 30, { version: 2 }),
      // The put has not reached f3 yet: absent, at applied version 0.
      op('read', 'k', 40, 45, { node: 'f3', client: 2, appliedVersion: appliedAt404 }),
      op('read', 'k', 50, 55, { node: 'f3', client: 2, readValue: 'a', version: 1, appliedVersion: 1 }),
    ];
    const final = converged([]);
    expect(kinds(checkHistory(history(reads(0)), final)).filter((k) => k.startsWith('monotonic'))).toEqual([]);
    expect(kinds(checkHistory(history(reads(2)), final)).filter((k) => k.startsWith('monotonic'))).toEqual(['monotonic-reads/resurrected-delete']);
  });

  it('reports a follower that does not converge, naming missing keys', () => {
    const ops = [op('put', 'k', 0, 10, { value: 'a', version: 1, w: 1 })];
    const final = { ...converged([{ key: 'k', value: 'a', version: 1 }]), convergedAfterMs: null };
    final.followers.f4 = [];
    const result = checkHistory(history(ops), final);
    expect(kinds(result)).toEqual(['convergence/missing-keys']);
    expect(result.anomalies[0].node).toBe('f4');
  });

  it('reports duplicate versions and versions that go back in real time', () => {
    const ops = [
      op('put', 'a', 0, 10, { value: 1, version: 5 }),
      op('put', 'b', 20, 30, { value: 2, version: 4 }),
      op('put', 'c', 40, 50, { value: 3, version: 4, status: 503, outcome: 'info' }),
    ];
    const final = converged([
      { key: 'a', value: 1, version: 5 },
      { key: 'b', value: 2, version: 4 },
      { key: 'c', value: 3, version: 4 },
    ]);
    expect(kinds(checkHistory(history(ops), final))).toEqual(['versions/duplicate-version', 'versions/version-went-back', 'versions/version-went-back']);
  });
});

describe('pruning maybe-applied writes', () => {
  it('keeps a 503 put that explains why a second delete found the key present', () => {
    const ops = [
      op('delete', 'k', 0, 10, { version: 5 }),
      op('put', 'k', 20, 25, { value: 'x', version: 6, status: 503, outcome: 'info' }),
      op('delete', 'k', 30, 40, { version: 7 }),
    ];
    const result = checkHistory(history([op('put', 'k', -20, -10, { value: 'a', version: 4 }), ...ops]), converged([]));
    expect(result.anomalies).toEqual([]);
  });

  it('orders writes by version: a read cannot see a lower-versioned write after a higher one took effect', () => {
    const ops = [
      op('put', 'k', 0, 100, { value: 'a', version: 1 }),
      op('put', 'k', 0, 100, { value: 'b', version: 2 }),
      op('read', 'k', 110, 120, { readValue: 'a', version: 1 }),
    ];
    expect(checkRegister(ops).linearizable).toBe(false);
  });
});

describe('linearizability across leader restarts', () => {
  const lostAcrossRestart = () => [
    op('put', 'k', 0, 10, { value: 'a', version: 1 }),
    // An unacknowledged put the leader applied (a 412 names its version), then the leader dies.
    op('put', 'k', 20, null, { value: 'b', version: undefined, outcome: 'info', status: undefined }),
    op('delete', 'k', 25, 30, { ifVersion: 1, status: 412, version: 2 }),
    // After the restart: the put was never acknowledged and is gone.
    op('read', 'k', 100, 110, { readValue: 'a', version: 1 }),
  ];

  it('checks each leader lifetime on its own: a write only observed, never acknowledged, may be lost in a crash', () => {
    const kill = [{ kind: 'kill' as const, target: 'leader', startMs: 50, endMs: 60, lostData: true }];
    const within = checkHistory(history(lostAcrossRestart()), converged([{ key: 'k', value: 'a', version: 1 }]));
    expect(kinds(within)).toContain('linearizability/not-linearizable');
    const across = checkHistory(history(lostAcrossRestart(), kill), converged([{ key: 'k', value: 'a', version: 1 }]));
    expect(kinds(across).filter((k) => k.startsWith('linearizability'))).toEqual([]);
  });

  it('takes a write answered 503 QUORUM_NOT_REACHED as applied on the leader (it names the version kept)', () => {
    const ops = [
      op('put', 'k', 0, 10, { value: 'a', version: 1, status: 503, code: 'QUORUM_NOT_REACHED', outcome: 'info' }),
      op('read', 'k', 20, 30),
    ];
    expect(checkRegister(ops).linearizable).toBe(false);
  });
});
