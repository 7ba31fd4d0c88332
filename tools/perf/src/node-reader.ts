import http from 'node:http';

/** What one node answered for one key, reduced to what must agree across nodes. */
export type KeyRead =
  | { readonly kind: 'value'; readonly version: number; readonly value: string }
  | { readonly kind: 'absent' }
  | { readonly kind: 'error'; readonly reason: string };

/** Two reads agree when both hold the same version with the same value, or both lack the key. */
export function sameRead(a: KeyRead, b: KeyRead): boolean {
  if (a.kind === 'error' || b.kind === 'error') return false;
  if (a.kind === 'absent' || b.kind === 'absent') return a.kind === b.kind;
  return a.version === b.version && a.value === b.value;
}

/**
 * `GET /kv/:key` on one node, on a keep-alive connection; never rejects, an error is a read too.
 * Raw `http`, not @kv/client: the client read about half as fast (1.9k against 3.6-4.3k GETs/s,
 * measured 2026-11-30), which would add to the convergence time this check reports.
 */
export function readKey(agent: http.Agent, baseUrl: string, key: string, timeoutMs: number): Promise<KeyRead> {
  return new Promise((resolve) => {
    const url = new URL(`/kv/${encodeURIComponent(key)}`, baseUrl);
    const request = http.get(url, { agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => resolve({ kind: 'error', reason: error.message }));
      response.on('end', () => {
        if (response.statusCode === 404) return resolve({ kind: 'absent' });
        if (response.statusCode !== 200) return resolve({ kind: 'error', reason: `HTTP ${response.statusCode}` });
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: unknown; value?: unknown };
          if (typeof body.version !== 'number') return resolve({ kind: 'error', reason: 'answer without a version' });
          // The value is compared as JSON text: the storm writes strings, so key order cannot differ.
          resolve({ kind: 'value', version: body.version, value: JSON.stringify(body.value) });
        } catch {
          resolve({ kind: 'error', reason: 'answer is not JSON' });
        }
      });
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ kind: 'error', reason: error.message }));
  });
}
