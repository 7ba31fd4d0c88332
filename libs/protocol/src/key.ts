import { MAX_KEY_BYTES } from './limits';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `key` is not a valid key, or null when it is one. */
export function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'key must be a string';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < 1 || bytes > MAX_KEY_BYTES) return `key must be 1 to ${MAX_KEY_BYTES} bytes of UTF-8 (got ${bytes})`;
  if (LONE_SURROGATE.test(key)) return 'key must be valid UTF-8 (it holds a lone surrogate)';
  return null;
}
