/** `http://h:p/` and `http://h:p` name one node: base URLs are kept without trailing slashes. */
export function normalizeEndpoint(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/**
 * Parses a comma-separated endpoint list (`KV_ENDPOINTS`, `--endpoints`): trimmed, empty
 * items dropped, duplicates removed. Throws when an item is not an http(s) URL or none is left.
 */
export function parseEndpoints(text: string): string[] {
  const endpoints: string[] = [];
  for (const item of text.split(',')) {
    const endpoint = normalizeEndpoint(item);
    if (endpoint === '') continue;
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new Error(`not a URL: ${JSON.stringify(item.trim())}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${JSON.stringify(item.trim())}`);
    if (!endpoints.includes(endpoint)) endpoints.push(endpoint);
  }
  if (endpoints.length === 0) throw new Error('no endpoint given');
  return endpoints;
}

/** `endpoints` starting at `first` (when it is one of them), then the rest in list order. */
export function startingAt(endpoints: readonly string[], first: string | null): string[] {
  const index = first === null ? -1 : endpoints.indexOf(first);
  return index <= 0 ? [...endpoints] : [...endpoints.slice(index), ...endpoints.slice(0, index)];
}
