/**
 * One thing wrong with a construct's props: the prop, the value given, and
 * what is allowed. The configuration layer reports the same problems with the
 * file or flag a value came from (ConfigProblem extends this), so a check is
 * written once, here, next to the construct that owns the value.
 */
export interface PropProblem {
  /** Dotted path of the prop, e.g. `minCapacity` or `customModel.quantizeTo`. */
  readonly field: string;
  /** What was given; undefined when the prop was missing. */
  readonly given?: unknown;
  /** What is allowed, or what to do instead. */
  readonly expected: string;
}

/**
 * `field: got VALUE; EXPECTED`, the form every problem is printed in. The
 * value is written by formatValue; an invisible character anywhere else in
 * the line (a key given with a zero-width space, a value quoted in the
 * expectation) is shown escaped too, and named once.
 */
export function formatPropProblem(p: PropProblem): string {
  const value = p.given === undefined ? undefined : renderValue(p.given);
  const given = value === undefined ? 'nothing was given' : `got ${withNote(value.text, value.found, value.positions)}`;
  const noted = new Set(value?.found.map((c) => c.codePoint));
  return `${formatText(p.field)}: ${given}; ${formatText(p.expected, noted)}`;
}

/**
 * A value as a message shows it: strings quoted (JSON's escapes), numbers as
 * they are (`NaN`, `Infinity`, `-0`, where JSON would write `null` or `0`),
 * `undefined`, bigints (`12n`), functions (`[Function: name]`), constructs
 * (`[Vpc Stack/Vpc]`), arrays and objects in JSON's form with the same rules
 * inside (a cycle as `[Circular]`); long values cut at 120
 * characters. Invisible characters (see INVISIBLE) are written `\uXXXX` and
 * named after the value: `"c7g.large\u200b" (contains invisible characters:
 * U+200B (zero-width space) at 10)`, the position counted in characters from 1.
 */
export function formatValue(v: unknown): string {
  const { text, found, positions } = renderValue(v);
  return withNote(text, found, positions);
}

/**
 * Text of a message (a field, an expectation, a command-line tool's line) with
 * each invisible character written `\uXXXX`, and a note naming them, unless
 * `alreadyNamed` (code points) names them all.
 */
export function formatText(text: string, alreadyNamed: ReadonlySet<number> = new Set()): string {
  const { text: shown, found } = escapeInvisible(text);
  const unnamed = found.filter((c) => !alreadyNamed.has(c.codePoint));
  return withNote(shown, unnamed, false);
}

/** An invisible character of a text: its code point, and where it is (the 1-based character count). */
export interface InvisibleCharacter {
  readonly codePoint: number;
  readonly at: number;
}

/**
 * Characters a reader cannot see in a message, or cannot tell from a plain
 * space: control characters (Cc), format characters such as the byte-order
 * mark, the zero-width spaces and joiners and the bidirectional controls
 * (Cf), every space separator but the plain space (Zs: no-break space, thin
 * space, ...), the line and paragraph separators (Zl, Zp), lone surrogates
 * (Cs), and the other characters Unicode has drawn as nothing
 * (Default_Ignorable_Code_Point: the soft hyphen, Hangul fillers, variation
 * selectors, ...).
 */
const INVISIBLE = /^(?! )[\p{Cc}\p{Cf}\p{Cs}\p{Zs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]$/u;

/**
 * The one place invisible characters are escaped: each written as JSON and
 * JavaScript write it, `\uXXXX` (a pair of them above U+FFFF), with the list
 * of those found.
 */
export function escapeInvisible(text: string): { text: string; found: InvisibleCharacter[] } {
  const found: InvisibleCharacter[] = [];
  let out = '';
  let at = 0;
  for (const ch of text) {
    at++;
    if (INVISIBLE.test(ch)) {
      found.push({ codePoint: ch.codePointAt(0)!, at });
      out += unicodeEscape(ch);
    } else {
      out += ch;
    }
  }
  return { text: out, found };
}

function unicodeEscape(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) {
    out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** Names of the invisible characters most often met in configuration files and pasted values. */
const NAMES: Readonly<Record<number, string>> = {
  0x00: 'null', 0x09: 'tab', 0x0a: 'line feed', 0x0d: 'carriage return', 0x7f: 'delete',
  0xa0: 'no-break space', 0xad: 'soft hyphen', 0x034f: 'combining grapheme joiner', 0x180e: 'Mongolian vowel separator',
  0x2002: 'en space', 0x2003: 'em space', 0x2007: 'figure space', 0x2009: 'thin space', 0x200a: 'hair space',
  0x200b: 'zero-width space', 0x200c: 'zero-width non-joiner', 0x200d: 'zero-width joiner',
  0x200e: 'left-to-right mark', 0x200f: 'right-to-left mark', 0x2028: 'line separator', 0x2029: 'paragraph separator',
  0x202a: 'left-to-right embedding', 0x202b: 'right-to-left embedding', 0x202c: 'pop directional formatting',
  0x202d: 'left-to-right override', 0x202e: 'right-to-left override', 0x202f: 'narrow no-break space',
  0x205f: 'medium mathematical space', 0x2060: 'word joiner', 0x2066: 'left-to-right isolate', 0x2067: 'right-to-left isolate',
  0x2068: 'first strong isolate', 0x2069: 'pop directional isolate', 0x3000: 'ideographic space', 0x3164: 'Hangul filler',
  0xfeff: 'byte-order mark',
};

function characterName(codePoint: number): string {
  const ch = String.fromCodePoint(codePoint);
  const name = NAMES[codePoint]
    ?? (/\p{Cc}/u.test(ch) ? 'control character'
      : /\p{Zs}/u.test(ch) ? 'space'
        : /\p{Cs}/u.test(ch) ? 'lone surrogate'
          : 'invisible character');
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')} (${name})`;
}

/** At most this many characters are named, and this many positions given for each; the rest are counted. */
const MAX_NAMED = 5;

/** `(contains invisible characters: U+200B (zero-width space) at 10, U+00A0 (no-break space) at 3, 7)`. */
function withNote(text: string, found: readonly InvisibleCharacter[], positions: boolean): string {
  if (found.length === 0) {
    return text;
  }
  const byCodePoint = new Map<number, number[]>();
  for (const c of found) {
    byCodePoint.set(c.codePoint, [...(byCodePoint.get(c.codePoint) ?? []), c.at]);
  }
  const named = [...byCodePoint].slice(0, MAX_NAMED).map(([codePoint, at]) => {
    const more = at.length > MAX_NAMED ? ` and ${at.length - MAX_NAMED} more` : '';
    return `${characterName(codePoint)}${positions ? ` at ${at.slice(0, MAX_NAMED).join(', ')}${more}` : ''}`;
  });
  const others = byCodePoint.size > MAX_NAMED ? `, and ${byCodePoint.size - MAX_NAMED} other kinds` : '';
  return `${text} (contains invisible characters: ${named.join(', ')}${others})`;
}

/** Longest value shown; a longer one is cut, and ends in `...`. */
const MAX_VALUE = 120;

interface RenderedValue {
  readonly text: string;
  readonly found: InvisibleCharacter[];
  /** Whether the positions of `found` are worth naming: those of a string are; those inside a list or object are each string's own. */
  readonly positions: boolean;
}

function renderValue(v: unknown): RenderedValue {
  const found: InvisibleCharacter[] = [];
  const text = truncate(render(v, found, new Set(), { left: MAX_VALUE * 2 }));
  const positions = typeof v === 'string';
  return { text, found, positions };
}

/** Characters a container still renders before it stops: the value is cut at MAX_VALUE in any case. */
interface Budget {
  left: number;
}

function render(v: unknown, found: InvisibleCharacter[], seen: Set<object>, budget: Budget): string {
  if (typeof v === 'object' && v !== null) {
    return renderObject(v, found, seen, budget);
  }
  const text = renderPrimitive(v, found);
  budget.left -= text.length;
  return text;
}

function renderPrimitive(v: unknown, found: InvisibleCharacter[]): string {
  switch (typeof v) {
    case 'string':
      return quote(v, found);
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'symbol':
      return v.toString();
    case 'function':
      return v.name ? `[Function: ${v.name}]` : '[Function (anonymous)]';
    default:
      return 'null';
  }
}

/** An array or object in JSON's form, with each value as render writes it (`toJSON` used, as JSON does). */
function renderObject(obj: object, found: InvisibleCharacter[], seen: Set<object>, budget: Budget): string {
  if (seen.has(obj)) {
    return '[Circular]';
  }
  // A construct (a VPC given where another was meant) by its class and path, not its whole tree.
  const constructPath = (obj as { node?: { path?: unknown } }).node?.path;
  if (typeof constructPath === 'string') {
    const name = `[${obj.constructor?.name ?? 'Construct'} ${constructPath}]`;
    budget.left -= name.length;
    return name;
  }
  seen.add(obj);
  try {
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      let json: unknown;
      try {
        json = toJSON.call(obj);
      } catch {
        return `[object ${obj.constructor?.name ?? 'Object'}]`;
      }
      return render(json, found, seen, budget);
    }
    const parts: string[] = [];
    const entries: [string | undefined, unknown][] = Array.isArray(obj)
      ? obj.map((item) => [undefined, item])
      : Object.keys(obj).map((k) => [k, (obj as Record<string, unknown>)[k]]);
    for (const [key, item] of entries) {
      if (budget.left <= 0) {
        parts.push('...');
        break;
      }
      if (key === undefined) {
        parts.push(render(item, found, seen, budget));
      } else {
        const name = quote(key, found);
        budget.left -= name.length;
        parts.push(`${name}:${render(item, found, seen, budget)}`);
      }
    }
    return Array.isArray(obj) ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
  } finally {
    seen.delete(obj);
  }
}

/** A string as JSON quotes it, with the invisible characters JSON leaves as they are escaped too. */
function quote(s: string, found: InvisibleCharacter[]): string {
  found.push(...escapeInvisible(s).found);
  return JSON.stringify(s).replace(/[^\x20-\x7e]/gu, (ch) => (INVISIBLE.test(ch) ? unicodeEscape(ch) : ch));
}

/** Cut at MAX_VALUE characters, never inside an escape (`\u200b`, `\"`) or a surrogate pair. */
function truncate(text: string): string {
  if (text.length <= MAX_VALUE) {
    return text;
  }
  let out = '';
  for (const unit of text.match(/\\u[0-9a-fA-F]{4}|\\[\s\S]|[\s\S]/gu) ?? []) {
    if (out.length + unit.length > MAX_VALUE - 3) {
      break;
    }
    out += unit;
  }
  return `${out}...`;
}

/**
 * Props a construct refuses, all of them at once, each with what was received
 * and what is expected.
 *
 * TypeScript and JavaScript only: jsii cannot model a subclass of Error, so in
 * other languages the same message arrives as the runtime's own error.
 *
 * @jsii ignore
 */
export class PropsError extends Error {
  readonly problems: readonly PropProblem[];

  constructor(owner: string, problems: readonly PropProblem[]) {
    super([`${formatText(owner)}: invalid props:`, ...problems.map((p) => `  - ${formatPropProblem(p)}`)].join('\n'));
    this.name = 'PropsError';
    this.problems = problems;
  }
}

/** Throws a PropsError naming `owner` (a construct's class and path) when there is any problem. */
export function throwIfProblems(owner: string, problems: readonly PropProblem[]): void {
  if (problems.length > 0) {
    throw new PropsError(owner, problems);
  }
}
