import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loopbackClientUrls } from './etcd-cluster';
import { rawServer, trickleForever } from './testing/loopback-servers';
import { EtcdWatchCounter, etcdPrefixRangeEnd, etcdWatchMember, etcdWatchRequest, NeedleCounter, openEtcdWatchers } from './etcd-watchers';

const b64 = (bytes: number[] | string) => Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Uint8Array.from(bytes)).toString('base64');

describe('etcdWatchRequest', () => {
  it('watches a prefix as the range [prefix, prefix with its last byte + 1)', () => {
    expect(etcdWatchRequest('perf-')).toEqual({ create_request: { key: b64('perf-'), range_end: b64('perf.') } });
    expect(etcdWatchRequest('perf-1')).toEqual({ create_request: { key: b64('perf-1'), range_end: b64('perf-2') } });
    // UTF-8 bytes, not characters: é is C3 A9.
    expect(etcdWatchRequest('é')).toEqual({ create_request: { key: b64([0xc3, 0xa9]), range_end: b64([0xc3, 0xaa]) } });
  });

  it('carries past trailing 0xff bytes: they are dropped and the byte before them raised', () => {
    expect(etcdWatchRequest(Uint8Array.from([0x61, 0xff]))).toEqual({ create_request: { key: b64([0x61, 0xff]), range_end: b64([0x62]) } });
    expect(etcdWatchRequest(Uint8Array.from([0x61, 0x00, 0xff, 0xff]))).toEqual({ create_request: { key: b64([0x61, 0x00, 0xff, 0xff]), range_end: b64([0x61, 0x01]) } });
    expect(etcdPrefixRangeEnd(Uint8Array.from([0xfe, 0xff]))).toEqual(Uint8Array.from([0xff]));
  });

  it('watches every key from the prefix on (range_end \\0) when every byte is 0xff', () => {
    expect(etcdWatchRequest(Uint8Array.from([0xff, 0xff]))).toEqual({ create_request: { key: b64([0xff, 0xff]), range_end: b64([0]) } });
  });

  it('watches the whole keyspace for the empty prefix: key \\0, range_end \\0', () => {
    expect(etcdWatchRequest('')).toEqual({ create_request: { key: 'AA==', range_end: 'AA==' } });
    expect(etcdWatchRequest(new Uint8Array(0))).toEqual({ create_request: { key: 'AA==', range_end: 'AA==' } });
  });

  it('does not change the prefix it is given', () => {
    const prefix = Uint8Array.from([0x61, 0x62]);
    etcdPrefixRangeEnd(prefix);
    expect(prefix).toEqual(Uint8Array.from([0x61, 0x62]));
  });
});

describe('NeedleCounter', () => {
  const count = (needle: string, chunks: string[]) => {
    const counter = new NeedleCounter(needle);
    return chunks.reduce((n, chunk) => n + counter.push(chunk), 0);
  };

  it('counts every occurrence once, whatever the split', () => {
    const text = 'xx"kv":"kv":y"kv"z"kv":';
    expect(count('"kv":', [text])).toBe(3);
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) expect([i, j, count('"kv":', [text.slice(0, i), text.slice(i, j), text.slice(j)])]).toEqual([i, j, 3]);
    }
    expect(count('"kv":', [...text])).toBe(3);
  });

  it('counts occurrences that do not overlap, as indexOf finds them', () => {
    expect(count('aa', ['aaaa'])).toBe(2);
    expect(count('aa', ['a', 'a', 'a', 'a'])).toBe(2);
  });
});

describe('EtcdWatchCounter', () => {
  // What an etcd 3.4 gateway wrote (checked against etcd 3.4.23), plus a response with two
  // events, a delete, an event with prev_kv, a cancellation whose reason quotes "kv": and an error.
  const header = '"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"5","raft_term":"2"}';
  const stream =
    `{"result":{${header},"created":true}}\n` +
    `{"result":{${header},"events":[{"kv":{"key":"cGVyZi0x","create_revision":"2","mod_revision":"2","version":"1","value":"djE="}}]}}\n` +
    `{"result":{${header},"events":[{"kv":{"key":"cGVyZi03","mod_revision":"5","version":"1","value":"eA=="}},{"kv":{"key":"cGVyZi04","mod_revision":"5","version":"1","value":"eA=="}}]}}\n` +
    `{"result":{${header},"events":[{"type":"DELETE","kv":{"key":"cGVyZi0x","mod_revision":"6"}}]}}\n` +
    `{"result":{${header},"events":[{"kv":{"key":"cGVyZi0x","mod_revision":"7","value":"eQ=="},"prev_kv":{"key":"cGVyZi0x","mod_revision":"2","value":"djE="}}]}}\n` +
    `{"result":{${header},"canceled":true,"cancel_reason":"no \\"kv\\": here"}}\n` +
    `{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}\n`;
  const totals = (chunks: string[]) => {
    const counter = new EtcdWatchCounter();
    const sum = { events: 0, created: 0, ended: 0 };
    for (const chunk of chunks) {
      const seen = counter.push(chunk);
      sum.events += seen.events;
      sum.created += seen.created;
      sum.ended += seen.ended;
    }
    return sum;
  };

  it('counts each entry of each events array, the creation, and the cancellation and error', () => {
    expect(totals([stream])).toEqual({ events: 5, created: 1, ended: 2 });
    expect(totals([stream, stream])).toEqual({ events: 10, created: 2, ended: 4 });
  });

  it('counts the same when the stream is split at any one or two positions', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect([i, totals([stream.slice(0, i), stream.slice(i)])]).toEqual([i, { events: 5, created: 1, ended: 2 }]);
      for (let j = i; j <= stream.length; j += 37) expect([i, j, totals([stream.slice(0, i), stream.slice(i, j), stream.slice(j)])]).toEqual([i, j, { events: 5, created: 1, ended: 2 }]);
    }
  });

  it('counts the same fed one character at a time', () => {
    expect(totals([...stream])).toEqual({ events: 5, created: 1, ended: 2 });
  });
});

describe('etcd watch member', () => {
  it('is another member than the one written to, or that one when it is the only one', () => {
    expect(etcdWatchMember('http://127.0.0.1:2', ['http://127.0.0.1:2', 'http://127.0.0.1:3'])).toBe('http://127.0.0.1:3');
    expect(etcdWatchMember('http://127.0.0.1:3', ['http://127.0.0.1:2', 'http://127.0.0.1:3'])).toBe('http://127.0.0.1:2');
    expect(etcdWatchMember('http://127.0.0.1:2', ['http://127.0.0.1:2'])).toBe('http://127.0.0.1:2');
  });

  it('takes the loopback client URLs from a member list', () => {
    const list = { members: [{ clientURLs: ['http://127.0.0.1:2379/'] }, { clientURLs: ['http://10.0.0.2:2379', 'http://localhost:2381'] }, { name: 'unstarted' }] };
    expect(loopbackClientUrls(list)).toEqual(['http://127.0.0.1:2379', 'http://localhost:2381']);
    expect(loopbackClientUrls(null)).toEqual([]);
  });

  it('leaves out the member a URL reaches by its ID, however the list spells its URL', () => {
    // Stormed as http://localhost:23791, listed as http://127.0.0.1:23791.
    const list = { members: [{ ID: '111', clientURLs: ['http://127.0.0.1:23791'] }, { ID: '222', clientURLs: ['http://127.0.0.1:23792'] }] };
    const others = loopbackClientUrls(list, '111');
    expect(others).toEqual(['http://127.0.0.1:23792']);
    expect(etcdWatchMember('http://localhost:23791', ['http://localhost:23791', ...others])).toBe('http://127.0.0.1:23792');
  });
});

describe('openEtcdWatchers', () => {
  /** A gateway stand-in: confirms each watch, then sends `events` one-event responses (or answers `status`). */
  async function gateway(events: number, status = 200) {
    const bodies: unknown[] = [];
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        if (status !== 200) return void res.writeHead(status).end();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"result":{"header":{"revision":"1"},"created":true}}\n');
        for (let i = 0; i < events; i++) res.write(`{"result":{"header":{"revision":"${i + 2}"},"events":[{"kv":{"key":"cGVyZi0x","value":"eA=="}}]}}\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, bodies };
  }

  it('opens one stream per prefix with its watch request, and counts the events of all', async () => {
    const { url, server, bodies } = await gateway(3);
    try {
      const pool = await openEtcdWatchers(url, ['perf-', 'perf-1']);
      for (let i = 0; i < 100 && pool.events < 6; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(pool.open).toBe(2);
      expect(pool.events).toBe(6);
      expect(bodies).toEqual(expect.arrayContaining([etcdWatchRequest('perf-'), etcdWatchRequest('perf-1')]));
      await pool.close();
      expect(pool.ended).toBe(0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('rejects when the gateway does not answer 200', async () => {
    const { url, server } = await gateway(0, 404);
    try {
      await expect(openEtcdWatchers(url, ['perf-'])).rejects.toThrow('answered 404');
    } finally {
      server.close();
    }
  });

  it('rejects a watch that etcd never confirms, at the timeout, though bytes keep coming', async () => {
    const server = await rawServer(trickleForever(' ', 20));
    try {
      await expect(openEtcdWatchers(server.url, ['perf-'], { timeoutMs: 200 })).rejects.toThrow(`watch on ${server.url}: not confirmed within 200 ms`);
    } finally {
      await server.close();
    }
  });
});
