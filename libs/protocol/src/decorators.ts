import { ValidationArguments, ValidationOptions, registerDecorator } from 'class-validator';
import { keyProblem } from './key';
import { jsonValueProblem } from './json-value';

/** The property must be present; `null` is a valid JSON value, so `@IsDefined` would be wrong. */
export function IsPresent(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPresent',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property is required', ...options },
      validator: { validate: (value: unknown) => value !== undefined },
    });
}

/** A store key: 1 to 256 bytes of UTF-8. */
export function IsStoreKey(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStoreKey',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: (args: ValidationArguments) => keyProblem(args.value) ?? 'invalid key', ...options },
      validator: { validate: (value: unknown) => keyProblem(value) === null },
    });
}

/** Compares with a sibling property: `through` may not lie before `from`. */
export function IsAtLeastProperty(sibling: string, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAtLeastProperty',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [sibling],
      options: { message: `$property must not be less than ${sibling}`, ...options },
      validator: {
        validate: (value: unknown, args: ValidationArguments) => {
          const other = (args.object as Record<string, unknown>)[sibling];
          return typeof value === 'number' && typeof other === 'number' && value >= other;
        },
      },
    });
}

/** A JSON value whose numbers are all finite and that nests at most `maxDepth` levels deep. */
export function IsStorableJson(maxDepth: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStorableJson',
      target: target.constructor,
      propertyName: propertyName as string,
      constraints: [maxDepth],
      options: { message: (args: ValidationArguments) => `${args.property} ${jsonValueProblem(args.value, maxDepth) ?? 'is not storable'}`, ...options },
      validator: { validate: (value: unknown) => jsonValueProblem(value, maxDepth) === null },
    });
}

/** Sorted, disjoint `[from, through]` pairs of exact versions, at most `MAX_REPORTED_RANGES` of them. */
export function IsVersionRanges(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isVersionRanges',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be at most 256 sorted, disjoint [from, through] version pairs', ...options },
      validator: {
        validate: (value: unknown) => {
          if (!Array.isArray(value) || value.length > 256) return false;
          let previous = -1;
          for (const pair of value) {
            if (!Array.isArray(pair) || pair.length !== 2) return false;
            const [from, through] = pair as unknown[];
            if (!Number.isSafeInteger(from) || !Number.isSafeInteger(through)) return false;
            if ((from as number) <= previous || (through as number) < (from as number)) return false;
            previous = through as number;
          }
          return true;
        },
      },
    });
}
