import { parseValue, stdinValueText } from './value';

describe('parseValue', () => {
  it('stores valid JSON as JSON and anything else as a string (auto)', () => {
    expect(parseValue('42', 'auto')).toBe(42);
    expect(parseValue('{"a":[1,true,null]}', 'auto')).toEqual({ a: [1, true, null] });
    expect(parseValue('"quoted"', 'auto')).toBe('quoted');
    expect(parseValue('null', 'auto')).toBeNull();
    expect(parseValue('world', 'auto')).toBe('world');
    expect(parseValue('{not json', 'auto')).toBe('{not json');
    expect(parseValue('', 'auto')).toBe('');
  });

  it('--string keeps the text; --json requires JSON', () => {
    expect(parseValue('42', 'string')).toBe('42');
    expect(parseValue('[1]', 'json')).toEqual([1]);
    expect(() => parseValue('world', 'json')).toThrow(/not valid JSON \(--json\)/);
  });

  it('drops one trailing newline from stdin', () => {
    expect(stdinValueText('hello\n')).toBe('hello');
    expect(stdinValueText('a\n\n')).toBe('a\n');
    expect(stdinValueText('x\r\n')).toBe('x');
  });
});
