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

/**
 * The schema of the value at a field path (list entries by index), unwrapped;
 * undefined when the path leaves the schema.
 */
export function schemaAt(root: z.ZodType, fieldPath: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = root;
  for (const part of fieldPath) {
    const inner: z.ZodType | undefined = current ? unwrapSchema(current) : undefined;
    if (inner instanceof z.ZodObject) {
      current = (inner.shape as Record<string, z.ZodType>)[String(part)];
    } else if (inner instanceof z.ZodArray) {
      current = inner.element as z.ZodType;
    } else {
      return undefined;
    }
  }
  return current ? unwrapSchema(current) : undefined;
}

/** The field names of the object at a field path (an entry of a list too), or none when it is not an object. */
export function objectKeysAt(root: z.ZodType, fieldPath: readonly PropertyKey[]): string[] {
  const schema = schemaAt(root, fieldPath);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}
