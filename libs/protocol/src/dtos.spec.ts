import { DtoValidationError, ListRequestQuery, MAX_VALUE_DEPTH, PutValueRequest, ReplicateRequest, ReplicateResponse, WriteQuery, keyProblem } from './index';
import { parse as parseQuery } from 'node:querystring';
import { jsonValueProblem } from './json-value';
import { isWellFormedEntry } from './replication-dtos';
import fc from 'fast-check';
import { copyInto, problemsOf as problemsOfDto } from './validate';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof DtoValidationError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('keyProblem', () => {
  it.each([
    ['a', null],
    ['x'.repeat(256), null],
    ['é'.repeat(128), null],
  ])('accepts %j', (key, expected) => expect(keyProblem(key)).toBe(expected));

  it.each([
    ['', /1 to 256 bytes/],
    ['x'.repeat(257), /got 257/],
    ['é'.repeat(129), /got 258/],
    ['\uD800', /lone surrogate/],
    [42, /must be a string/],
  ])('refuses %j', (key, message) => expect(keyProblem(key)).toMatch(message));
});

describe('PutValueRequest', () => {
  it.each([null, 0, false, '', [], {}, { nested: [1, { a: null }] }])('accepts the JSON value %j', (value) => {
    expect(PutValueRequest.parse({ value }).value).toEqual(value);
  });

  it('refuses a body without value, a non-object body and unknown properties', () => {
    expect(problemsOf(() => PutValueRequest.parse({}))).toEqual(['value: body must be a JSON object with a "value" property']);
    expect(problemsOf(() => PutValueRequest.parse([1]))).toEqual([': body must be a JSON object']);
    expect(problemsOf(() => PutValueRequest.parse('x'))).toEqual([': body must be a JSON object']);
    expect(problemsOf(() => PutValueRequest.parse({ value: 1, vaule: 2 }))).toEqual([
      'vaule: property vaule should not exist',
    ]);
  });

  it('keeps the very object it was given (no deep copy of large values)', () => {
    const value = { big: 'x'.repeat(1000) };
    expect(PutValueRequest.parse({ value }).value).toBe(value);
  });
});

describe('query DTOs', () => {
  it('accept absent and well-formed numbers', () => {
    expect(WriteQuery.parse({}).w).toBeUndefined();
    expect(WriteQuery.parse({ w: '3' }).w).toBe('3');
    expect(ListRequestQuery.parse({ prefix: 'a', after: 'b', limit: '10' })).toMatchObject({ limit: '10' });
  });

  it('refuse repeated, negative, fractional and unknown parameters', () => {
    expect(problemsOf(() => WriteQuery.parse({ w: ['1', '2'] }))[0]).toMatch(/w must be given once/);
    expect(problemsOf(() => WriteQuery.parse({ w: '-1' }))).toEqual(['w: w must be a non-negative integer']);
    expect(problemsOf(() => WriteQuery.parse({ w: '1.5' }))).toEqual(['w: w must be a non-negative integer']);
    expect(problemsOf(() => ListRequestQuery.parse({ limit: 'ten' }))).toEqual(['limit: limit must be an integer from 1 to 10000']);
    expect(problemsOf(() => ListRequestQuery.parse({ limti: '1' }))).toEqual(['limti: property limti should not exist']);
  });

  it('take ifVersion on a write: digits only, given once', () => {
    expect(WriteQuery.parse({ ifVersion: '0' }).ifVersion).toBe('0');
    expect(WriteQuery.parse({ ifVersion: '9007199254740991', w: '2' })).toMatchObject({ ifVersion: '9007199254740991', w: '2' });
    expect(WriteQuery.parse({ ifVersion: '' }).ifVersion).toBeUndefined();
    for (const bad of ['-1', '1.5', '1e3', '01', ' 3', '0x10', 'NaN', '99999999999999999']) {
      expect(problemsOf(() => WriteQuery.parse({ ifVersion: bad }))).toEqual([`ifVersion: ifVersion must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}`]);
    }
    expect(problemsOf(() => WriteQuery.parse({ ifVersion: ['1', '2'] }))[0]).toMatch(/ifVersion must be given once/);
    expect(problemsOf(() => WriteQuery.parse({ ifversion: '1' }))).toEqual(['ifversion: property ifversion should not exist']);
  });
});

describe('ReplicateRequest', () => {
  const valid = {
    leaderEpoch: 7,
    entries: [
      { key: 'a', version: 1, deleted: false, value: null },
      { key: 'b', version: 2, deleted: true },
    ],
    catchUp: { from: 0, through: 2 },
  };

  it('accepts a well-formed batch and a heartbeat', () => {
    expect(ReplicateRequest.parse(valid).entries).toHaveLength(2);
    expect(ReplicateRequest.parse({ leaderEpoch: 1, entries: [] }).catchUp).toBeUndefined();
  });

  it('names every problem in nested entries', () => {
    const problems = problemsOf(() =>
      ReplicateRequest.parse({
        leaderEpoch: 0,
        entries: [{ key: '', version: 1.5, deleted: false }, 'junk'],
        catchUp: { from: 5, through: 4 },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'leaderEpoch: leaderEpoch must not be less than 1',
        'entries.0.key: key must be 1 to 256 bytes of UTF-8 (got 0)',
        'entries.0.version: version must be an integer number',
        'entries.0.value: value is required unless deleted is true',
        'catchUp.through: through must not be less than from',
      ]),
    );
    expect(problems.some((p) => p.startsWith('entries.1'))).toBe(true);
  });

  it('refuses entries that are not an array', () => {
    expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: {} }))).toContain('entries: entries must be an array');
  });
});

describe('ReplicateResponse', () => {
  it('validates what a follower answers', () => {
    expect(ReplicateResponse.parse({ followerId: 'f', leaderEpoch: 1, appliedVersion: 3 }).appliedVersion).toBe(3);
    expect(problemsOf(() => ReplicateResponse.parse({ followerId: '', leaderEpoch: 1, appliedVersion: -1 }))).toHaveLength(2);
  });
});

// Regressions the fuzz tests (apps/*/src/fuzz.spec.ts) found.
describe('hostile shapes', () => {
  const nested = (depth: number, kind: 'array' | 'object') => JSON.parse(kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

  it('counts nesting without recursion, stopping at the limit', () => {
    const tooDeep = (depth: number) => `nests arrays and objects more than ${depth} levels deep`;
    expect(jsonValueProblem(1, 0)).toBeNull();
    expect(jsonValueProblem([], 0)).toBe(tooDeep(0));
    expect(jsonValueProblem([[1], { a: [2] }], 3)).toBeNull();
    expect(jsonValueProblem([[1], { a: [2] }], 2)).toBe(tooDeep(2));
    expect(jsonValueProblem(nested(1_000_000, 'array'), MAX_VALUE_DEPTH)).toBe(tooDeep(MAX_VALUE_DEPTH));
  });

  it('refuses numbers JSON.parse overflowed to Infinity, anywhere in a value, on both paths', () => {
    for (const text of ['1e400', '-1e400', '[1, 2, 1e400]', '{"a": {"b": [-1e999]}}']) {
      const value: unknown = JSON.parse(text);
      expect(jsonValueProblem(value, MAX_VALUE_DEPTH)).toMatch(/too large for a double/);
      expect(problemsOf(() => PutValueRequest.parse({ value }))).toEqual([expect.stringMatching(/^value: value holds a number too large for a double/)]);
      const entry = { key: 'a', version: 1, deleted: false, value };
      expect(isWellFormedEntry(entry)).toBe(false);
      expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: [entry] }))).toEqual([
        expect.stringMatching(/^entries\.0\.value: value holds a number too large for a double/),
      ]);
    }
    expect(jsonValueProblem(JSON.parse('[1e308, -0, 5e-324]'), MAX_VALUE_DEPTH)).toBeNull();
  });

  it.each(['array', 'object'] as const)('refuses a value nested deeper than MAX_VALUE_DEPTH (%s), on both paths', (kind) => {
    expect(PutValueRequest.parse({ value: nested(MAX_VALUE_DEPTH, kind) }).value).toBeDefined();
    for (const depth of [MAX_VALUE_DEPTH + 1, 100_000]) {
      expect(problemsOf(() => PutValueRequest.parse({ value: nested(depth, kind) }))).toEqual([
        `value: value nests arrays and objects more than ${MAX_VALUE_DEPTH} levels deep`,
      ]);
      const entry = { key: 'a', version: 1, deleted: false, value: nested(depth, kind) };
      expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: [entry] }))).toEqual([
        `entries.0.value: value nests arrays and objects more than ${MAX_VALUE_DEPTH} levels deep`,
      ]);
    }
  });

  it('refuses nested arrays where entries or catchUp belong, without overflowing the stack', () => {
    const deep = nested(100_000, 'array');
    expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: [deep] }))).toEqual(['entries.0: entries.0 must be a JSON object']);
    expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: deep }))).toEqual(['entries.0: entries.0 must be a JSON object']);
    expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: [], catchUp: deep }))).toEqual(['catchUp: catchUp must be a JSON object']);
  });

  it('refuses __proto__ and constructor keys as unknown properties, without adopting them', () => {
    const proto = JSON.parse('{"value":1,"__proto__":{"polluted":true}}');
    expect(problemsOf(() => PutValueRequest.parse(proto))).toEqual(['__proto__: property __proto__ should not exist']);
    expect(problemsOf(() => PutValueRequest.parse(JSON.parse('{"__proto__":{"value":1}}')))).toEqual([
      '__proto__: property __proto__ should not exist',
      'value: body must be a JSON object with a "value" property',
    ]);
    expect(problemsOf(() => PutValueRequest.parse({ value: 1, constructor: {} }))).toEqual(['constructor: property constructor should not exist']);
    expect(problemsOf(() => WriteQuery.parse(parseQuery('__proto__=1&__proto__=2&w=1')))).toEqual([
      '__proto__: property __proto__ should not exist',
    ]);
    const entry = JSON.parse('{"__proto__":{"key":"a","version":1,"deleted":false,"value":1}}');
    expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: [entry] }))).toEqual(
      expect.arrayContaining(['entries.0.__proto__: property __proto__ should not exist', 'entries.0.key: key must be a string']),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(['hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', '__defineGetter__', '__lookupSetter__', 'toString', 'valueOf'])(
    'refuses %s, a name every plain object inherits, as an unknown property wherever a DTO is parsed',
    (name) => {
      const unknown = [`${name}: property ${name} should not exist`];
      expect(problemsOf(() => WriteQuery.parse(parseQuery(`w=1&${name}=1`)))).toEqual(unknown);
      expect(problemsOf(() => ListRequestQuery.parse(parseQuery(`limit=1&${name}=1`)))).toEqual(unknown);
      expect(problemsOf(() => PutValueRequest.parse({ value: 1, [name]: 1 }))).toEqual(unknown);
      expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: [], [name]: 1 }))).toEqual(unknown);
      expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1, entries: [{ key: 'a', version: 1, deleted: true, [name]: 1 }] }))).toEqual([
        `entries.0.${name}: property ${name} should not exist`,
      ]);
      expect(problemsOf(() => ReplicateResponse.parse({ followerId: 'f', leaderEpoch: 1, appliedVersion: 0, [name]: 1 }))).toEqual(unknown);
    },
  );

  it('names a parameter or property without a name as such', () => {
    expect(problemsOf(() => WriteQuery.parse(parseQuery('w=1&=1')))).toEqual([': a property with an empty name should not exist']);
    expect(problemsOf(() => PutValueRequest.parse({ value: 1, '': 1 }))).toEqual([': a property with an empty name should not exist']);
  });

  it('keeps __proto__ inside a value: values are opaque JSON', () => {
    const value = JSON.parse('{"__proto__":{"x":1}}');
    expect(Object.keys(PutValueRequest.parse({ value }).value as object)).toEqual(['__proto__']);
  });

  it('refuses versions, epochs and ranges beyond exact integers', () => {
    const entry = { key: 'a', version: 2 ** 53, deleted: true };
    expect(problemsOf(() => ReplicateRequest.parse({ leaderEpoch: 1e300, entries: [entry], catchUp: { from: 0, through: 1e300 } }))).toEqual([
      `entries.0.version: version must not be greater than ${Number.MAX_SAFE_INTEGER}`,
      `catchUp.through: through must not be greater than ${Number.MAX_SAFE_INTEGER}`,
      `leaderEpoch: leaderEpoch must not be greater than ${Number.MAX_SAFE_INTEGER}`,
    ]);
  });

  it('names at most ten problems in the message of a batch of junk', () => {
    try {
      ReplicateRequest.parse({ leaderEpoch: 1, entries: Array.from({ length: 20_000 }, () => 1) });
      throw new Error('expected a validation error');
    } catch (error) {
      if (!(error instanceof DtoValidationError)) throw error;
      expect(error.problems).toHaveLength(20_000);
      expect(error.message).toMatch(/entries\.9 must be a JSON object; and 19990 more$/);
      expect(error.message.length).toBeLessThan(500);
    }
  });
});

describe('the fast accept paths of the client write path', () => {
  // The full class-validator verdict, without the fast path in front of it.
  const fullPut = (body: Record<string, unknown>) => problemsOfDto(copyInto(new PutValueRequest(), body, '', []));
  const fullQuery = (query: Record<string, unknown>) => problemsOfDto(copyInto(new WriteQuery(), query, '', []));

  it('PutValueRequest.parse accepts exactly what class-validator accepts', () => {
    fc.assert(
      fc.property(
        fc.record({ value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<unknown>(undefined, JSON.parse('['.repeat(MAX_VALUE_DEPTH + 1) + ']'.repeat(MAX_VALUE_DEPTH + 1)))), vaule: fc.constant(1) }, { requiredKeys: [] }),
        (body) => {
          const valid = fullPut(body).length === 0;
          if (valid) expect(PutValueRequest.parse(body).value).toBe(body.value);
          else expect(() => PutValueRequest.parse(body)).toThrow(DtoValidationError);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('WriteQuery.parse accepts exactly what class-validator accepts, empty parameters as absent', () => {
    const parameter = fc.oneof(fc.constantFrom<unknown>('0', '3', '01', '-1', '', '1.5', '9999999999', '9007199254740991', 'x', ['1', '2']), fc.nat().map(String));
    fc.assert(
      fc.property(fc.record({ w: parameter, ifVersion: parameter, other: fc.constant('1') }, { requiredKeys: [] }), (query) => {
        const present = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
        const valid = fullQuery(present).length === 0;
        if (valid) expect({ ...WriteQuery.parse(query) }).toEqual(present);
        else expect(() => WriteQuery.parse(query)).toThrow(DtoValidationError);
      }),
      { numRuns: 500 },
    );
    expect(WriteQuery.parse(parseQuery('w=3&ifVersion=7'))).toMatchObject({ w: '3', ifVersion: '7' });
  });
});
