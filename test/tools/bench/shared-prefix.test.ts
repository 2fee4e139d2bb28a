import { parseBenchArgs } from '../../../tools/bench/options';
import { comparePrefixLevels, prefixWorkloads, renderPrefixTable } from '../../../tools/bench/shared-prefix';
import { summarizeLevel } from '../../../tools/bench/stats';
import type { RequestResult } from '../../../tools/bench/request';
import { requestPlanner, sharedPrefix } from '../../../tools/bench/workload';

const words = (s: string) => s.split(' ');
const base = { inputTokens: { min: 16, max: 16 }, outputTokens: { min: 8, max: 8 }, seed: 7 };

describe('the shared-prefix workload', () => {
  const w = prefixWorkloads(base, 100);
  const take = (n: number, planner: () => { prompt: string }) => Array.from({ length: n }, () => planner().prompt);

  test('every shared prompt starts with the same prefix and goes on with words of its own', () => {
    const prompts = take(20, requestPlanner(w.shared));
    const prefix = sharedPrefix(100, 7);
    expect(words(prefix)).toHaveLength(100);
    for (const p of prompts) {
      expect(p.startsWith(`${prefix} `)).toBe(true);
      expect(words(p)).toHaveLength(116);
    }
    expect(new Set(prompts.map((p) => p.slice(prefix.length))).size).toBe(20);
  });

  test('distinct prompts have the same length and share no prefix worth caching', () => {
    const prompts = take(20, requestPlanner(w.distinct));
    for (const p of prompts) expect(words(p)).toHaveLength(116);
    const common = (a: string[], b: string[]) => {
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      return i;
    };
    for (let i = 1; i < prompts.length; i++) expect(common(words(prompts[0]), words(prompts[i]))).toBeLessThan(5);
  });

  test('the prefix depends on the seed only, so every level of a run repeats it', () => {
    expect(sharedPrefix(50, 7)).toBe(sharedPrefix(50, 7));
    expect(sharedPrefix(50, 8)).not.toBe(sharedPrefix(50, 7));
    const levelA = requestPlanner({ ...w.shared, seed: 8 })().prompt;
    const levelB = requestPlanner({ ...w.shared, seed: 9 })().prompt;
    expect(levelA.slice(0, w.shared.prefix!.length)).toBe(levelB.slice(0, w.shared.prefix!.length));
  });
});

describe('the comparison', () => {
  const level = (ttft: number[], tokens: number) => summarizeLevel({ kind: 'concurrency', value: 4 }, ttft.map((t, i): RequestResult => ({
    ok: true, startedAt: i * 10, endedAt: i * 10 + 1000, ttftMs: t, e2eMs: 1000, outputTokens: tokens, itlMs: [], inputTokens: 1100,
  })));

  test('gives p50/p90 of both, the p90 ratio against the 25% goal, and output tok/s', () => {
    const rows = comparePrefixLevels([level([4000, 4100, 4200, 4300], 64)], [level([300, 320, 340, 3000], 64)]);
    expect(rows).toHaveLength(1);
    expect(rows[0].ttftP90Ratio).toBeCloseTo(rows[0].shared.ttftMs.p90! / rows[0].distinct.ttftMs.p90!, 6);
    expect(rows[0].outputTpsRatio).toBeCloseTo(1, 6);
    const table = renderPrefixTable(rows, 1000);
    expect(table).toContain('Repeated 1000-token prefix');
    expect(table).toMatch(/\| c=4 \| \d+ \| \d+ \| \d+ \| \d+ \| \d+% \(over goal\) \|/);
    const good = renderPrefixTable(comparePrefixLevels([level([4000, 4000, 4000, 4000], 64)], [level([300, 300, 300, 300], 64)]), 1000);
    expect(good).toContain('| 8% |');
  });
});

describe('--shared-prefix-tokens', () => {
  const parse = (...a: string[]) => parseBenchArgs(['--url', 'http://h/v1', ...a]);
  test('is read as a whole number of tokens', () => {
    const r = parse('--shared-prefix-tokens', '1000', '--input-tokens', '64');
    expect('options' in r && r.options.sharedPrefixTokens).toBe(1000);
    expect('options' in parse() && (parse() as { options: { sharedPrefixTokens?: number } }).options.sharedPrefixTokens).toBeUndefined();
  });
  test('refuses a bad count, --prompt-file, and a prompt longer than the limit', () => {
    expect(parse('--shared-prefix-tokens', 'x')).toEqual({ errors: [expect.stringMatching(/^--shared-prefix-tokens: got "x"; expected/)] });
    expect(parse('--shared-prefix-tokens', '10', '--prompt-file', 'p.txt')).toEqual({ errors: expect.arrayContaining([expect.stringContaining('not used with --prompt-file')]) });
    expect(parse('--shared-prefix-tokens', '131072', '--input-tokens', '10')).toEqual({ errors: [expect.stringContaining('more than 131072 tokens per prompt')] });
  });
});
