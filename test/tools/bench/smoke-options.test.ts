import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { API_KEY_ENV } from '../../../tools/bench/options';
import { API_KEY_PARAMETER_ENV, ENDPOINT_URL_ENV, parseSmokeArgs, type SmokeOptions } from '../../../tools/bench/smoke-options';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}): SmokeOptions => {
  const r = parseSmokeArgs(argv, env);
  if (!('options' in r)) throw new Error(JSON.stringify(r));
  return r.options;
};
const errors = (argv: string[], env: NodeJS.ProcessEnv = {}): readonly string[] => {
  const r = parseSmokeArgs(argv, env);
  if (!('errors' in r)) throw new Error(`expected errors, got ${JSON.stringify(r)}`);
  return r.errors;
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-smoke-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A key file that holds a key, one that does not, and an earlier verdict. */
const keyFile = path.join(dir, 'key');
writeFileSync(keyFile, 'secret\n');
const emptyKey = path.join(dir, 'empty');
writeFileSync(emptyKey, '\nsecret on the second line\n');
const earlier = path.join(dir, 'earlier.json');
writeFileSync(earlier, `${JSON.stringify({ tool: 'graviton-llm smoke', formatVersion: 1, passed: true })}\n`);
const other = path.join(dir, 'other.json');
writeFileSync(other, '{"tool": "something else"}\n');

describe('smoke options', () => {
  test('defaults: 4 requests one at a time, 32 output tokens, 100 ms TPOT target, no TTFT target, no key', () => {
    expect(parse(['--url', 'http://h/v1'])).toEqual({
      url: 'http://h/v1',
      apiKey: { from: 'none' },
      targetTpotMs: 100,
      requests: 4,
      concurrency: 1,
      outputTokens: 32,
      timeoutS: 60,
    });
  });

  test('every flag', () => {
    const o = parse([
      '--url', 'https://h.example/v1', '--api-key-parameter', '/graviton-llm/X/api-key', '--target-tpot-ms', '50.5',
      '--target-ttft-ms', '800', '--requests', '8', '--concurrency', '2', '--output-tokens', '16', '--timeout-s', '30',
      '--json-out', 'out/smoke.json',
    ]);
    expect(o).toEqual({
      url: 'https://h.example/v1',
      apiKey: { from: 'parameter', name: '/graviton-llm/X/api-key' },
      targetTpotMs: 50.5,
      targetTtftMs: 800,
      requests: 8,
      concurrency: 2,
      outputTokens: 16,
      timeoutS: 30,
      jsonOut: 'out/smoke.json',
    });
    expect(parse(['--url', 'http://h', '--api-key-file', keyFile]).apiKey).toEqual({ from: 'file', path: keyFile });
  });

  test('the URL and key parameter come from the environment when their flags are absent', () => {
    const env = { [ENDPOINT_URL_ENV]: 'https://lb.example/v1', [API_KEY_PARAMETER_ENV]: '/graviton-llm/Stack/api-key' };
    const o = parse([], env);
    expect(o.url).toBe('https://lb.example/v1');
    expect(o.apiKey).toEqual({ from: 'parameter', name: '/graviton-llm/Stack/api-key' });
  });

  test('flags win over the environment', () => {
    const env = { [ENDPOINT_URL_ENV]: 'https://lb.example/v1', [API_KEY_PARAMETER_ENV]: '/from/env', [API_KEY_ENV]: 'raw' };
    expect(parse(['--url', 'http://flag/v1', '--api-key-parameter', '/from/flag'], env)).toMatchObject({
      url: 'http://flag/v1',
      apiKey: { from: 'parameter', name: '/from/flag' },
    });
    expect(parse(['--api-key-file', keyFile], env).apiKey).toEqual({ from: 'file', path: keyFile });
  });

  test('the parameter variable wins over a raw key variable; the raw key is the last fallback', () => {
    expect(parse(['--url', 'http://h'], { [API_KEY_PARAMETER_ENV]: '/p', [API_KEY_ENV]: 'raw' }).apiKey).toEqual({ from: 'parameter', name: '/p' });
    expect(parse(['--url', 'http://h'], { [API_KEY_ENV]: 'raw' }).apiKey).toEqual({ from: 'env', variable: API_KEY_ENV });
  });

  test('empty variables (an unset pipeline output) count as not given', () => {
    expect(errors([], { [ENDPOINT_URL_ENV]: '  ' })).toEqual([expect.stringMatching(/^--url: required.*GLLM_ENDPOINT_URL/)]);
    expect(parse(['--url', 'http://h'], { [API_KEY_PARAMETER_ENV]: '' }).apiKey).toEqual({ from: 'none' });
  });

  test('a bad URL from the environment names the variable', () => {
    expect(errors([], { [ENDPOINT_URL_ENV]: 'lb.example' })).toEqual(['--url (from $GLLM_ENDPOINT_URL): got "lb.example"; expected an http:// or https:// URL']);
  });

  test.each([
    [[], /^--url: required/],
    [['--url', 'ftp://h'], /^--url: got "ftp:\/\/h"; expected an http:\/\/ or https:\/\/ URL$/],
    [['--url', 'http://h', '--api-key-file', 'f', '--api-key-parameter', 'p'], /^--api-key-parameter and --api-key-file: give one/],
    [['--url', 'http://h', '--target-tpot-ms', '0'], /^--target-tpot-ms: got "0"; expected a number above 0 and at most 60000 \(milliseconds\)$/],
    [['--url', 'http://h', '--target-tpot-ms', 'fast'], /^--target-tpot-ms: got "fast"/],
    [['--url', 'http://h', '--target-ttft-ms=-5'], /^--target-ttft-ms: got "-5"; expected a number above 0 and at most 600000 \(milliseconds\)$/],
    [['--url', 'http://h', '--requests', '0'], /^--requests: got "0"; expected a whole number from 1 to 1000$/],
    [['--url', 'http://h', '--requests', '2.5'], /^--requests: got "2.5"/],
    [['--url', 'http://h', '--concurrency', '1,2'], /^--concurrency: got "1,2"; expected a whole number from 1 to 64$/],
    [['--url', 'http://h', '--output-tokens', '1'], /^--output-tokens: got "1"; expected a whole number from 2 to 4096$/],
    [['--url', 'http://h', '--timeout-s', ''], /^--timeout-s: got ""/],
    [['--url', 'http://h', '--json-out', ''], /^--json-out: got ""/],
    [['--url', 'http://h', '--timeout', '5'], /--timeout/],
    [['--url', 'http://h', '--api-key-file', path.join(dir, 'missing')], /^--api-key-file: cannot read .*missing/],
    [['--url', 'http://h', '--api-key-file', emptyKey], /^--api-key-file: .*empty is empty: expected the key on its first line$/],
    [['--url', 'http://h', '--json-out', other], /^--json-out: got ".*other\.json"; expected a new file or an earlier verdict of smoke, and .* exists and is not an earlier result of this command$/],
    [['--url', 'http://h', '--json-out', dir], /^--json-out: got ".*"; expected a new file or an earlier verdict of smoke, and .* is a directory$/],
    [['--url', 'http://h', 'extra'], /extra/],
  ])('%j is rejected naming the flag', (argv, message) => {
    expect(errors(argv)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  test('--json-out may replace an earlier verdict', () => {
    expect(parse(['--url', 'http://h', '--json-out', earlier]).jsonOut).toBe(earlier);
  });

  test('every problem is reported at once', () => {
    expect(errors(['--url', 'x', '--requests', '0', '--output-tokens', 'many'])).toHaveLength(3);
  });

  test('--help', () => {
    expect(parseSmokeArgs(['--help'], {})).toEqual({ help: true });
  });
});
