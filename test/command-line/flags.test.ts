/**
 * The flag reader every command uses: each problem reported at once, in
 * words that name the flag; numbers checked against both bounds.
 */
import { closestName, httpUrl, numberFlag, readFlags, usageErrors } from '../../lib/command-line/flags';

const SPECS = {
  url: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

describe('readFlags', () => {
  test('reads values and booleans, long and short', () => {
    expect(readFlags(['--url', 'http://h', '--timeout=5', '--json', '-h'], SPECS)).toEqual({
      values: { url: 'http://h', timeout: '5', json: true, help: true },
      errors: [],
    });
  });

  test.each([
    [['--tiemout', '5'], ['--tiemout: unknown flag; did you mean --timeout?']],
    [['--colour', 'red'], ['--colour: unknown flag']],
    [['-url', 'http://h'], ['-url: flags start with two dashes; did you mean --url?']],
    [['--url'], ['--url: needs a value']],
    [['--url', '--timeout', '5'], ['--url: needs a value; got the flag --timeout', 'unexpected argument "5": every value follows its flag (--flag VALUE)']],
    [['--json=yes'], ['--json: takes no value; got "yes"']],
    [['--json', '--json'], ['--json: given more than once']],
    [['--timeout', '5', '--timeout=6'], ['--timeout: given more than once ("5" and "6"); give it once']],
    [['stray'], ['unexpected argument "stray": every value follows its flag (--flag VALUE)']],
    [['--', '--url'], ['unexpected argument "--url": every value follows its flag (--flag VALUE)']],
  ])('%j', (argv, errors) => {
    expect(readFlags(argv, SPECS).errors).toEqual(errors);
  });

  test('a value that looks negative stays the value of its flag', () => {
    expect(readFlags(['--timeout', '-1'], SPECS)).toEqual({ values: { timeout: '-1' }, errors: [] });
  });
});

describe('numberFlag', () => {
  const check = (text: string | undefined, integer = false) => {
    const errors: string[] = [];
    const value = numberFlag('timeout', text, 600, { min: 1, max: 86_400, integer, unit: 'seconds' }, errors);
    return { value, errors };
  };

  test('within the bounds, the number; absent, the fallback', () => {
    expect(check('86400')).toEqual({ value: 86_400, errors: [] });
    expect(check(' 1.5 ')).toEqual({ value: 1.5, errors: [] });
    expect(check(undefined)).toEqual({ value: 600, errors: [] });
  });

  test.each(['86401', '3000000', '0', '-1', '', 'Infinity', '0x10', '1_000', 'NaN', 'ten'])('"%s" is refused with the range', (text) => {
    expect(check(text).errors).toEqual([`--timeout: got "${text}"; expected a number from 1 to 86400 (seconds)`]);
  });

  test('whole numbers only when asked', () => {
    expect(check('2.5', true).errors).toEqual(['--timeout: got "2.5"; expected a whole number from 1 to 86400 (seconds)']);
  });
});

test('closestName: within two edits, case-insensitive, else nothing', () => {
  expect(closestName('Concurency', ['concurrency', 'rate'])).toBe('concurrency');
  expect(closestName('bandwidth', ['concurrency', 'rate'])).toBeUndefined();
});

describe('a value with a character no terminal shows', () => {
  test('numbers, URLs and the reader\'s own messages show it escaped, and name it', () => {
    const errors: string[] = [];
    numberFlag('timeout', '60\u200b', 600, { min: 1, max: 86_400 }, errors);
    httpUrl('--url', '\ufeffhttp://h', errors);
    errors.push(...readFlags(['--json=\u00a0', 'stray\u2060'], SPECS).errors);
    expect(errors).toEqual([
      '--timeout: got "60\\u200b" (contains invisible characters: U+200B (zero-width space) at 3); expected a number from 1 to 86400',
      '--url: got "\\ufeffhttp://h" (contains invisible characters: U+FEFF (byte-order mark) at 1); expected an http:// or https:// URL',
      '--json: takes no value; got "\\u00a0" (contains invisible characters: U+00A0 (no-break space) at 1)',
      'unexpected argument "stray\\u2060" (contains invisible characters: U+2060 (word joiner) at 6): every value follows its flag (--flag VALUE)',
    ]);
  });

  test('usageErrors escapes what a command quoted itself', () => {
    const text = usageErrors('bench', ['--region: got "eu-west-1\u200b"; expected an AWS region name like eu-west-1', '--url: got "http://h"; expected ...']);
    expect(text).toBe([
      'Invalid bench options:',
      '  - --region: got "eu-west-1\\u200b"; expected an AWS region name like eu-west-1 (contains invisible characters: U+200B (zero-width space))',
      '  - --url: got "http://h"; expected ...',
      '',
      'See npm run bench -- --help',
    ].join('\n'));
  });
});
