import { formatEvent, formatHealth, formatList, formatRead, formatStatus, formatWrite } from './format';

describe('output formats', () => {
  const read = { key: 'k', value: 'world', version: 3, appliedVersion: 5 };

  it('get: a string raw, other values as JSON on one line; json is the API answer', () => {
    expect(formatRead(read, 'text')).toBe('world\n');
    expect(formatRead({ ...read, value: { a: [1, 'x'] } }, 'text')).toBe('{"a":[1,"x"]}\n');
    expect(formatRead({ ...read, value: 'multi\nline' }, 'text')).toBe('multi\nline\n');
    expect(formatRead(read, 'json')).toBe('{"key":"k","value":"world","version":3}\n');
    expect(formatRead(read, 'table')).toMatch(/│ k\s+│ "world" │ 3\s+│/);
  });

  it('put and del', () => {
    const write = { key: 'k', version: 4, acks: 2, quorum: 3 };
    expect(formatWrite(write, 'text')).toBe('version 4 (2 of 3 follower acks)\n');
    expect(formatWrite(write, 'json')).toBe(`${JSON.stringify(write)}\n`);
  });

  it('ls: one tab-separated line per item, a table, or the API answer', () => {
    const page = { items: [{ key: 'a', value: 'x', version: 1 }, { key: 'b c', value: [1], version: 2 }], next: null };
    expect(formatList(page, 'text')).toBe('a\t"x"\t1\nb c\t[1]\t2\n');
    expect(formatList(page, 'json')).toBe(`${JSON.stringify(page)}\n`);
    const table = formatList(page, 'table');
    expect(table.split('\n')[1]).toMatch(/│ key\s+│ value\s+│ version │/);
    expect(table).not.toContain('\u001b[');
    expect(formatList({ items: [], next: null }, 'text')).toBe('');
  });

  it('status: the leader then one line per follower; a follower in one line', () => {
    const leader = {
      role: 'leader' as const,
      state: 'serving' as const,
      inSync: 2,
      version: 9,
      keys: 4,
      writeQuorum: 3,
      followers: [
        { url: 'http://f1', ackedVersion: 9, lag: 0, state: 'up' as const, lastError: null },
        { url: 'http://f2', ackedVersion: 7, lag: 2, state: 'down' as const, lastError: 'ECONNREFUSED' },
      ],
    };
    expect(formatStatus(leader, 'text')).toBe(
      'leader state=serving version=9 keys=4 writeQuorum=3 inSync=2\nfollower http://f1 state=up ackedVersion=9 lag=0\nfollower http://f2 state=down ackedVersion=7 lag=2 lastError="ECONNREFUSED"\n',
    );
    expect(formatStatus(leader, 'table')).toMatch(/│ http:\/\/f2\s+│ follower │ 7\s+│ 2\s+│ down\s+│ ECONNREFUSED\s+│/);
    expect(formatStatus({ role: 'follower', appliedVersion: 9, keys: 4 }, 'text')).toBe('follower appliedVersion=9 keys=4\n');
    expect(formatStatus(leader, 'json')).toBe(`${JSON.stringify(leader)}\n`);
  });

  it('health and watch events', () => {
    expect(formatHealth({ status: 'ok', role: 'leader' }, 'text')).toBe('ok leader\n');
    expect(formatEvent({ type: 'put', key: 'k', value: 'v', version: 3 }, 'text')).toBe('3\tput\tk\t"v"\n');
    expect(formatEvent({ type: 'delete', key: 'k', version: 4 }, 'text')).toBe('4\tdelete\tk\n');
    expect(formatEvent({ type: 'delete', key: 'k', version: 4 }, 'json')).toBe('{"type":"delete","key":"k","version":4}\n');
  });
});
