import { Duration, Token } from 'aws-cdk-lib';
import { PropProblem } from './problems';

/**
 * The JavaScript type of a prop, checked before its value: TypeScript checks
 * a TypeScript caller's types, but a JavaScript caller (or one that casts)
 * can pass a string where a list is declared, `'false'` for a boolean, or
 * NaN for a number. Each construct checks every prop's type with these
 * guards first and judges the value only of a prop of the right type, so
 * that such a prop is named with what is allowed instead of ending in a
 * TypeError or being read as truthy.
 *
 * A CloudFormation token passes every guard: it stands for a value of the
 * prop's type, which the template checks at deploy time.
 */
export type PropType = (field: string, value: unknown) => PropProblem | undefined;

/** Whether a value is known at synth: given and not a CloudFormation token. */
export function isKnown(value: unknown): boolean {
  return value !== undefined && !Token.isUnresolved(value);
}

/** A finite number, or a token. `expected` says which numbers (`expected a whole number from 1 to 64`). */
export function numberType(expected: string): PropType {
  return (field, value) => (value === undefined || Token.isUnresolved(value) || (typeof value === 'number' && Number.isFinite(value))
    ? undefined
    : { field, given: value, expected });
}

/** A string, or a token. */
export function stringType(expected = 'expected a string'): PropType {
  return (field, value) => (value === undefined || typeof value === 'string' || Token.isUnresolved(value) ? undefined : { field, given: value, expected });
}

/** true or false: a string `'false'` would otherwise be read as true. */
export const booleanType: PropType = (field, value) => (value === undefined || typeof value === 'boolean' || Token.isUnresolved(value)
  ? undefined
  : { field, given: value, expected: `expected true or false (a boolean${typeof value === 'string' ? ', not a string' : ''})` });

/** A list of strings (a token list, or tokens in it, pass). `expected` says what the list holds (`expected a list of IPv4 CIDR blocks`). */
export function stringListType(expected: string): PropType {
  return (field, value) => {
    if (value === undefined || Token.isUnresolved(value)) {
      return undefined;
    }
    if (!Array.isArray(value)) {
      return { field, given: value, expected: `${expected}${typeof value === 'string' ? ' (a list, not one string)' : ''}` };
    }
    const bad = value.findIndex((item) => typeof item !== 'string');
    return bad < 0 ? undefined : { field: `${field}[${bad}]`, given: value[bad], expected: `${expected}: each entry a string` };
  };
}

/** A list (of objects, checked one by one by the caller). */
export function listType(expected: string): PropType {
  return (field, value) => (value === undefined || Array.isArray(value) || Token.isUnresolved(value)
    ? undefined
    : { field, given: value, expected: `${expected}${typeof value === 'string' ? ' (a list, not one string)' : ''}` });
}

/** An object with the named methods or properties: a construct, a CDK type (`expected an ec2.IVpc`), or a plain props object (no members). */
export function objectType(expected: string, ...members: string[]): PropType {
  return (field, value) => {
    if (value === undefined) {
      return undefined;
    }
    const ok = typeof value === 'object' && value !== null && !Array.isArray(value)
      && members.every((m) => (value as Record<string, unknown>)[m] !== undefined);
    return ok ? undefined : { field, given: printable(value), expected };
  };
}

/** A prop that must be given; `expected` says what it must be (`a LlamaModel: ...`). */
export function required(type: PropType, expected: string): PropType {
  return (field, value) => (value === undefined ? { field, expected: `required: ${expected.replace(/^expected /, '')}` } : type(field, value));
}

/** Checks each prop of `props` named in `types` with its guard. */
export function propTypeProblems<T extends object>(props: T, types: { readonly [K in keyof T]-?: PropType }, prefix = ''): PropProblem[] {
  return (Object.keys(types) as (keyof T & string)[]).flatMap((key) => {
    const problem = types[key](`${prefix}${key}`, (props as Record<string, unknown>)[key]);
    return problem ? [problem] : [];
  });
}

/**
 * The props with each prop a problem names (its top-level name) left out, so
 * that the checks of values, which assume the declared types, see those
 * props as unset: a prop of the wrong type is reported once, by its type.
 */
export function withoutProps<T extends object>(props: T, problems: readonly PropProblem[], prefix = ''): T {
  const names = new Set(problems.map((p) => p.field.slice(prefix.length).split(/[.[]/)[0]));
  return Object.fromEntries(Object.entries(props).filter(([key]) => !names.has(key))) as T;
}

/**
 * A value as a problem shows it: an object of a class by its class's name (a
 * Stack, a Vpc), whose fields would print the construct tree, or fail on a cycle.
 */
export function printable(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return value;
  }
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : value;
}

/**
 * What to add when a value fails a lower-case pattern only because of its
 * case (a hash or commit copied from a tool that prints upper case): the
 * value as it must be written.
 */
export function lowerCaseHint(value: string, pattern: RegExp): string {
  const lower = value.toLowerCase();
  return lower !== value && pattern.test(lower) ? `; it has upper-case letters: write it in lower case, "${lower}"` : '';
}

/** A Duration (`example` shows one: `Duration.minutes(40)`). */
export function durationType(example: string): PropType {
  return (field, value) => (value === undefined || value instanceof Duration
    ? undefined
    : { field, given: printable(value), expected: `expected a Duration, e.g. ${example}${typeof value === 'number' ? ' (a number has no unit)' : ''}` });
}
