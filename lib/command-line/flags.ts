/**
 * Reading the kit's command lines (`npm run bench`, `smoke`, `sizing`,
 * `local`): flags to values, or one message per problem that names the flag,
 * the value given and what is allowed, so a mistake never reaches a stack
 * trace or a run with a value the user did not mean. Every number has an
 * upper bound as well as a lower one: an unbounded number ends up in a timer,
 * an allocation or a loop, and fails there far from its flag.
 */
import { parseArgs } from 'node:util';
import { formatText, formatValue } from '../base/problems';
import { withinTwoEdits } from '../base/suggest';
import { helpHint, type CommandName } from './commands';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The values read, typed by the specs: a string flag's text, or true for a boolean flag given. */
export type FlagValues<S extends FlagSpecs> = { -readonly [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : string };

export interface ReadFlags<S extends FlagSpecs> {
  readonly values: FlagValues<S>;
  /** One message per unknown, repeated or valueless flag and per stray argument. */
  readonly errors: string[];
}

/**
 * Reads argv against the specs. Unlike `parseArgs` in strict mode, which
 * stops at the first problem with a message that names no alternative, this
 * reports every problem and suggests the flag a typo was meant to be.
 */
export function readFlags<S extends FlagSpecs>(argv: readonly string[], specs: S): ReadFlags<S> {
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, { type: s.type, ...(s.short ? { short: s.short } : {}) }]));
  const values: Record<string, string | boolean> = {};
  const errors: string[] = [];
  const names = Object.keys(specs);
  // `-url` would otherwise read as the short flags -u -r -l.
  // A value after an unknown flag belongs to it: reported once, with the flag.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const single = /^-[^-\d.]{2,}/.test(a) && !argv.slice(0, i).includes('--') && !(i > 0 && isStringFlag(argv[i - 1], specs));
    if (!single) {
      args.push(a);
      continue;
    }
    const near = closestName(a.slice(1).split('=')[0], names);
    errors.push(`${a}: flags start with two dashes${near ? `; did you mean --${near}?` : ''}`);
    if (!a.includes('=') && i + 1 < argv.length && !argv[i + 1].startsWith('-')) i++;
  }
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  let unknownAt: number | undefined;
  let afterTerminator = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      afterTerminator = true;
      continue;
    }
    if (token.kind === 'positional') {
      if (unknownAt !== undefined && token.index === unknownAt + 1 && !afterTerminator) continue;
      errors.push(
        afterTerminator || !token.value.startsWith('-')
          ? `unexpected argument ${formatValue(token.value)}: every value follows its flag (--flag VALUE)`
          : `${token.value}: unknown flag`,
      );
      continue;
    }
    const spec = specs[token.name];
    if (!spec) {
      const near = closestName(token.name, names);
      errors.push(`${token.rawName}: unknown flag${near ? `; did you mean --${near}?` : ''}`);
      if (!token.inlineValue) unknownAt = token.index;
      continue;
    }
    const name = token.name;
    const display = `--${name}`;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) errors.push(`${display}: takes no value; got ${formatValue(token.value)}`);
      else if (values[name] === true) errors.push(`${display}: given more than once`);
      values[name] = true;
      continue;
    }
    // A value that is itself a flag means this flag's value was left out (`--url --timeout 5`).
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
      errors.push(`${display}: needs a value${token.value === undefined ? '' : `; got the flag ${token.value}`}`);
      continue;
    }
    if (typeof values[name] === 'string') {
      errors.push(`${display}: given more than once (${formatValue(values[name])} and ${formatValue(token.value)}); give it once`);
      continue;
    }
    values[name] = token.value;
  }
  return { values: values as FlagValues<S>, errors };
}

/** Whether arg is a string flag without an inline value, so the next argument is its value. */
function isStringFlag(arg: string, specs: FlagSpecs): boolean {
  return arg.startsWith('--') && !arg.includes('=') && specs[arg.slice(2)]?.type === 'string';
}

/** The candidate within two edits of the given name (case-insensitive), if any: catches typos. */
export const closestName = withinTwoEdits;

export interface NumberRange {
  /** Least allowed value (or the value it must be above, with `above`). */
  readonly min: number;
  /** Largest allowed value. */
  readonly max: number;
  /** The value must be greater than min, not equal to it. */
  readonly above?: boolean;
  /** Only whole numbers. */
  readonly integer?: boolean;
  /** Said after the range, e.g. "seconds". */
  readonly unit?: string;
}

/** Plain decimal notation only: `0x10`, `Infinity` and `1_000` are not what a user means by a number. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** What a range allows, in words: "a whole number from 1 to 1024", "a number above 0 and at most 3600 (seconds)". */
export function describeRange(r: NumberRange): string {
  const kind = r.integer ? 'a whole number' : 'a number';
  const span = r.above ? `above ${r.min} and at most ${r.max}` : `from ${r.min} to ${r.max}`;
  return `${kind} ${span}${r.unit ? ` (${r.unit})` : ''}`;
}

/** Whether a number lies in the range. */
export function inRange(v: number, r: NumberRange): boolean {
  return Number.isFinite(v) && (r.above ? v > r.min : v >= r.min) && v <= r.max && (!r.integer || Number.isInteger(v));
}

/**
 * `--flag`'s number; the fallback when the flag is absent, or after recording
 * why the text is not a number in the range.
 */
export function numberFlag(flag: string, text: string | undefined, fallback: number, range: NumberRange, errors: string[]): number {
  if (text === undefined) return fallback;
  const v = Number(text.trim());
  if (!DECIMAL.test(text.trim()) || !inRange(v, range)) {
    errors.push(`--${flag}: got ${formatValue(text)}; expected ${describeRange(range)}`);
    return fallback;
  }
  return v;
}

/** An http(s) URL as given, or '' after recording why it is not one; `label` names where it came from. */
export function httpUrl(label: string, text: string, errors: string[]): string {
  try {
    const u = new URL(text);
    if (u.protocol === 'http:' || u.protocol === 'https:') return text;
  } catch {
    // reported below
  }
  errors.push(`${label}: got ${formatValue(text)}; expected an http:// or https:// URL`);
  return '';
}

/**
 * The lines a command prints for usage errors (its exit code is then 2):
 * every problem, then how to list the flags, with the command as it is run
 * (lib/command-line/commands.ts), never a script that does not exist. A value
 * a command quoted itself (`got "${text}"`) may hold characters no terminal
 * shows: each line is printed with them escaped and named, as formatValue
 * does for the values quoted here.
 */
export function usageErrors(command: CommandName, errors: readonly string[]): string {
  return `Invalid ${command} options:\n${errors.map((e) => `  - ${formatText(e)}`).join('\n')}\n\n${helpHint(command)}`;
}
