import { formatLine } from './log-format';

describe('formatLine', () => {
  it('prefixes the node name and shows time, level and message of a pino line', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 9, 15, 1), node: 'f2', msg: 'follower f3 up -> down' });
    expect(formatLine('f2', line, 6)).toBe('[f2]     09:15:01 warn  follower f3 up -> down');
  });

  it('passes other lines through with the prefix', () => {
    expect(formatLine('leader', 'TypeError: boom', 6)).toBe('[leader] TypeError: boom');
  });
});
