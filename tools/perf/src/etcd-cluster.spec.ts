import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { etcdMemberArgs, findEtcd } from './etcd-cluster';

describe('etcd launcher', () => {
  it('gives each member its own data directory and loopback URLs, and names every peer in the initial cluster', () => {
    const ports = [
      { client: 2001, peer: 3001 },
      { client: 2002, peer: 3002 },
    ];
    const args = etcdMemberArgs(1, ports, '/tmp/d/m1', 'tok');
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--name')).toBe('m1');
    expect(flag('--data-dir')).toBe('/tmp/d/m1');
    expect(flag('--listen-client-urls')).toBe('http://127.0.0.1:2002');
    expect(flag('--listen-peer-urls')).toBe('http://127.0.0.1:3002');
    expect(flag('--initial-cluster')).toBe('m0=http://127.0.0.1:3001,m1=http://127.0.0.1:3002');
    expect(flag('--initial-cluster-state')).toBe('new');
  });

  it('finds etcd on PATH or at a given path, and says null when it is not installed', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'etcd-bin-'));
    try {
      const bin = path.join(dir, 'etcd');
      writeFileSync(bin, '#!/bin/sh\n', { mode: 0o755 });
      expect(findEtcd('etcd', `/nonexistent${path.delimiter}${dir}`)).toBe(bin);
      expect(findEtcd(bin, '')).toBe(bin);
      expect(findEtcd('etcd', '/nonexistent')).toBeNull();
      expect(findEtcd(path.join(dir, 'missing'), '')).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
