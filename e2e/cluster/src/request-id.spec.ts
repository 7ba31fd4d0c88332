import { LocalCluster, type NodeProcess } from '@kv/local-cluster';
import { waitFor } from './client';

type LogLine = Record<string, unknown>;

/** The node's pino lines (the ready line and any stray output are not JSON objects we need). */
function logLines(node: NodeProcess): LogLine[] {
  return node.lines.flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return typeof parsed === 'object' && parsed !== null ? [parsed as LogLine] : [];
    } catch {
      return [];
    }
  });
}

/** Whether `version` lies in a `versions` field such as `3-7,9`. */
function inRanges(ranges: unknown, version: number): boolean {
  if (typeof ranges !== 'string' || ranges === '') return false;
  return ranges
    .split(' ')[0]
    .split(',')
    .some((range) => {
      const [from, through = from] = range.split('-').map(Number);
      return version >= from && version <= through;
    });
}

async function putWithId(base: string, key: string, requestId?: string) {
  const res = await fetch(`${base}/kv/${key}?w=2`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
    body: JSON.stringify({ value: key }),
  });
  return { status: res.status, id: res.headers.get('x-request-id'), body: (await res.json()) as { version: number } };
}

describe('a request id followed across nodes (LOG_LEVEL=debug)', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ followers: 2, env: { LOG_LEVEL: 'debug', CLUSTER_TOKEN: 'trace-token' }, leaderEnv: { WRITE_QUORUM: '2' } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** The follower's replication line that applied `version`, once it is there. */
  async function replicatedLine(follower: NodeProcess, version: number): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(
      async () => (found = logLines(follower).find((l) => l.msg === 'replicated' && inRanges(l.applied, version))) !== undefined,
      3000,
      () => `${follower.name} has no replicated line for version ${version}`,
    );
    return found as LogLine;
  }

  it.each([
    ['the client’s X-Request-Id', 'client-trace-1'],
    ['a generated id', undefined],
  ])('ties %s to the version it wrote and to each follower’s replication line', async (_name, given) => {
    const res = await putWithId(cluster.leader.url, `traced-${given ?? 'generated'}`, given);
    expect(res.status).toBe(200);
    const requestId = res.id as string;
    if (given) expect(requestId).toBe(given);
    else expect(requestId).toMatch(/^[0-9a-f-]{36}$/);

    // Leader: one debug line for the write, naming its id and version (it reaches us through a pipe).
    const writes = () => logLines(cluster.leader).filter((l) => l.msg === 'request' && l.requestId === requestId);
    await waitFor(async () => writes().length > 0, 2000, () => `no leader line for ${requestId}`);
    expect(writes()).toEqual([expect.objectContaining({ level: 20, node: 'leader', method: 'PUT', status: 200, version: res.body.version })]);

    for (const follower of cluster.followers) {
      // Follower: the replication request that applied that version, under the leader's id for it ...
      const replicated = await replicatedLine(follower, res.body.version);
      expect(replicated).toMatchObject({ node: follower.name, level: 20, requestId: expect.stringMatching(/^rep-[0-9a-f]{8}-\d+$/) });
      // ... and a request line under the same id, once (node-kit's for a POST, the stream's for a frame).
      const lines = () => logLines(follower).filter((l) => l.msg === 'request' && l.requestId === replicated.requestId);
      await waitFor(async () => lines().length > 0, 2000, () => `no request line for ${String(replicated.requestId)}`);
      expect(lines()).toEqual([
        expect.objectContaining({ method: 'POST', url: expect.stringMatching(/^\/replicate(\/stream)?$/), status: 200 }),
      ]);
    }
  });

  it('logs a refused replication request at warn with its id', async () => {
    const follower = cluster.followers[0];
    await fetch(`${follower.url}/replicate`, { method: 'POST', headers: { 'x-request-id': 'forged-1', 'content-type': 'application/json' }, body: '{}' });
    await waitFor(
      async () => logLines(follower).some((l) => l.requestId === 'forged-1' && l.level === 40 && l.code === 'UNAUTHORIZED'),
      2000,
      () => 'no warn line for forged-1',
    );
  });
});
