import { crc32 } from 'node:zlib';

/**
 * A record on disk: [payload length u32 LE][CRC-32 of payload u32 LE][payload].
 * The checksum is what tells a torn or damaged record from a complete one.
 */
export const HEADER_BYTES = 8;
/** Larger lengths can only be damage: no record we write comes near it. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function encodeRecord(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
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

/** Decodes records from the start of `buffer` until the first one that is incomplete or corrupt. */
export function decodeRecords(buffer: Buffer): DecodedRecords {
  const payloads: unknown[] = [];
  let offset = 0;
  let problem: string | null = null;
  while (offset < buffer.length) {
    if (buffer.length - offset < HEADER_BYTES) {
      problem = 'incomplete record header';
      break;
    }
    const length = buffer.readUInt32LE(offset);
    const checksum = buffer.readUInt32LE(offset + 4);
    if (length > MAX_RECORD_BYTES) {
      problem = `impossible record length ${length}`;
      break;
    }
    const end = offset + HEADER_BYTES + length;
    if (end > buffer.length) {
      problem = `incomplete record: ${buffer.length - offset - HEADER_BYTES} of ${length} bytes`;
      break;
    }
    const body = buffer.subarray(offset + HEADER_BYTES, end);
    if (crc32(body) !== checksum) {
      problem = 'checksum mismatch';
      break;
    }
    try {
      payloads.push(JSON.parse(body.toString('utf8')));
    } catch {
      problem = 'record is not JSON';
      break;
    }
    offset = end;
  }
  return { payloads, validBytes: offset, invalidBytes: buffer.length - offset, problem };
}
