export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A key's current value and the version of the write that produced it. */
export interface LiveEntry {
  readonly key: string;
  readonly version: number;
  readonly deleted: false;
  readonly value: JsonValue;
}

/**
 * What a delete leaves behind. Kept so that an older write arriving after the delete
 * (replication messages reorder) cannot bring the key back.
 */
export interface Tombstone {
  readonly key: string;
  readonly version: number;
  readonly deleted: true;
}

export type Entry = LiveEntry | Tombstone;

export function isLive(entry: Entry | undefined): entry is LiveEntry {
  return entry !== undefined && !entry.deleted;
}
