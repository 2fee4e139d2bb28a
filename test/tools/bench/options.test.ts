import { API_KEY_ENV, parseBenchArgs, requestsFor, type BenchOptions } from '../../../tools/bench/options';

const parse = (...argv: string[]): BenchOptions => {
  const r = parseBenchArgs(argv);
  if (!('options' in r)) throw new Error(JSON.stringify(r));
  return r.options;
};
const errors = (...argv: string[]): readonly string[] => {
  const r = parseBenchArgs(argv);
  if (!('errors' in r)) throw new Error(`expected errors, got ${JSON.stringify(r)}`);
  return r.errors;
};

describe('bench options', () => {
  const saved = process.env[API_KEY_ENV];
  beforeEach(() => delete process.env[API_KEY_ENV]);
  afterAll(() => {
    if (saved !== undefined) process.env[API_KEY_ENV] = saved;
  });

  test('defaults: a 1,2,4,8 concurrency sweep, 128 in and out, 100 ms target, no key', () => {
    const o = parse('--url', 'http://h/v1');
    expect(o.levels).toEqual([1, 2, 4, 8].map((value) => ({ kind: 'concurrency', value })));
    expect(o.inputTokens).toEqual({ min: 128, max: 128 });
    expect(o.outputTokens).toEqual({ min: 128, max: 128 });
    expect(o.targetTpotMs).toBe(100);
    expect(o.warmup).toBe(2);
    expect(o.ignoreEos).toBe(true);
    expect(o.apiKey).toEqual({ from: 'none' });
    expect(o.progress).toBe('auto');
  });

  test('sweep, sampled lengths, key from SSM and the rest', () => {
    const o = parse(
      '--url', 'https://h/v1', '--concurrency', '16,1,4,4', '--input-tokens', '64-256', '--output-tokens', '32',
      '--api-key-parameter', '/graviton-llm/X/api-key', '--region', 'eu-west-1', '--requests', '10', '--duration', '30',
      '--no-ignore-eos', '--target-tpot-ms', '50', '--progress', 'lines',
    );
    expect(o.levels.map((l) => l.value)).toEqual([1, 4, 16]);
    expect(o.inputTokens).toEqual({ min: 64, max: 256 });
    expect(o.apiKey).toEqual({ from: 'parameter', name: '/graviton-llm/X/api-key', region: 'eu-west-1' });
    expect(o).toMatchObject({ requests: 10, durationS: 30, ignoreEos: false, targetTpotMs: 50, progress: 'lines' });
  });

  test('a fixed request rate is an open-loop level', () => {
    const o = parse('--url', 'http://h', '--rate', '0.5,2', '--arrival', 'uniform');
    expect(o.levels).toEqual([{ kind: 'rate', value: 0.5 }, { kind: 'rate', value: 2 }]);
    expect(o.arrival).toBe('uniform');
    expect(requestsFor(o.levels[0], undefined)).toBe(50);
  });

  test('the key comes from the environment when no key flag is given', () => {
    process.env[API_KEY_ENV] = 'secret';
    expect(parse('--url', 'http://h').apiKey).toEqual({ from: 'env', variable: API_KEY_ENV });
  });

  test('requests per level default to four waves of clients, at least 8', () => {
    expect(requestsFor({ kind: 'concurrency', value: 1 }, undefined)).toBe(8);
    expect(requestsFor({ kind: 'concurrency', value: 16 }, undefined)).toBe(64);
    expect(requestsFor({ kind: 'concurrency', value: 16 }, 5)).toBe(5);
  });

  test.each([
    [['--concurrency', '1'], /^--url: required/],
    [['--url', 'ftp://h'], /^--url: got "ftp:\/\/h"/],
    [['--url', 'http://h', '--concurrency', '1,0'], /^--concurrency: got "1,0"/],
    [['--url', 'http://h', '--concurrency', '1.5'], /^--concurrency: got "1.5"; expected a comma-separated list, each a whole number from 1 to 1024$/],
    [['--url', 'http://h', '--concurrency', '1', '--rate', '1'], /^--concurrency and --rate: give one/],
    [['--url', 'http://h', '--api-key-file', 'f', '--api-key-parameter', 'p'], /^--api-key-parameter and --api-key-file/],
    [['--url', 'http://h', '--input-tokens', '256-64'], /^--input-tokens: range 256-64 ends below its start/],
    [['--url', 'http://h', '--output-tokens', 'lots'], /^--output-tokens: got "lots"; expected a whole number from 1 to 131072, or a range like 64-256$/],
    [['--url', 'http://h', '--target-tpot-ms', '0'], /^--target-tpot-ms: got "0"/],
    [['--url', 'http://h', '--arrival', 'poisson'], /^--arrival: only used with --rate/],
    [['--url', 'http://h', '--progress', 'fancy'], /^--progress: got "fancy"/],
    [['--url', 'http://h', '--region', 'us-east-1'], /^--region: only used with --api-key-parameter/],
    [['--url', 'http://h', '--cuncurrency', '1'], /--cuncurrency/],
  ])('%j is rejected naming the flag', (argv, message) => {
    expect(errors(...argv)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  test('--help', () => {
    expect(parseBenchArgs(['--help'])).toEqual({ help: true });
  });
});
