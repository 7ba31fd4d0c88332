import { open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import path from 'node:path';

/** The newest `log.N` in a DATA_DIR, or null. */
export async function newestLog(dataDir: string): Promise<string | null> {
  const logs = (await readdir(dataDir).catch(() => [] as string[]))
    .map((f) => /^log\.(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  return logs.length === 0 ? null : path.join(dataDir, logs[logs.length - 1][0]);
}

/**
 * A torn write: cuts the last record of the newest log ([u32 LE length][u32 LE CRC-32][JSON])
 * in the middle of its payload, as a crash during the write would. Returns what was cut,
 * or null when there was no complete record to tear.
 */
export async function tearLastRecord(dataDir: string): Promise<string | null> {
  const file = await newestLog(dataDir);
  if (file === null) return null;
  const bytes = await readFile(file);
  let offset = 0;
  let last = -1;
  while (offset + 8 <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    if (offset + 8 + length > bytes.length) break;
    last = offset;
    offset += 8 + length;
  }
  if (last < 0) return null;
  const length = bytes.readUInt32LE(last);
  const keep = last + 8 + Math.floor(length / 2);
  await truncate(file, keep);
  // Make the cut durable before the node reads it again.
  const handle = await open(file, 'r+');
  await handle.sync();
  await handle.close();
  return `${path.basename(file)}: record at byte ${last} cut to ${keep - last} of ${8 + length} bytes`;
}

export async function wipe(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}
