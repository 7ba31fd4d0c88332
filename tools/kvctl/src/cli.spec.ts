import { FakeNode } from '@kv/client/testing';
import { runCli } from './cli';
import { EXIT } from './exit-codes';

/** Runs kvctl in process against `endpoints`; what it printed and its exit code. */
async function kvctl(endpoints: string, args: string[], stdin = '', env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--endpoints', endpoints, ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readStdin: async () => stdin,
    env,
  });
  return { code, stdout, stderr };
}

describe('kvctl in process', () => {
  let leader: FakeNode;
  let follower: FakeNode;
  let both: string;

  beforeEach(async () => {
    leader = await FakeNode.start({ role: 'leader' });
    follower = await FakeNode.start({ role: 'follower', leaderUrl: leader.url });
    both = `${follower.url},${leader.url}`;
  });

  afterEach(async () => {
    await Promise.all([leader.stop(), follower.stop()]);
  });

  it('puts through a follower (following the hint) and gets the value back', async () => {
    expect(await kvctl(both, ['put', 'hello', 'world', '-w', '2'])).toEqual({ code: 0, stdout: 'version 1 (2 of 2 follower acks)\n', stderr: '' });
    expect(leader.requests.at(-1)?.url).toBe('/kv/hello?w=2');
    expect(await kvctl(leader.url, ['get', 'hello'])).toEqual({ code: 0, stdout: 'world\n', stderr: '' });
    await kvctl(both, ['put', 'n', '42']);
    await kvctl(both, ['put', 's', '42', '--string']);
    await kvctl(both, ['put', 'j', '-', '--json'], '{"a": [1, null]}\n');
    expect(leader.entries.get('n')?.value).toBe(42);
    expect(leader.entries.get('s')?.value).toBe('42');
    expect(leader.entries.get('j')?.value).toEqual({ a: [1, null] });
    expect((await kvctl(leader.url, ['-o', 'json', 'get', 'j'])).stdout).toBe('{"key":"j","value":{"a":[1,null]},"version":4}\n');
  });

  it('exits 2 on bad usage, with one line on stderr', async () => {
    const bad = await kvctl(leader.url, ['put', 'k', 'nope', '--json']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/^kvctl: VALUE is not valid JSON \(--json\).*\n$/);
    expect((await kvctl(leader.url, ['frobnicate'])).code).toBe(EXIT.USAGE);
    expect((await kvctl(leader.url, ['get'])).stderr).toBe("kvctl: missing required argument 'key'\n");
    expect((await kvctl(leader.url, ['-o', 'yaml', 'status'])).code).toBe(EXIT.USAGE);
    expect((await kvctl(leader.url, ['ls', '--limit', 'x'])).stderr).toMatch(/--limit must be an integer/);
    const help = await kvctl(leader.url, ['--help']);
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toContain('4  quorum not reached');
  });

  it('exits 3 when the key is absent, 4 when the quorum fails (naming the version kept), 5 on a version mismatch', async () => {
    expect(await kvctl(leader.url, ['get', 'absent'])).toEqual({ code: 3, stdout: '', stderr: 'kvctl: key "absent" not found\n' });
    expect((await kvctl(leader.url, ['del', 'absent'])).code).toBe(3);
    leader.failQuorum = true;
    const quorum = await kvctl(leader.url, ['put', 'k', 'v', '-w', '5']);
    expect(quorum).toEqual({
      code: 4,
      stdout: '',
      stderr: 'kvctl: quorum not reached for "k": 0 of 5 follower acks; the write stays applied on the leader as version 1 and keeps replicating\n',
    });
    leader.failQuorum = false;
    const mismatch = await kvctl(leader.url, ['put', 'k', 'w', '--if-version', '0']);
    expect([mismatch.code, mismatch.stderr]).toEqual([5, 'kvctl: version mismatch for "k": its current version is 1 (0: absent); nothing was changed\n']);
    expect((await kvctl(leader.url, ['del', 'k', '--if-version', '1'])).code).toBe(0);
  });

  it('exits 6 when no endpoint is reachable', async () => {
    const url = leader.url;
    await leader.stop();
    const result = await kvctl(url, ['--timeout', '500', 'status']);
    expect(result.code).toBe(EXIT.UNREACHABLE);
    expect(result.stderr).toBe(`kvctl: no endpoint reachable: ${url}: cannot connect (ECONNREFUSED)\n`);
    leader = await FakeNode.start({ role: 'leader' });
  });

  it('lists, shows status and health in every output mode', async () => {
    for (const key of ['b', 'a', 'c']) leader.apply(key, key.toUpperCase());
    expect((await kvctl(leader.url, ['ls'])).stdout).toBe('a\t"A"\t2\nb\t"B"\t1\nc\t"C"\t3\n');
    expect((await kvctl(leader.url, ['ls', '--limit', '2', '-o', 'json'])).stdout).toBe(
      '{"items":[{"key":"a","value":"A","version":2},{"key":"b","value":"B","version":1}],"next":"b"}\n',
    );
    expect((await kvctl(leader.url, ['ls', '--prefix', 'c'], '', { KV_OUTPUT: 'table' })).stdout).toMatch(/│ c\s+│ "C"\s+│ 3\s+│/);
    expect((await kvctl(follower.url, ['status'])).stdout).toBe('follower appliedVersion=0 keys=0\n');
    expect((await kvctl(leader.url, ['health', '-o', 'json'])).stdout).toBe('{"status":"ok","role":"leader"}\n');
  });

  it('watches from a version and stops after --count events', async () => {
    leader.apply('w1', 1);
    setTimeout(() => leader.apply('w2', 2), 50);
    expect(await kvctl(leader.url, ['watch', '--prefix', 'w', '--from', '0', '--count', '2'])).toEqual({ code: 0, stdout: '1\tput\tw1\t1\n2\tput\tw2\t2\n', stderr: '' });
  });
});
