import { resolveSettings } from './settings';

describe('resolveSettings', () => {
  it('defaults to one local endpoint, text output, 10 s', () => {
    expect(resolveSettings({}, {})).toEqual({ endpoints: ['http://127.0.0.1:8000'], quorum: undefined, output: 'text', timeoutMs: 10_000 });
  });

  it('takes flags over the environment over defaults', () => {
    const env = { KV_ENDPOINTS: 'http://a:1, http://b:2/', KV_OUTPUT: 'json' };
    expect(resolveSettings({}, env)).toMatchObject({ endpoints: ['http://a:1', 'http://b:2'], output: 'json' });
    expect(resolveSettings({ endpoints: 'http://c:3', output: 'table', quorum: '0', timeout: '250' }, env)).toEqual({
      endpoints: ['http://c:3'],
      quorum: 0,
      output: 'table',
      timeoutMs: 250,
    });
  });

  it('refuses bad values, naming the option', () => {
    expect(() => resolveSettings({ output: 'yaml' }, {})).toThrow(/-o\/--output\/KV_OUTPUT must be one of text, json, table/);
    expect(() => resolveSettings({}, { KV_OUTPUT: 'xml' })).toThrow(/KV_OUTPUT/);
    expect(() => resolveSettings({ endpoints: 'ftp://x' }, {})).toThrow(/--endpoints\/KV_ENDPOINTS: not an http\(s\) URL/);
    expect(() => resolveSettings({ endpoints: ' , ' }, {})).toThrow(/no endpoint given/);
    expect(() => resolveSettings({ quorum: '-1' }, {})).toThrow(/-w\/--quorum must be an integer of at least 0/);
    expect(() => resolveSettings({ timeout: '1.5' }, {})).toThrow(/--timeout/);
  });
});
