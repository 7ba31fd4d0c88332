/** Limits the contract (API.md) sets; every node enforces the same numbers. */
export const MAX_KEY_BYTES = 256;
export const MAX_VALUE_BYTES = 1_048_576;
/**
 * The value limit counts the value as JSON.stringify writes it; a client may send it less
 * compactly (Python's json.dumps escapes every non-ASCII character as `\u00e9` and puts a
 * space after each `,` and `:`). Six bytes per byte is the most escaping can take, so any
 * value within MAX_VALUE_BYTES fits, escaped or not, with room for the envelope.
 */
export const CLIENT_BODY_LIMIT_BYTES = 6 * MAX_VALUE_BYTES + 64 * 1024;
/** A batch carries many entries; one entry of the maximum size must always fit. */
export const REPLICATION_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 10_000;
/**
 * A listing page stops before the item that would take its serialized items past this many
 * bytes (at least one item per page): `limit=10000` of 1 MiB values would otherwise build a
 * 10 GB answer. Fewer items than `limit` with `next` set is a page like any other.
 */
export const MAX_LIST_PAGE_BYTES = 8 * 1024 * 1024;
/**
 * Arrays and objects a value may nest, like MongoDB's 100-level limit but roomier. Not in
 * the contract, which is silent on depth: deeper values exhaust the stack of
 * JSON.stringify (about 4,000 levels) when answering a GET, replicating or journaling,
 * and a value no node can serve must not be stored.
 */
export const MAX_VALUE_DEPTH = 512;
/** Versions, epochs and catch-up bounds stay exact integers in JSON and in JavaScript. */
export const MAX_SAFE_VERSION = Number.MAX_SAFE_INTEGER;
