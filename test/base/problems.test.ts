/**
 * How a value is shown in a message: faithfully (NaN is NaN, not null), and
 * never with a character the reader cannot see. A byte-order mark or a
 * zero-width space printed as itself makes `got "c7g.large"` read as if a
 * valid value were refused.
 */
import { PropsError, escapeInvisible, formatPropProblem, formatText, formatValue } from '../../lib/base/problems';

/** What a terminal shows of a message can be read only if it is printable ASCII, or visible non-ASCII letters. */
const HIDDEN = /[^\x20-\x7e\p{L}\p{N}\p{P}\p{S}\p{M}]|[\p{Cf}\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0\ufe00-\ufe0f]/u;

describe('formatValue: invisible characters', () => {
  test.each([
    ['\ufeffc7g.large', '"\\ufeffc7g.large" (contains invisible characters: U+FEFF (byte-order mark) at 1)'],
    ['c7g.large\u200b', '"c7g.large\\u200b" (contains invisible characters: U+200B (zero-width space) at 10)'],
    ['c7g.large\u00a0', '"c7g.large\\u00a0" (contains invisible characters: U+00A0 (no-break space) at 10)'],
    ['prod\u00adcution', '"prod\\u00adcution" (contains invisible characters: U+00AD (soft hyphen) at 5)'],
    ['a\u202eb', '"a\\u202eb" (contains invisible characters: U+202E (right-to-left override) at 2)'],
    ['a\u2066b\u2069', '"a\\u2066b\\u2069" (contains invisible characters: U+2066 (left-to-right isolate) at 2, U+2069 (pop directional isolate) at 4)'],
    ['a\u2028b', '"a\\u2028b" (contains invisible characters: U+2028 (line separator) at 2)'],
    ['x\u3000', '"x\\u3000" (contains invisible characters: U+3000 (ideographic space) at 2)'],
    ['x\u2002', '"x\\u2002" (contains invisible characters: U+2002 (en space) at 2)'],
    ['x\u1680', '"x\\u1680" (contains invisible characters: U+1680 (space) at 2)'],
    ['x\u0085', '"x\\u0085" (contains invisible characters: U+0085 (control character) at 2)'],
    ['x\u007f', '"x\\u007f" (contains invisible characters: U+007F (delete) at 2)'],
    ['x\u061c', '"x\\u061c" (contains invisible characters: U+061C (invisible character) at 2)'],
    ['x\u3164', '"x\\u3164" (contains invisible characters: U+3164 (Hangul filler) at 2)'],
    // Above U+FFFF: escaped as JSON writes it, as a surrogate pair, and named by its code point.
    ['x\u{e0041}', '"x\\udb40\\udc41" (contains invisible characters: U+E0041 (invisible character) at 2)'],
    ['lone\ud800', '"lone\\ud800" (contains invisible characters: U+D800 (lone surrogate) at 5)'],
    // JSON's own escapes stay as JSON writes them; the note still names the characters.
    ['a\tb\n', '"a\\tb\\n" (contains invisible characters: U+0009 (tab) at 2, U+000A (line feed) at 4)'],
    ['\u0000', '"\\u0000" (contains invisible characters: U+0000 (null) at 1)'],
  ])('%j', (value, shown) => {
    expect(formatValue(value)).toBe(shown);
  });

  test('a plain space, quotes, backslashes and visible non-ASCII text are shown as they are, with no note', () => {
    expect(formatValue('c7g.2xlarge ')).toBe('"c7g.2xlarge "');
    expect(formatValue('a "quoted" \\ path')).toBe('"a \\"quoted\\" \\\\ path"');
    expect(formatValue('café 日本 🦙')).toBe('"café 日本 🦙"');
    // A zero-width joiner inside an emoji sequence is still shown: a configuration value has no use for it.
    expect(formatValue('👩\u200d💻')).toBe('"👩\\u200d💻" (contains invisible characters: U+200D (zero-width joiner) at 2)');
  });

  test('every control, format, separator and space character but the plain space is escaped', () => {
    const category = /[\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]/u;
    const missed: string[] = [];
    let checked = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (cp === 0x20 || !category.test(ch)) continue;
      checked++;
      const shown = formatValue(`a${ch}b`);
      if (shown.includes(ch) || !shown.includes('(contains invisible characters: U+')) {
        missed.push(`U+${cp.toString(16).toUpperCase()}`);
      }
    }
    expect(missed).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });

  test('the output never holds a character a terminal does not show', () => {
    const samples = ['\ufeff', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2028', '\u2029',
      '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u00a0', '\u00ad',
      '\u2060', '\u180e', '\u034f', '\u115f', '\u1160', '\u17b4', '\u3164', '\uffa0', '\ufe0f', '\u{1d173}', '\u{e0001}'];
    for (const ch of samples) {
      expect(formatValue(`x${ch}`)).not.toMatch(HIDDEN);
      expect(formatValue({ [`k${ch}`]: [`v${ch}`] })).not.toMatch(HIDDEN);
      expect(formatText(`field${ch}`)).not.toMatch(HIDDEN);
    }
  });

  test('each character is named once, with every place it is at (five at most, then a count)', () => {
    expect(formatValue('\u200ba\u200bb\u00a0')).toBe('"\\u200ba\\u200bb\\u00a0" (contains invisible characters: U+200B (zero-width space) at 1, 3, U+00A0 (no-break space) at 5)');
    expect(formatValue('\u200b'.repeat(8))).toMatch(/U\+200B \(zero-width space\) at 1, 2, 3, 4, 5 and 3 more\)$/);
    const kinds = '\u200b\u200c\u200d\u200e\u200f\u00a0\u00ad';
    expect(formatValue(kinds)).toMatch(/U\+200F \(right-to-left mark\) at 5, and 2 other kinds\)$/);
  });

  test('inside a list or object: escaped, and named without positions', () => {
    expect(formatValue(['c7g.large\u200b', { 'cron\ufeff': '0 8 * * *' }]))
      .toBe('["c7g.large\\u200b",{"cron\\ufeff":"0 8 * * *"}] (contains invisible characters: U+200B (zero-width space), U+FEFF (byte-order mark))');
  });

  test('a long value is cut at 120 characters, never inside an escape', () => {
    expect(formatValue('x'.repeat(200))).toBe(`"${'x'.repeat(116)}...`);
    for (let pad = 100; pad < 120; pad++) {
      const shown = formatValue(`${'x'.repeat(pad)}${'\u200b'.repeat(10)}`);
      const [quoted] = shown.split(' (contains');
      expect(quoted.length).toBeLessThanOrEqual(120);
      expect(quoted).toMatch(/^"x+(\\u200b)*(\.\.\.)?$/);
      // The note names what was cut off as well.
      expect(shown).toContain(`U+200B (zero-width space) at ${pad + 1}`);
    }
    // A surrogate pair is not split either.
    expect(formatValue(`${'x'.repeat(114)}🦙🦙🦙`)).toBe(`"${'x'.repeat(114)}🦙...`);
    expect(formatValue(`${'x'.repeat(115)}🦙🦙🦙`)).toBe(`"${'x'.repeat(115)}...`);
  });
});

describe('formatValue: values JSON would change', () => {
  test.each([
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [-0, '-0'],
    [0, '0'],
    [2.5, '2.5'],
    [1e21, '1e+21'],
    [12n, '12n'],
    [undefined, 'undefined'],
    [null, 'null'],
    [true, 'true'],
    [Symbol('id'), 'Symbol(id)'],
    [function named() { return 1; }, '[Function: named]'],
    [[NaN, undefined, -0], '[NaN,undefined,-0]'],
    [{ minCapacity: NaN, maxCapacity: Infinity }, '{"minCapacity":NaN,"maxCapacity":Infinity}'],
    [new Date(0), '"1970-01-01T00:00:00.000Z"'],
    [{ cidr: '10.0.0.0/16' }, '{"cidr":"10.0.0.0/16"}'],
    [['subnet-0123456789abcdef0'], '["subnet-0123456789abcdef0"]'],
  ])('%p', (value, shown) => {
    expect(formatValue(value)).toBe(shown);
  });

  test('an anonymous function, a cycle, a toJSON that throws: no exception, a stand-in', () => {
    expect(formatValue(() => 1)).toBe('[Function (anonymous)]');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(formatValue(cyclic)).toBe('{"a":1,"self":[Circular]}');
    class Token { toJSON(): never { throw new Error('no'); } }
    expect(formatValue(new Token())).toBe('[object Token]');
    const self = { toJSON() { return self; } };
    expect(formatValue(self)).toBe('[Circular]');
  });

  test('a construct by its class and path, not its tree', () => {
    class Vpc { readonly node = { path: 'Stack/Vpc', scope: {} as unknown }; constructor() { this.node.scope = this; } }
    expect(formatValue(new Vpc())).toBe('[Vpc Stack/Vpc]');
    expect(formatValue({ existingVpc: new Vpc() })).toBe('{"existingVpc":[Vpc Stack/Vpc]}');
  });

  test('a large object is not rendered in full', () => {
    const big = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    const shown = formatValue(big);
    expect(shown.length).toBeLessThanOrEqual(120);
    expect(shown).toMatch(/^\{"k0":0,"k1":1,.*\.\.\.$/);
  });

  test('the problem line: got NaN, not got null', () => {
    expect(formatPropProblem({ field: 'minCapacity', given: NaN, expected: 'expected a whole number from 1 to 100' }))
      .toBe('minCapacity: got NaN; expected a whole number from 1 to 100');
    expect(formatPropProblem({ field: 'minCapacity', expected: 'required' })).toBe('minCapacity: nothing was given; required');
  });
});

describe('formatPropProblem and formatText: the rest of the line', () => {
  test('a key with an invisible character is shown escaped, and named', () => {
    expect(formatPropProblem({ field: 'instanceType\u200b', given: 'c7g.large', expected: 'unknown configuration field; did you mean "instanceType"?' }))
      .toBe('instanceType\\u200b (contains invisible characters: U+200B (zero-width space)): got "c7g.large"; unknown configuration field; did you mean "instanceType"?');
  });

  test('a value the expectation quotes again is escaped there too, and not named twice', () => {
    expect(formatPropProblem({ field: 'instanceType', given: 'c7g.large\u200b', expected: '"c7g.large\u200b" is not an EC2 instance type name' }))
      .toBe('instanceType: got "c7g.large\\u200b" (contains invisible characters: U+200B (zero-width space) at 10); "c7g.large\\u200b" is not an EC2 instance type name');
    expect(formatPropProblem({ field: 'cron', given: 'x', expected: 'hour "2\u00a0"' }))
      .toBe('cron: got "x"; hour "2\\u00a0" (contains invisible characters: U+00A0 (no-break space))');
  });

  test('PropsError: the owner, and every line', () => {
    const e = new PropsError('GravitonLlmEndpoint Llm\u200b', [{ field: 'minCapacity', given: NaN, expected: 'expected a whole number' }]);
    expect(e.message).toBe('GravitonLlmEndpoint Llm\\u200b (contains invisible characters: U+200B (zero-width space)): invalid props:\n  - minCapacity: got NaN; expected a whole number');
  });

  test('text without invisible characters is unchanged', () => {
    expect(formatText('--url: got "http://h"; expected ...')).toBe('--url: got "http://h"; expected ...');
    expect(escapeInvisible('a\u200bb')).toEqual({ text: 'a\\u200bb', found: [{ codePoint: 0x200b, at: 2 }] });
  });
});
