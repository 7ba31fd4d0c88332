import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCluster, type NodeProcess } from '@kv/local-cluster';
import { put } from './client';

/** Where the record holding byte `position` of a log starts (records: u32 length, u32 CRC, payload). */
function recordStart(log: Buffer, position: number): number {
  let offset = 0;
  while (position >= offset + 8 + log.readUInt32LE(offset)) offset += 8 + log.readUInt32LE(offset);
  return offset;
}

/** Flips one bit inside the record that holds `key`; returns where that record starts and the bytes now on disk. */
async function flipBitInRecordOf(file: string, key: string): Promise<{ start: number; damaged: Buffer }> {
  const bytes = await readFile(file);
  const at = bytes.indexOf(`"key":"${key}"`);
  expect(at).toBeGreaterThan(0);
  bytes[at + 8] ^= 0x01;
  await writeFile(file, bytes);
  return { start: recordStart(bytes, at), damaged: bytes };
}

/** Restarts `node`, expecting it to refuse: returns its exit code and the lines it printed this time. */
async function refusedStart(node: NodeProcess): Promise<{ code: number | null; lines: string[] }> {
  const seen = node.lineCount;
  await expect(node.start()).rejects.toThrow(/exited with code 1 before it was ready/);
  return { code: await node.waitExit(), lines: node.linesSince(seen) };
}

describe('DATA_DIR: damage in the middle of a log stops the node, never cut as a torn tail', () => {
  let dataRoot: string;
  let cluster: LocalCluster | undefined;

  beforeEach(async () => {
    dataRoot = await mkdtemp(path.join(tmpdir(), 'kv-damage-'));
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await rm(dataRoot, { recursive: true, force: true });
  });

  it.each([['leader'], ['follower']])('a %s with a flipped bit in an acknowledged record followed by others exits 1 naming log.1 and the offset, leaving the file as it was', async (role) => {
    cluster = await LocalCluster.start({ dataRoot, leaderEnv: { WRITE_QUORUM: '5' } });
    for (let i = 0; i < 10; i++) expect(await put(cluster.leader.url, `c${i}`, i, 5)).toMatchObject({ status: 200 });
    const victim = role === 'leader' ? cluster.leader : cluster.followers[0];
    expect(await victim.stop()).toBe(0);
    const log = path.join(dataRoot, victim.name, 'log.1');
    const { start, damaged } = await flipBitInRecordOf(log, 'c3');

    const { code, lines } = await refusedStart(victim);
    expect(code).toBe(1);
    const refusals = lines.filter((l) => l.includes('cannot start'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain(`${log} is damaged at byte ${start} (checksum mismatch); intact records follow from byte`);
    expect(lines.some((l) => l.includes('dropped a torn tail'))).toBe(false);
    expect(await readFile(log)).toEqual(damaged);
  });
});
