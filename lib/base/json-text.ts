/**
 * Reading the JSON a user wrote (configuration files, cdk.json, JSON given to
 * `-c`): JSON.parse, plus the two mistakes it lets through or words badly.
 *
 * - A key given twice in one object: JSON.parse keeps the last without a
 *   word, so `"maxCapacity": 2` followed later by `"maxCapacity": 50` deploys
 *   50. Every such key is found, at any depth, with the line and column of
 *   each time it is given. Keys are compared as JSON.parse decodes them, so
 *   `"a"` and `"\u0061"` are one key, and `"a\"b"` is the key `a"b`.
 * - A byte-order mark (U+FEFF) before the JSON: JSON.parse fails on it with a
 *   message that prints the mark, which no terminal shows. It is named instead.
 */
import { PropProblem } from './problems';

/** Where a key is given: line and column from 1 (columns counted in UTF-16 code units, as editors and JSON.parse count). */
export interface JsonPosition {
  readonly line: number;
  readonly column: number;
}

/** One time a key is given: where, and the value given there. */
export interface JsonKeyOccurrence extends JsonPosition {
  readonly value: unknown;
}

/** A key given more than once in one object. */
export interface DuplicateKey {
  /** Dotted path of the key in the document, list entries by index: `customModel.sha256`, `scheduledCapacity.0.cron`. */
  readonly path: string;
  /** Each time it is given, in the order of the text. */
  readonly occurrences: readonly JsonKeyOccurrence[];
}

export type JsonText =
  | { readonly ok: true; readonly value: unknown }
  /** Not JSON (or starting with a byte-order mark): one sentence saying why, with the line and column where known. */
  | { readonly ok: false; readonly notJson: string }
  | { readonly ok: false; readonly duplicates: readonly DuplicateKey[] };

const BOM = '\ufeff';

export interface ParseJsonOptions {
  /**
   * Read past a byte-order mark at the start, as the CDK CLI reads cdk.json.
   * @default false - refused, with a message that names it
   */
  readonly allowByteOrderMark?: boolean;
}

/** JSON.parse, refusing an object that gives a key twice and naming a leading byte-order mark. */
export function parseJsonText(text: string, options: ParseJsonOptions = {}): JsonText {
  if (text.startsWith(BOM)) {
    if (!options.allowByteOrderMark) {
      return {
        ok: false,
        notJson: 'the text starts with a byte-order mark, \\ufeff (U+FEFF), which most editors do not show and JSON does not allow: '
          + 'save the file as UTF-8 without a BOM (the encoding "UTF-8", not "UTF-8 with BOM"; in PowerShell, Set-Content -Encoding utf8NoBOM)',
      };
    }
    text = text.slice(BOM.length);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, notJson: syntaxMessage(text, (e as Error).message) };
  }
  const duplicates = findDuplicateKeys(text);
  return duplicates.length > 0 ? { ok: false, duplicates } : { ok: true, value };
}

/** JSON.parse's message, with the line and column of the position it names. */
function syntaxMessage(text: string, message: string): string {
  const at = /at position (\d+)/.exec(message);
  if (!at) {
    return message;
  }
  const { line, column } = positionAt(lineStarts(text), Number(at[1]));
  return `${message} (line ${line}, column ${column})`;
}

/**
 * The problem a duplicate key is reported as: the key's path, the value JSON
 * would have kept (the last), where each is given, and what to do. `field`
 * prefixes the path (`template.`, a file's name) where the reader's other
 * problems do so.
 */
export function duplicateKeyProblem(d: DuplicateKey, fieldPrefix = ''): PropProblem {
  const times = d.occurrences.length === 2 ? 'twice' : `${d.occurrences.length} times`;
  // Short values are repeated as written (the problem's line shows any invisible character in them escaped).
  const where = d.occurrences.map((o) => {
    const written = isScalar(o.value) ? JSON.stringify(o.value) : undefined;
    return `line ${o.line} column ${o.column}${written !== undefined && written.length <= 60 ? ` (${written})` : ''}`;
  });
  return {
    field: `${fieldPrefix}${d.path}`,
    given: d.occurrences[d.occurrences.length - 1].value,
    expected: `the key is given ${times} in one object, at ${where.join(' and at ')}; JSON keeps only the last without a word, `
      + `so ${d.occurrences.length === 2 ? 'the first' : 'the others'} would be ignored: keep one of them and delete the rest`,
  };
}

function isScalar(v: unknown): boolean {
  return typeof v !== 'object' || v === null;
}

/** An object or list being read, and the key or index it has in the one around it. */
type Frame =
  | { readonly kind: 'object'; readonly segment?: string; readonly keys: Map<string, { start: number; valueStart: number; valueEnd: number }[]>; key?: { name: string; start: number; valueStart: number } }
  | { readonly kind: 'array'; readonly segment?: string; index: number };

/**
 * Every key given more than once in one object, in the order their objects
 * end. `text` must be JSON that JSON.parse accepts (the scan relies on it);
 * it keeps its own stack, so no depth of nesting overflows the call stack.
 */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  const duplicates: DuplicateKey[] = [];
  const stack: Frame[] = [];
  let starts: number[] | undefined;
  const position = (offset: number): JsonPosition => positionAt(starts ??= lineStarts(text), offset);
  let i = 0;

  const valueEnded = (end: number): void => {
    const top = stack[stack.length - 1];
    if (top?.kind === 'object' && top.key) {
      const { name, start, valueStart } = top.key;
      const seen = top.keys.get(name);
      if (seen) {
        seen.push({ start, valueStart, valueEnd: end });
      } else {
        top.keys.set(name, [{ start, valueStart, valueEnd: end }]);
      }
      top.key = undefined;
    } else if (top?.kind === 'array') {
      top.index++;
    }
  };

  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ',' || c === ':') {
      i++;
      continue;
    }
    const top = stack[stack.length - 1];
    if (top?.kind === 'object' && !top.key && c === '"') {
      // A key: decoded as JSON.parse decodes it, so that escapes spelling the same name compare equal.
      const start = i;
      i = stringEnd(text, i);
      const name = JSON.parse(text.slice(start, i)) as string;
      while (text[i] !== ':') i++;
      i++;
      while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
      top.key = { name, start, valueStart: i };
      continue;
    }
    if (c === '}' || c === ']') {
      stack.pop();
      if (top?.kind === 'object') {
        for (const [name, occurrences] of top.keys) {
          if (occurrences.length > 1) {
            const path = [...stack, top].map((f) => f.segment).filter((s): s is string => s !== undefined);
            duplicates.push({
              path: [...path, name].join('.'),
              occurrences: occurrences.map((o) => ({ ...position(o.start), value: JSON.parse(text.slice(o.valueStart, o.valueEnd)) as unknown })),
            });
          }
        }
      }
      i++;
      valueEnded(i);
      continue;
    }
    // A value starts: its segment is the key or index it has in the object or list around it.
    const segment = top?.kind === 'object' ? top.key?.name : top?.kind === 'array' ? String(top.index) : undefined;
    if (c === '{') {
      stack.push({ kind: 'object', segment, keys: new Map() });
      i++;
    } else if (c === '[') {
      stack.push({ kind: 'array', segment, index: 0 });
      i++;
    } else if (c === '"') {
      i = stringEnd(text, i);
      valueEnded(i);
    } else {
      // A number, true, false or null.
      while (i < text.length && !' \t\n\r,]}'.includes(text[i])) i++;
      valueEnded(i);
    }
  }
  return duplicates;
}

/** The index after the string starting at `start` (its opening quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') {
    i += text[i] === '\\' ? 2 : 1;
  }
  return i + 1;
}

/** Offsets at which lines start: after each line feed, carriage return and CR LF pair. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) {
      starts.push(i + 1);
    }
  }
  return starts;
}

function positionAt(starts: readonly number[], offset: number): JsonPosition {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}
