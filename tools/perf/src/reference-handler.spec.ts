import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLIENT_BODY_LIMIT_BYTES } from '@kv/protocol';
import { referenceServer } from './reference-handler';

describe('the reference server', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = referenceServer({ followers: 5, minDelayMs: 0, maxDelayMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const put = async (path: string, body: string) => {
    const res = await fetch(`${url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers a write as a leader would, with the next version and the quorum asked for', async () => {
    const first = await put('/kv/a%2Fb?w=3', '{"value":1}');
    expect(first).toEqual({ status: 200, body: { key: 'a/b', version: expect.any(Number), acks: 3, quorum: 3 } });
    expect(await put('/kv/a?w=5', '{"value":2}')).toEqual({ status: 200, body: { key: 'a', version: (first.body.version as number) + 1, acks: 5, quorum: 5 } });
    expect(await put('/kv/a', '{"value":2}')).toMatchObject({ status: 200, body: { acks: 0, quorum: 0 } });
    // An empty w= is no w, as the leader drops empty parameters.
    expect(await put('/kv/a?w=', '{"value":2}')).toMatchObject({ status: 200, body: { quorum: 0 } });
  });

  it('refuses bad input with the leader’s codes, changes nothing, and goes on serving', async () => {
    const before = (await put('/kv/v', '{"value":0}')).body.version as number;
    expect(await put('/kv/%ZZ', '{"value":1}')).toEqual({ status: 400, body: { code: 'MALFORMED_URL', error: 'malformed percent-encoding in the URL' } });
    expect(await put('/kv/k', '{"value":')).toEqual({ status: 400, body: { code: 'MALFORMED_JSON', error: 'malformed JSON body' } });
    expect(await put('/kv/', '{"value":1}')).toEqual({ status: 400, body: { code: 'INVALID_KEY', error: 'key must not be empty' } });
    for (const w of ['9', '-5', '2.5', 'x', '1&w=2', '01', '00']) {
      expect(await put(`/kv/k?w=${w}`, '{"value":1}')).toMatchObject({ status: 400, body: { code: 'INVALID_QUERY' } });
    }
    const huge = `{"value":"${'x'.repeat(CLIENT_BODY_LIMIT_BYTES)}"}`;
    expect(await put('/kv/k', huge)).toEqual({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE', error: `request body larger than ${CLIENT_BODY_LIMIT_BYTES} bytes` } });
    expect((await put('/kv/v', '{"value":0}')).body.version).toBe(before + 1);
  });
});
