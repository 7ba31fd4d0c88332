/**
 * Why `value`, parsed from JSON, cannot be stored as it came, or null when it can:
 * - it nests arrays and objects more than `maxDepth` levels deep (`[]` is one level, a
 *   scalar none), which would cost every node's parser and serializer stack;
 * - it holds a number that is not finite: `JSON.parse` turns a literal like `1e400` into
 *   Infinity, which `JSON.stringify` would silently write back as `null`.
 * Iterative, so a hostile value cannot exhaust the stack here, and it stops at the first
 * problem. One walk for both: it runs over every element of a value on the write path.
 */
export function jsonValueProblem(value: unknown, maxDepth: number): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : NOT_FINITE;
  if (typeof value !== 'object' || value === null) return null;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const node = pending.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) return `nests arrays and objects more than ${maxDepth} levels deep`;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (typeof child === 'object' && child !== null) {
        pending.push(child);
        depths.push(depth + 1);
      } else if (typeof child === 'number' && !Number.isFinite(child)) {
        return NOT_FINITE;
      }
    }
  }
  return null;
}

const NOT_FINITE = 'holds a number too large for a double (such as 1e400), which JSON cannot carry';
