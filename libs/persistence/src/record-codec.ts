import { crc32 } from 'node:zlib';

/**
 * A record on disk: [payload length u32 LE][CRC-32 of payload u32 LE][payload].
 * The checksum is what tells a torn or damaged record from a complete one.
 */
export const HEADER_BYTES = 8;
/** Larger lengths can only be damage: no record we write comes near it. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function encodeRecord(payload: unknown): Buffer {
  return encodeJsonRecord(JSON.stringify(payload));
}

/** A record whose payload is `json`, JSON text the caller built (say, from parts it measured). */
export function encodeJsonRecord(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const record = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  record.writeUInt32LE(body.length, 0);
  record.writeUInt32LE(crc32(body), 4);
  body.copy(record, HEADER_BYTES);
  return record;
}

export interface DecodedRecords {
  readonly payloads: unknown[];
  /** Bytes up to the end of the last intact record. */
  readonly validBytes: number;
  /** Bytes after it that do not form an intact record (a torn write, or damage). */
  readonly invalidBytes: number;
  /** Why decoding stopped early, when it did. */
  readonly problem: string | null;
}

/** The problem of a record that is whole (its checksum matches) yet unreadable: never a torn write. */
export const NOT_JSON = 'record is not JSON';

type ReadResult = { readonly payload: unknown; readonly end: number } | { readonly problem: string };

/** Reads the record starting at byte `offset` of `buffer`; never throws. */
function readRecordAt(buffer: Buffer, offset: number): ReadResult {
  if (buffer.length - offset < HEADER_BYTES) return { problem: 'incomplete record header' };
  const length = buffer.readUInt32LE(offset);
  // We never write an empty payload; zeros are what a file extended but never written holds.
  if (length === 0) return { problem: 'empty record (zeros)' };
  if (length > MAX_RECORD_BYTES) return { problem: `impossible record length ${length}` };
  const end = offset + HEADER_BYTES + length;
  if (end > buffer.length) return { problem: `incomplete record: ${buffer.length - offset - HEADER_BYTES} of ${length} bytes` };
  const body = buffer.subarray(offset + HEADER_BYTES, end);
  if (crc32(body) !== buffer.readUInt32LE(offset + 4)) return { problem: 'checksum mismatch' };
  try {
    return { payload: JSON.parse(body.toString('utf8')), end };
  } catch {
    return { problem: NOT_JSON };
  }
}

/** Decodes records from the start of `buffer` until the first one that is incomplete or corrupt. */
export function decodeRecords(buffer: Buffer): DecodedRecords {
  const payloads: unknown[] = [];
  let offset = 0;
  let problem: string | null = null;
  while (offset < buffer.length) {
    const read = readRecordAt(buffer, offset);
    if ('problem' in read) {
      problem = read.problem;
      break;
    }
    payloads.push(read.payload);
    offset = read.end;
  }
  return { payloads, validBytes: offset, invalidBytes: buffer.length - offset, problem };
}

/**
 * The first offset at or after byte `from` where an intact record starts (a length that
 * fits, a matching CRC-32 and a JSON payload), or null when there is none: what tells
 * damage in the middle of a log (intact records follow it) from a torn tail (nothing does).
 *
 * Scans byte by byte. A false match on garbage or on the inside of a record needs a CRC-32
 * to match by chance (about 2^-32 per offset) and the bytes to parse as JSON. Most offsets
 * are rejected by their length field before any checksum is computed: JSON text has no
 * byte below 0x20, so four bytes of it read as a length above MAX_RECORD_BYTES.
 */
export function findIntactRecord(buffer: Buffer, from: number): number | null {
  for (let offset = from; offset + HEADER_BYTES < buffer.length; offset++) {
    const length = buffer.readUInt32LE(offset);
    if (length === 0 || length > MAX_RECORD_BYTES || offset + HEADER_BYTES + length > buffer.length) continue;
    if (!('problem' in readRecordAt(buffer, offset))) return offset;
  }
  return null;
}
