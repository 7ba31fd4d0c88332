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

/** Waits until every given follower lists exactly what the leader lists. */
export async function waitConverged(leader: string, followers: string[], timeoutMs: number): Promise<number> {
  let last = '';
  return waitFor(
    async () => {
      const expected = JSON.stringify(await listAll(leader));
      const actual = await Promise.all(followers.map(async (f) => JSON.stringify(await listAll(f))));
      const differing = followers.filter((_, i) => actual[i] !== expected);
      last = `followers ${differing.join(', ')} differ from the leader`;
      return differing.length === 0;
    },
    timeoutMs,
    () => last,
  );
}
