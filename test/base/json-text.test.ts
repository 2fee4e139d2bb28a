/**
 * The JSON every configuration file is read with: JSON.parse keeps the last
 * of a key given twice without a word (`"maxCapacity": 2`, later `50`,
 * deploys 50), so every such key is found, at any depth, with where each is.
 */
import { DuplicateKey, duplicateKeyProblem, findDuplicateKeys, parseJsonText } from '../../lib/base/json-text';
import { formatPropProblem } from '../../lib/base/problems';

/** The paths found, each with the positions of its occurrences as line:column. */
const found = (text: string): Record<string, string[]> => Object.fromEntries(
  findDuplicateKeys(text).map((d) => [d.path, d.occurrences.map((o) => `${o.line}:${o.column}`)]),
);

describe('findDuplicateKeys', () => {
  test('a key given twice at the top, with its line and column each time', () => {
    const text = '{\n  "minCapacity": 1,\n  "maxCapacity": 2,\n  "port": 8080,\n  "maxCapacity": 50\n}\n';
    expect(findDuplicateKeys(text)).toEqual([{ path: 'maxCapacity', occurrences: [{ line: 3, column: 3, value: 2 }, { line: 5, column: 3, value: 50 }] }]);
  });

  test('no duplicate: nothing, whatever the values hold', () => {
    expect(findDuplicateKeys('{}')).toEqual([]);
    expect(findDuplicateKeys('[]')).toEqual([]);
    expect(findDuplicateKeys('"a"')).toEqual([]);
    expect(findDuplicateKeys('{"a":1,"b":[1,2,{"a":3}],"c":{"a":{"a":null}}}')).toEqual([]);
    // Braces, quotes, colons and commas inside strings are text, not structure.
    expect(findDuplicateKeys('{"x":"{\\"a\\":1,\\"a\\":2}","y":"}","z":"]:,","w":"\\\\"}')).toEqual([]);
  });

  test('escaped quotes and backslashes in keys: the key ends where JSON says it does', () => {
    expect(found('{"a\\"b":1,"a\\"b":2}')).toEqual({ 'a"b': ['1:2', '1:11'] });
    // `"a\"b"` is not `"a"`, and a key ending in a backslash ends at the quote after it.
    expect(found('{"a\\"b":1,"a":2,"b":3}')).toEqual({});
    expect(found('{"a\\\\":1,"a":2}')).toEqual({});
    expect(found('{"a\\\\":1,"a\\\\":2}')).toEqual({ 'a\\': ['1:2', '1:10'] });
    expect(found('{"\\\\\\"":1,"\\\\\\"":2}')).toEqual({ '\\"': ['1:2', '1:11'] });
  });

  test('keys are compared as JSON.parse decodes them', () => {
    expect(found('{"a":1,"\\u0061":2}')).toEqual({ a: ['1:2', '1:8'] });
    expect(found('{"\\u00e9":1,"é":2}')).toEqual({ 'é': ['1:2', '1:13'] });
    expect(found('{"\\u00E9":1,"\\u00e9":2}')).toEqual({ 'é': ['1:2', '1:13'] });
    expect(found('{"\\ud83e\\udd99":1,"🦙":2}')).toEqual({ '🦙': ['1:2', '1:19'] });
    expect(found('{"a/b":1,"a\\/b":2}')).toEqual({ 'a/b': ['1:2', '1:10'] });
    expect(found('{"\\t":1,"\\u0009":2}')).toEqual({ '\t': ['1:2', '1:9'] });
    // Different names stay different: case, a zero-width space, a trailing space.
    expect(found('{"a":1,"A":2,"a\\u200b":3,"a ":4}')).toEqual({});
  });

  test('nested objects: the dotted path of the key', () => {
    const text = JSON.stringify({ customModel: { source: 's3://b/k', sha256: 'a' } }, null, 2).replace('"sha256": "a"', '"sha256": "a",\n    "sha256": "b"');
    expect(findDuplicateKeys(text)).toEqual([{ path: 'customModel.sha256', occurrences: [{ line: 4, column: 5, value: 'a' }, { line: 5, column: 5, value: 'b' }] }]);
  });

  test('objects in lists: the entry\'s index in the path', () => {
    const text = '{"scheduledCapacity":[{"name":"a","cron":"0 8 * * *"},{"name":"b","cron":"0 8 * * *","cron":"0 9 * * *"}]}';
    const second = text.indexOf('"cron"', text.indexOf('"b"'));
    expect(found(text)).toEqual({ 'scheduledCapacity.1.cron': [`1:${second + 1}`, `1:${text.indexOf('"cron"', second + 1) + 1}`] });
    expect(found('[[{"a":1}],[{"a":1,"a":2}]]')).toEqual({ '1.0.a': ['1:14', '1:20'] });
  });

  test('the same key in sibling objects, list entries or at another depth is no duplicate', () => {
    expect(found('{"a":{"x":1},"b":{"x":2}}')).toEqual({});
    expect(found('[{"x":1},{"x":2}]')).toEqual({});
    expect(found('{"x":{"x":{"x":1}}}')).toEqual({});
  });

  test('three times, several keys, several objects: every one', () => {
    const text = '{"a":1,"b":{"c":1,"c":2},"a":2,"a":3,"d":[{"e":1,"e":2}]}';
    expect(found(text)).toEqual({ 'b.c': ['1:13', '1:19'], 'd.0.e': ['1:44', '1:50'], a: ['1:2', '1:26', '1:32'] });
  });

  test('objects and lists given twice: the values as JSON.parse reads them', () => {
    expect(findDuplicateKeys('{"m":{"a":[1,{"b":null}]},"m":[true,-1.5e3,"x"]}')).toEqual([
      { path: 'm', occurrences: [{ line: 1, column: 2, value: { a: [1, { b: null }] } }, { line: 1, column: 27, value: [true, -1500, 'x'] }] },
    ]);
  });

  test('special names: __proto__, the empty key, keys with dots', () => {
    expect(findDuplicateKeys('{"__proto__":1,"__proto__":2}')).toEqual([{ path: '__proto__', occurrences: [{ line: 1, column: 2, value: 1 }, { line: 1, column: 16, value: 2 }] }]);
    expect(found('{"":1,"":2}')).toEqual({ '': ['1:2', '1:7'] });
    expect(found('{"a.b":{"c":1,"c":2}}')).toEqual({ 'a.b.c': ['1:9', '1:15'] });
  });

  test('lines end at LF, CRLF or CR; tabs count as one column', () => {
    expect(found('{\r\n\t"a": 1,\r\n\t"a": 2\r\n}')).toEqual({ a: ['2:2', '3:2'] });
    expect(found('{\r"a": 1,\r"a": 2\r}')).toEqual({ a: ['2:1', '3:1'] });
    expect(found('{ "a" : 1 , \n\n   "a"   :   2 }')).toEqual({ a: ['1:3', '3:4'] });
  });

  test('nesting deeper than the call stack allows', () => {
    const depth = 100_000;
    const text = `${'{"a":'.repeat(depth)}{"b":1,"b":2}${'}'.repeat(depth)}`;
    const [d] = findDuplicateKeys(text);
    expect(d.path.split('.')).toHaveLength(depth + 1);
    expect(d.occurrences.map((o) => o.value)).toEqual([1, 2]);
  });

  test('random documents: exactly the keys given twice, wherever they are and however they are spelt', () => {
    let seed = 21;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const names = ['a', 'b', 'é', 'a"b', 'a\\', '🦙', 'x/y', '{', ':', ','];
    const space = (): string => pick(['', ' ', '\n', '\t', '\r\n', '  ']);
    const unicode = (unit: string): string => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
    /** A key spelt as JSON allows, each UTF-16 unit as itself (or its short escape) or as \uXXXX, halves of a surrogate pair apart. */
    const spell = (name: string): string => `"${name.split('').map((unit) => {
      const escaped = random() < 0.5;
      if (unit === '"' || unit === '\\') return escaped ? unicode(unit) : `\\${unit}`;
      if (unit === '/' && escaped) return pick(['\\/', unicode(unit)]);
      return escaped ? unicode(unit) : unit;
    }).join('')}"`;

    let withDuplicates = 0;
    for (let round = 0; round < 300; round++) {
      // One entry per object and key given more than once in it: PATH#TIMES.
      const expected: string[] = [];
      const value = (path: string[], depth: number): string => {
        const r = random();
        if (depth > 3 || r < 0.35) return pick(['1', '-2.5e3', 'true', 'null', '"v"', '"}{,:\\""']);
        if (r < 0.55) {
          const n = Math.floor(random() * 3);
          return `[${space()}${Array.from({ length: n }, (_, i) => value([...path, String(i)], depth + 1)).join(`${space()},${space()}`)}${space()}]`;
        }
        const keys = Array.from({ length: Math.floor(random() * 5) }, () => pick(names));
        const counts = new Map<string, number>();
        keys.forEach((k) => counts.set(k, (counts.get(k) ?? 0) + 1));
        const members = keys.map((k) => `${space()}${spell(k)}${space()}:${space()}${value([...path, k], depth + 1)}${space()}`);
        counts.forEach((times, k) => {
          if (times > 1) expected.push(`${[...path, k].join('.')}#${times}`);
        });
        return `{${members.join(',')}}`;
      };
      const text = value([], 0);
      // The document is JSON, as the scan requires.
      expect(() => JSON.parse(text)).not.toThrow();
      const reported = findDuplicateKeys(text).map((d) => `${d.path}#${d.occurrences.length}`);
      expect(reported.sort()).toEqual(expected.sort());
      withDuplicates += expected.length > 0 ? 1 : 0;
    }
    // The rounds tried both: documents with duplicates and documents without.
    expect(withDuplicates).toBeGreaterThan(50);
    expect(withDuplicates).toBeLessThan(250);
  });
});

describe('parseJsonText', () => {
  test('JSON without duplicates: the value JSON.parse gives', () => {
    expect(parseJsonText('{"a":[1,{"b":2}]}')).toEqual({ ok: true, value: { a: [1, { b: 2 }] } });
  });

  test('duplicates: refused, every one', () => {
    const r = parseJsonText('{"a":1,"a":2}');
    expect(r).toEqual({ ok: false, duplicates: [{ path: 'a', occurrences: [{ line: 1, column: 2, value: 1 }, { line: 1, column: 8, value: 2 }] }] });
  });

  test('a byte-order mark at the start: refused by name, escaped, with how to save the file', () => {
    const r = parseJsonText('\ufeff{"a":1}');
    expect(r.ok).toBe(false);
    const message = 'notJson' in r ? r.notJson : '';
    expect(message).toContain('byte-order mark, \\ufeff (U+FEFF)');
    expect(message).toContain('UTF-8 without a BOM');
    expect(message).not.toContain('\ufeff');
    // Read past when asked (cdk.json, as the CDK CLI reads it); duplicates are still found, at their place in the file.
    expect(parseJsonText('\ufeff{"a":1}', { allowByteOrderMark: true })).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('\ufeff{"a":1,"a":2}', { allowByteOrderMark: true })).toMatchObject({ ok: false, duplicates: [{ path: 'a' }] });
  });

  test('not JSON: JSON.parse\'s reason, with the line and column where it names a position', () => {
    expect(parseJsonText('{\n  "a": 1,\n  "b" 2\n}')).toEqual({ ok: false, notJson: 'Unexpected number in JSON at position 18 (line 3, column 7)' });
    expect(parseJsonText('{ "account": }')).toMatchObject({ ok: false, notJson: expect.stringContaining('is not valid JSON') });
  });
});

describe('duplicateKeyProblem', () => {
  const d = (occurrences: DuplicateKey['occurrences']): DuplicateKey => ({ path: 'maxCapacity', occurrences });

  test('the value that would have been used, where each is given, and what to do', () => {
    expect(formatPropProblem(duplicateKeyProblem(d([{ line: 3, column: 3, value: 2 }, { line: 7, column: 3, value: 50 }]))))
      .toBe('maxCapacity: got 50; the key is given twice in one object, at line 3 column 3 (2) and at line 7 column 3 (50); '
        + 'JSON keeps only the last without a word, so the first would be ignored: keep one of them and delete the rest');
  });

  test('three times; objects are not repeated in the places; a prefix for the reader\'s own field names', () => {
    const p = duplicateKeyProblem({ path: 'customModel', occurrences: [{ line: 2, column: 3, value: { a: 1 } }, { line: 5, column: 3, value: 'x' }, { line: 9, column: 3, value: { b: 2 } }] }, 'template.');
    expect(p.field).toBe('template.customModel');
    expect(p.given).toEqual({ b: 2 });
    expect(p.expected).toContain('given 3 times in one object, at line 2 column 3 and at line 5 column 3 ("x") and at line 9 column 3;');
    expect(p.expected).toContain('so the others would be ignored');
  });

  test('an invisible character in a value is shown escaped', () => {
    const line = formatPropProblem(duplicateKeyProblem(d([{ line: 1, column: 2, value: 'a' }, { line: 1, column: 9, value: 'a\u200b' }])));
    expect(line).toContain('got "a\\u200b" (contains invisible characters: U+200B (zero-width space) at 2)');
    // Named once, for the value and the places alike.
    expect(line).toContain('at line 1 column 2 ("a") and at line 1 column 9 ("a\\u200b"); JSON keeps only the last');
    expect(line.match(/contains invisible characters/g)).toHaveLength(1);
    expect(line).not.toContain('\u200b');
  });
});
