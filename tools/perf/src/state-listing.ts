import { createHash } from 'node:crypto';
import type { KvClient } from '@kv/client';

/** One key of a node's listing, reduced to what must survive a recovery: its version and a digest of its value. */
export interface ListedKey {
  readonly version: number;
  /** SHA-1 of the value's JSON text, so a 1 MiB value costs 20 bytes to remember. */
  readonly digest: string;
}

export type Listing = ReadonlyMap<string, ListedKey>;

/** Differences between two listings, each capped at a few examples; `count` is the total. */
export interface ListingDiff {
  readonly count: number;
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  readonly changed: ReadonlyArray<{ readonly key: string; readonly expected: ListedKey; readonly actual: ListedKey }>;
}

const EXAMPLES = 5;

export function digestOf(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('hex');
}

/** Every key of one node (`GET /kv` page after page from that node only), with its version and value digest. */
export async function listingOf(client: KvClient, endpoint: string, pageSize: number): Promise<Map<string, ListedKey>> {
  const listing = new Map<string, ListedKey>();
  for await (const item of client.list({ endpoint, pageSize })) listing.set(item.key, { version: item.version, digest: digestOf(item.value) });
  return listing;
}

/** What `actual` lacks, holds beyond, or holds differently from `expected` (versions and values alike). */
export function compareListings(expected: Listing, actual: Listing): ListingDiff {
  const missing: string[] = [];
  const extra: string[] = [];
  const changed: Array<{ key: string; expected: ListedKey; actual: ListedKey }> = [];
  let count = 0;
  for (const [key, want] of expected) {
    const have = actual.get(key);
    if (!have) {
      count++;
      if (missing.length < EXAMPLES) missing.push(key);
    } else if (have.version !== want.version || have.digest !== want.digest) {
      count++;
      if (changed.length < EXAMPLES) changed.push({ key, expected: want, actual: have });
    }
  }
  for (const key of actual.keys()) {
    if (expected.has(key)) continue;
    count++;
    if (extra.length < EXAMPLES) extra.push(key);
  }
  return { count, missing, extra, changed };
}

/** One line for an error message: how many keys differ and a few of them. */
export function describeDiff(diff: ListingDiff): string {
  const parts = [
    diff.missing.length > 0 ? `missing ${diff.missing.join(', ')}` : '',
    diff.extra.length > 0 ? `extra ${diff.extra.join(', ')}` : '',
    diff.changed.length > 0 ? `changed ${diff.changed.map((c) => `${c.key} (v${c.expected.version} -> v${c.actual.version})`).join(', ')}` : '',
  ].filter((part) => part !== '');
  return `${diff.count} keys differ: ${parts.join('; ')}`;
}
