/** A small typed client for the contract's HTTP API, used by the e2e tests. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function call<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<Answer<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export interface Item {
  key: string;
  value: unknown;
  version: number;
}

export const put = (base: string, key: string, value: unknown, w?: number) =>
  call('PUT', `${base}/kv/${encodeURIComponent(key)}${w === undefined ? '' : `?w=${w}`}`, { value });
export const del = (base: string, key: string, w?: number) =>
  call('DELETE', `${base}/kv/${encodeURIComponent(key)}${w === undefined ? '' : `?w=${w}`}`);
export const get = (base: string, key: string) => call<Item & { error?: string }>('GET', `${base}/kv/${encodeURIComponent(key)}`);
export const status = (base: string) => call<Record<string, unknown>>('GET', `${base}/status`);

/** Every live item of a node, following `next` page by page. */
export async function listAll(base: string): Promise<Item[]> {
  const items: Item[] = [];
  let after: string | null = null;
  do {
    const query: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
    const page = await call<{ items: Item[]; next: string | null }>('GET', `${base}/kv?limit=10000${query}`);
    items.push(...page.body.items);
    after = page.body.next;
  } while (after !== null);
  return items;
}

/** Polls `check` until it returns true; fails with `describe()` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string> | string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within ${timeoutMs} ms: ${await describe()}`);
}

/** A key on which a follower's listing differs from the leader's; null where a node does not list it. */
export interface ItemDifference {
  readonly key: string;
  readonly leader: Item | null;
  readonly follower: Item | null;
}

/** Every key whose entry (value and version) differs between two listings, in key order. */
export function differingItems(leader: readonly Item[], follower: readonly Item[]): ItemDifference[] {
  const theirs = new Map(follower.map((item) => [item.key, item]));
  const differences: ItemDifference[] = [];
  for (const item of leader) {
    const other = theirs.get(item.key) ?? null;
    theirs.delete(item.key);
    if (other === null || JSON.stringify(other) !== JSON.stringify(item)) differences.push({ key: item.key, leader: item, follower: other });
  }
  for (const other of theirs.values()) differences.push({ key: other.key, leader: null, follower: other });
  return differences.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface ConvergenceOptions {
  /** Appended to the failure message: what the nodes said about themselves (statuses), to find the cause. */
  readonly diagnose?: () => Promise<string>;
  /** Differing keys shown per follower on failure. */
  readonly shownKeys?: number;
}

/**
 * Waits until every given follower lists exactly what the leader lists. On timeout, the
 * message names each differing follower with its differing keys (leader's and follower's entry).
 */
export async function waitConverged(leader: string, followers: string[], timeoutMs: number, options: ConvergenceOptions = {}): Promise<number> {
  let last: Array<{ follower: string; differences: ItemDifference[] }> = [];
  return waitFor(
    async () => {
      const expected = await listAll(leader);
      const actual = await Promise.all(followers.map((f) => listAll(f)));
      last = followers.map((follower, i) => ({ follower, differences: differingItems(expected, actual[i]) })).filter((d) => d.differences.length > 0);
      return last.length === 0;
    },
    timeoutMs,
    async () => {
      const shown = options.shownKeys ?? 20;
      const lines = [`followers ${last.map((d) => d.follower).join(', ')} differ from the leader`];
      for (const { follower, differences } of last) {
        lines.push(`${follower}: ${differences.length} differing keys${differences.length > shown ? ` (first ${shown})` : ''}`);
        for (const d of differences.slice(0, shown)) lines.push(`  ${d.key}: leader ${JSON.stringify(d.leader)} follower ${JSON.stringify(d.follower)}`);
      }
      if (options.diagnose) lines.push(await options.diagnose());
      return lines.join('\n');
    },
  );
}

/**
 * Waits until every follower's `appliedVersion` is the leader's `version` and the leader
 * shows each of them `up` with lag 0: equal listings alone can hide a follower that
 * missed a write whose key was written again later (its applied version then stays behind
 * for good).
 */
export async function waitCaughtUp(leader: string, followers: string[], timeoutMs: number, options: ConvergenceOptions = {}): Promise<number> {
  let last = '';
  return waitFor(
    async () => {
      const leaderStatus = (await status(leader)).body as { version: number; followers: Array<{ url: string; lag: number; state: string }> };
      const applied = await Promise.all(followers.map(async (f) => ((await status(f)).body as { appliedVersion: number }).appliedVersion));
      const behind = followers.map((f, i) => ({ f, at: applied[i] })).filter(({ at }) => at !== leaderStatus.version).map(({ f, at }) => `${f} at ${at}`);
      const rows = leaderStatus.followers.filter((row) => row.lag !== 0 || row.state !== 'up').map((row) => `${row.url} ${row.state} lag ${row.lag}`);
      last = `leader at version ${leaderStatus.version}; followers behind: ${behind.join(', ') || 'none'}; leader sees: ${rows.join(', ') || 'all up, lag 0'}`;
      return behind.length === 0 && rows.length === 0;
    },
    timeoutMs,
    async () => [last, ...(options.diagnose ? [await options.diagnose()] : [])].join('\n'),
  );
}
