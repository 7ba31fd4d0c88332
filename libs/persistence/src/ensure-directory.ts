import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Creates `dir` and any missing parents, one level at a time.
 *
 * Not `mkdir(dir, { recursive: true })`: on Node 20 that loops forever inside libuv's
 * thread pool when a parent exists but refuses children with ENOENT (e.g. under /proc),
 * and a node with DATA_DIR=/proc/x would hang at start instead of refusing it.
 */
export async function ensureDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    const found = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (found) {
      if (!found.isDirectory()) throw Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Someone else made it meanwhile: fine, as long as it is a directory. A dangling
      // symlink also answers EEXIST, and stat then says ENOENT.
      const made = await stat(level).catch(() => null);
      if (!made?.isDirectory()) throw Object.assign(new Error(`${level} exists but is not a directory (a dangling symlink?)`), { code: 'ENOTDIR' });
    }
  }
}
