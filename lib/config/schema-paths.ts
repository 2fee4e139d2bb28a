import { z } from 'zod';

/** The schema inside optional, default and prefault wrappers. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/** What the user gave at a field's path (for an error message), or undefined. */
export function valueAt(input: unknown, fieldPath: readonly PropertyKey[]): unknown {
  let current = input;
  for (const part of fieldPath) {
    if (current === null || typeof current !== 'object') {
      return undefined;
    }
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}
