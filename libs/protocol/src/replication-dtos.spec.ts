import fc from 'fast-check';
import { MAX_KEY_BYTES, MAX_SAFE_VERSION, MAX_VALUE_DEPTH } from './limits';
import { CatchUpRange, ReplicateRequest, ReplicateResponse, ReplicatedEntry, isWellFormedEntry, isWellFormedRequest, isWellFormedResponse } from './replication-dtos';
import { DtoValidationError, copyInto, problemsOf, type DtoProblem } from './validate';

/** What class-validator says about one entry: the verdict the fast path must match. */
function classValidatorProblems(entry: Record<string, unknown>): DtoProblem[] {
  const problems: DtoProblem[] = [];
  const dto = copyInto(new ReplicatedEntry(), entry, '', problems);
  return [...problems, ...problemsOf(dto)];
}

const nestedArray = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

/** Entry-shaped objects, valid and broken in every field the DTO declares, and then some. */
const entryLike = fc.record(
  {
    key: fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom('', 'k'.repeat(MAX_KEY_BYTES), 'k'.repeat(MAX_KEY_BYTES + 1), 'é'.repeat(129), 'a\uD800b', '__proto__'),
      fc.constantFrom<unknown>(1, null, true, ['a'], { k: 1 }),
    ),
    version: fc.oneof(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.constantFrom<unknown>(0, -1, -0, 1.5, MAX_SAFE_VERSION, MAX_SAFE_VERSION + 1, 2 ** 60, NaN, Infinity, '1', null, true),
    ),
    deleted: fc.oneof(fc.boolean(), fc.constantFrom<unknown>('false', 0, 1, null)),
    value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<unknown>(undefined, nestedArray(MAX_VALUE_DEPTH), nestedArray(MAX_VALUE_DEPTH + 1))),
    extra: fc.constantFrom<unknown>(1, 'x'),
  },
  { requiredKeys: [] },
);

describe('isWellFormedEntry (the fast accept path of replication)', () => {
  it('agrees with class-validator on every entry-shaped object', () => {
    fc.assert(
      fc.property(entryLike, (entry) => {
        expect(isWellFormedEntry(entry)).toBe(classValidatorProblems(entry).length === 0);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees on the edges: exact limits and keys the copy refuses', () => {
    const ok = { key: 'a', version: 1, deleted: false, value: null };
    for (const entry of [
      ok,
      { ...ok, version: MAX_SAFE_VERSION },
      { ...ok, value: nestedArray(MAX_VALUE_DEPTH) },
      { key: 'a', version: 1, deleted: true },
      { key: 'a', version: 1, deleted: true, value: nestedArray(MAX_VALUE_DEPTH + 1) },
      { ...ok, version: MAX_SAFE_VERSION + 1 },
      { ...ok, value: nestedArray(MAX_VALUE_DEPTH + 1) },
      { key: 'a', version: 1, deleted: false },
      JSON.parse('{"key":"a","version":1,"deleted":false,"value":1,"__proto__":{}}') as Record<string, unknown>,
      { ...ok, constructor: 1 },
    ]) {
      expect([entry, isWellFormedEntry(entry)]).toEqual([entry, classValidatorProblems(entry).length === 0]);
    }
    for (const notAnObject of [null, [], 'entry', 1, [ok]]) expect(isWellFormedEntry(notAnObject)).toBe(false);
  });

  it('gives ReplicateRequest.parse the same entries on both paths, and the same problems for the rest', () => {
    fc.assert(
      fc.property(fc.array(entryLike, { maxLength: 6 }), (entries) => {
        const good = entries.filter((e) => classValidatorProblems(e).length === 0);
        const parsed = ReplicateRequest.parse({ leaderEpoch: 1, entries: good });
        expect(parsed.entries).toEqual(good);
        for (const entry of parsed.entries) expect(entry).toBeInstanceOf(ReplicatedEntry);
        const bad = entries.map((e, i) => [e, i] as const).filter(([e]) => classValidatorProblems(e).length > 0);
        if (bad.length === 0) return;
        let paths: string[] = [];
        try {
          ReplicateRequest.parse({ leaderEpoch: 1, entries });
        } catch (error) {
          if (!(error instanceof DtoValidationError)) throw error;
          paths = error.problems.map((p) => p.path);
        }
        // Every refused entry is named, and only those.
        expect(new Set(paths.map((p) => Number(p.split('.')[1])))).toEqual(new Set(bad.map(([, i]) => i)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('isWellFormedResponse (the fast accept path of every replication answer)', () => {
  const full = (body: Record<string, unknown>) => {
    const problems: DtoProblem[] = [];
    const dto = copyInto(new ReplicateResponse(), body, '', problems);
    return [...problems, ...problemsOf(dto)];
  };
  const responseLike = fc.record(
    {
      followerId: fc.oneof(fc.string({ minLength: 0, maxLength: 5 }), fc.constantFrom<unknown>('f'.repeat(128), 'f'.repeat(129), 1, null)),
      leaderEpoch: fc.oneof(fc.nat(), fc.constantFrom<unknown>(-1, 1.5, MAX_SAFE_VERSION + 1, '1', null)),
      leaderId: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom<unknown>('i'.repeat(64), 'i'.repeat(65), 7, null)),
      appliedVersion: fc.oneof(fc.nat(), fc.constantFrom<unknown>(-1, 0.5, NaN, '3')),
      ranges: fc.oneof(
        fc.array(fc.tuple(fc.nat(50), fc.nat(50)), { maxLength: 4 }),
        fc.constantFrom<unknown>([[1, 2], [4, 9]], [[2, 1]], [[1, 2], [2, 3]], [[1]], [[1, 2, 3]], [['1', 2]], 'x', null, Array.from({ length: 257 }, (_, i) => [2 * i, 2 * i])),
      ),
      droppedThrough: fc.oneof(fc.nat(), fc.constantFrom<unknown>(-1, 2.5, null)),
      seenVersion: fc.oneof(fc.nat(), fc.constantFrom<unknown>(-1, 2.5, MAX_SAFE_VERSION + 1, null)),
      extra: fc.constant<unknown>(1),
    },
    { requiredKeys: [] },
  );

  it('accepts only what class-validator accepts, and parse gives the same answer either way', () => {
    fc.assert(
      fc.property(responseLike, (body) => {
        const valid = full(body).length === 0;
        // Fast accepts imply valid; a valid answer the fast path declines still parses (the full way).
        if (isWellFormedResponse(body)) expect(valid).toBe(true);
        if (valid) expect(ReplicateResponse.parse(body)).toEqual(Object.assign(new ReplicateResponse(), body));
        else expect(() => ReplicateResponse.parse(body)).toThrow(DtoValidationError);
      }),
      { numRuns: 1000 },
    );
    const typical = { followerId: 'f-1', leaderEpoch: 3, leaderId: 'abc', appliedVersion: 10, ranges: [[12, 12]], droppedThrough: 4, seenVersion: 12 };
    expect(isWellFormedResponse(typical)).toBe(true);
    expect(isWellFormedResponse({ ...typical, __proto__: null })).toBe(true);
    expect(isWellFormedResponse(JSON.parse('{"followerId":"f","leaderEpoch":1,"appliedVersion":1,"__proto__":{}}'))).toBe(false);
  });
});

describe('isWellFormedRequest (the fast accept path of every replication frame)', () => {
  const verdict = (body: unknown): ReplicateRequest | DtoValidationError => {
    try {
      return ReplicateRequest.parseFully(body);
    } catch (error) {
      if (error instanceof DtoValidationError) return error;
      throw error;
    }
  };
  const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
  const version = fc.oneof(fc.nat(), fc.constantFrom<unknown>(0, 1, MAX_SAFE_VERSION, MAX_SAFE_VERSION + 1, -1, 1.5, '2', null, true));
  const catchUpLike = fc.oneof(
    fc.record({ from: version, through: version, resync: optional(version), done: optional(fc.constantFrom<unknown>(true, false, 'yes', null, 1)) }, { requiredKeys: ['from', 'through'] }),
    fc.constantFrom<unknown>(null, [], 'catch-up', { from: 1, through: 2, extra: 1 }, { from: 3, through: 2 }),
  );
  const requestLike = fc.record(
    {
      leaderEpoch: version,
      leaderId: fc.oneof(fc.constantFrom<unknown>('abc', 'a-b_C9', 'i'.repeat(64), 'i'.repeat(65), '', 'a b', 7, null)),
      leaderVersion: version,
      droppedThrough: version,
      entries: fc.oneof(fc.array(entryLike, { maxLength: 3 }), fc.constantFrom<unknown>(null, {}, 'entries')),
      catchUp: catchUpLike,
      other: fc.constantFrom<unknown>(1, 'x'),
    },
    { requiredKeys: [] },
  );

  /** Requests as leaders send them: valid, with each optional field there or not, then one field bent. */
  const goodVersion = fc.oneof(fc.nat(), fc.constant(MAX_SAFE_VERSION));
  const goodEntry = fc.oneof(
    fc.record({ key: fc.constantFrom('a', 'k/1', '€'), version: fc.integer({ min: 1, max: 1000 }), deleted: fc.constant(false), value: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record({ key: fc.constantFrom('a', 'b'), version: fc.integer({ min: 1, max: 1000 }), deleted: fc.constant(true) }),
  );
  const goodRequest = fc
    .record(
      {
        leaderEpoch: fc.integer({ min: 1, max: MAX_SAFE_VERSION }),
        leaderId: fc.constantFrom('abc', 'i'.repeat(64), null),
        leaderVersion: goodVersion,
        droppedThrough: goodVersion,
        entries: fc.array(goodEntry, { maxLength: 3 }),
        catchUp: fc.oneof(
          fc.constant(null),
          fc
            .tuple(fc.nat({ max: 100 }), fc.nat({ max: 100 }), optional(fc.integer({ min: 1, max: 9 })), optional(fc.boolean()))
            .map(([from, span, resync, done]) => ({ from, through: from + span, ...(resync === undefined ? {} : { resync }), ...(done === undefined ? {} : { done }) })),
        ),
      },
      { requiredKeys: ['leaderEpoch', 'entries'] },
    )
    .chain((good) =>
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<Record<string, unknown>>(good) },
        {
          weight: 2,
          arbitrary: fc.tuple(requestLike, fc.nat()).map(([bent, pick]) => {
            const fields = Object.entries(bent);
            return fields.length === 0 ? good : { ...good, ...Object.fromEntries([fields[pick % fields.length]]) };
          }),
        },
      ),
    );

  it('accepts only what class-validator accepts, and parse gives the same request either way', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(goodRequest, requestLike, fc.constantFrom<unknown>(null, [], 'request', 1)), (body) => {
        if (isWellFormedRequest(body)) accepted++;
        const full = verdict(body);
        expect(isWellFormedRequest(body)).toBe(!(full instanceof DtoValidationError));
        if (full instanceof DtoValidationError) {
          expect(() => ReplicateRequest.parse(body)).toThrow(DtoValidationError);
          return;
        }
        const fast = ReplicateRequest.parse(body);
        expect(fast).toEqual(full);
        expect(fast).toBeInstanceOf(ReplicateRequest);
        for (const entry of fast.entries) expect(entry).toBeInstanceOf(ReplicatedEntry);
        if (fast.catchUp !== undefined) expect(fast.catchUp).toBeInstanceOf(CatchUpRange);
      }),
      { numRuns: 5000 },
    );
    // The property means something only if both verdicts came up often.
    expect(accepted).toBeGreaterThan(1000);
    expect(accepted).toBeLessThan(4000);
  });
});
