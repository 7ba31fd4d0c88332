import { ValidationError, validateSync } from 'class-validator';

export interface DtoProblem {
  /** Dotted path of the offending property, e.g. `entries.3.version`. */
  readonly path: string;
  readonly message: string;
  /** class-validator constraint names, e.g. `isInt`; callers map some to status codes. */
  readonly constraints: string[];
}

export class DtoValidationError extends Error {
  constructor(readonly problems: DtoProblem[]) {
    super(problems.map((p) => p.message).join('; '));
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

/**
 * Validates a DTO instance; throws DtoValidationError naming every problem.
 * Properties not declared on the DTO are refused, so a typo in a field name is reported
 * rather than silently ignored.
 */
export function assertValid<T extends object>(dto: T): T {
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) throw new DtoValidationError(flatten(errors));
  return dto;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Shallow-copies a parsed JSON object into a DTO instance. Deliberately shallow: values
 * are opaque JSON of up to 1 MiB, and a deep copy (class-transformer's) costs tens of
 * milliseconds per megabyte on the write path.
 */
export function instantiate<T extends object>(dtoClass: new () => T, plain: unknown, what: string): T {
  if (!isPlainObject(plain)) {
    throw new DtoValidationError([{ path: '', message: `${what} must be a JSON object`, constraints: ['isObject'] }]);
  }
  return Object.assign(new dtoClass(), plain);
}
