/** Limits the contract (API.md) sets; every node enforces the same numbers. */
export const MAX_KEY_BYTES = 256;
export const MAX_VALUE_BYTES = 1_048_576;
/** Room for the `{"value": ...}` envelope and any whitespace a client puts around it. */
export const CLIENT_BODY_LIMIT_BYTES = MAX_VALUE_BYTES + 64 * 1024;
/** A batch carries many entries; one entry of the maximum size must always fit. */
export const REPLICATION_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 10_000;
