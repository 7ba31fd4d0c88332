import { ValidationError, getMetadataStorage, validateSync } from 'class-validator';

export interface DtoProblem {
  /** Dotted path of the offending property, e.g. `entries.3.version`. */
  readonly path: string;
  readonly message: string;
  /** class-validator constraint names, e.g. `isInt`; callers map some to status codes. */
  readonly constraints: string[];
}

/** At most this many problems are spelled out in a message; a batch of junk would otherwise answer megabytes. */
export const MAX_PROBLEMS_IN_MESSAGE = 10;

export class DtoValidationError extends Error {
  constructor(readonly problems: DtoProblem[]) {
    const shown = problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).map((p) => p.message);
    const more = problems.length - shown.length;
    super(more > 0 ? `${shown.join('; ')}; and ${more} more` : shown.join('; '));
    this.name = 'DtoValidationError';
  }
}

function flatten(errors: ValidationError[], parent = ''): DtoProblem[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own: DtoProblem[] = error.constraints
      ? [{ path, message: Object.values(error.constraints).join(', '), constraints: Object.keys(error.constraints) }]
      : [];
    return [...own, ...flatten(error.children ?? [], path)];
  });
}

/** The properties a DTO class declares (any class-validator decorator), by class. */
const declaredByClass = new WeakMap<object, ReadonlySet<string>>();
function declaredProperties(dtoClass: object): ReadonlySet<string> {
  let declared = declaredByClass.get(dtoClass);
  if (declared === undefined) {
    declared = new Set(getMetadataStorage().getTargetValidationMetadatas(dtoClass as new () => object, '', true, false).map((m) => m.propertyName));
    declaredByClass.set(dtoClass, declared);
  }
  return declared;
}

/**
 * The problems of one DTO instance, paths prefixed with `path`. Properties not declared
 * on the DTO are refused, so a typo in a field name is reported rather than silently ignored.
 *
 * The undeclared ones are also checked here, not only by class-validator's whitelist: it
 * looks a name up on a plain object, so `hasOwnProperty`, `isPrototypeOf`,
 * `propertyIsEnumerable`, `__defineGetter__` and the like (inherited methods that take an
 * argument) passed as declared and were silently accepted (class-validator 0.15.1).
 */
export function problemsOf(dto: object, path = ''): DtoProblem[] {
  const problems = flatten(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }), path).map((problem) =>
    // `?=1` or `{"": 1}`: class-validator's "property  should not exist" names nothing.
    problem.message === 'property  should not exist' ? { ...problem, message: 'a property with an empty name should not exist' } : problem,
  );
  const declared = declaredProperties(dto.constructor);
  for (const key of Object.keys(dto)) {
    if (declared.has(key)) continue;
    const keyPath = path ? `${path}.${key}` : key;
    if (!problems.some((p) => p.path === keyPath && p.constraints.includes('whitelistValidation'))) {
      problems.push({ path: keyPath, message: key === '' ? 'a property with an empty name should not exist' : `property ${key} should not exist`, constraints: ['whitelistValidation'] });
    }
  }
  return problems;
}

/** Validates a DTO instance; throws DtoValidationError naming every problem, `found` ones first. */
export function assertValid<T extends object>(dto: T, found: readonly DtoProblem[] = []): T {
  const problems = [...found, ...problemsOf(dto)];
  if (problems.length > 0) throw new DtoValidationError(problems);
  return dto;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Keys a copy must not assign: `__proto__` would swap the DTO's prototype (Object.assign
 * calls its setter) and `constructor` would hide the class class-validator looks up.
 */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor']);

/**
 * Shallow-copies a parsed JSON object into a DTO instance. Deliberately shallow: values
 * are opaque JSON of up to 1 MiB, and a deep copy (class-transformer's) costs tens of
 * milliseconds per megabyte on the write path. Unsafe keys are left out and reported in
 * `problems` as the unknown properties they are.
 */
export function copyInto<T extends object>(dto: T, plain: Record<string, unknown>, path: string, problems: DtoProblem[]): T {
  let unsafe = false;
  for (const key of UNSAFE_KEYS) {
    if (Object.hasOwn(plain, key)) {
      unsafe = true;
      problems.push({ path: path ? `${path}.${key}` : key, message: `property ${key} should not exist`, constraints: ['whitelistValidation'] });
    }
  }
  if (!unsafe) return Object.assign(dto, plain);
  const target = dto as Record<string, unknown>;
  for (const [key, value] of Object.entries(plain)) if (!UNSAFE_KEYS.has(key)) target[key] = value;
  return dto;
}

/** The DTO for a body or query; throws at once if it is not even a JSON object. */
export function instantiate<T extends object>(dtoClass: new () => T, plain: unknown, what: string, problems: DtoProblem[]): T {
  if (!isPlainObject(plain)) {
    throw new DtoValidationError([{ path: '', message: `${what} must be a JSON object`, constraints: ['isObject'] }]);
  }
  return copyInto(new dtoClass(), plain, '', problems);
}

/** A flat DTO (no nested ones) from a body or query, validated. */
export function parseFlat<T extends object>(dtoClass: new () => T, plain: unknown, what: string): T {
  const problems: DtoProblem[] = [];
  return assertValid(instantiate(dtoClass, plain, what, problems), problems);
}
