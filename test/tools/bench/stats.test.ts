import type { RequestResult } from '../../../tools/bench/request';
import { distribution, maxConcurrencyWithinTarget, percentile, summarizeLevel, type LevelSummary } from '../../../tools/bench/stats';

const ok = (startedAt: number, e2eMs: number, ttftMs: number, outputTokens: number, extra: Partial<RequestResult> = {}): RequestResult => ({
  ok: true,
  startedAt,
  endedAt: startedAt + e2eMs,
  ttftMs,
  tpotMs: (e2eMs - ttftMs) / (outputTokens - 1),
  itlMs: Array.from({ length: outputTokens - 1 }, () => (e2eMs - ttftMs) / (outputTokens - 1)),
  e2eMs,
  inputTokens: 10,
  outputTokens,
  ...extra,
} as RequestResult);

describe('percentile', () => {
  test('interpolates linearly between closest ranks (numpy default)', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(v, 50)).toBeCloseTo(5.5);
    expect(percentile(v, 90)).toBeCloseTo(9.1);
    expect(percentile(v, 99)).toBeCloseTo(9.91);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile(v, 100)).toBe(10);
  });

  test('does not depend on input order and ignores non-finite values', () => {
    expect(percentile([10, 1, NaN, 5, Infinity], 50)).toBe(5);
  });

  test('one sample is every percentile; none is undefined', () => {
    expect(percentile([42], 99)).toBe(42);
    expect(percentile([], 50)).toBeUndefined();
  });

  test('rejects a percentile outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
  });

  test('distribution of an empty sample has only a count', () => {
    expect(distribution([])).toEqual({ count: 0 });
    expect(distribution([2, 4])).toMatchObject({ count: 2, mean: 3, min: 2, max: 4, p50: 3 });
  });
});

describe('summarizeLevel', () => {
  test('throughput counts successful output tokens over the level wall time; errors by kind', () => {
    const results: RequestResult[] = [
      ok(0, 1000, 100, 10),
      ok(0, 2000, 200, 19),
      { ok: false, error: 'http_5xx', detail: 'HTTP 503', startedAt: 500, endedAt: 600 },
      { ok: false, error: 'timeout', detail: '', startedAt: 500, endedAt: 1500 },
      { ok: false, error: 'http_5xx', detail: 'HTTP 502', startedAt: 100, endedAt: 200 },
    ];
    const s = summarizeLevel({ kind: 'concurrency', value: 2 }, results);
    expect(s.requests).toBe(5);
    expect(s.succeeded).toBe(2);
    expect(s.errors).toEqual({ http_5xx: 2, timeout: 1 });
    expect(s.durationS).toBe(2);
    expect(s.outputTokensPerS).toBe(29 / 2);
    expect(s.requestsPerS).toBe(1);
    expect(s.ttftMs).toMatchObject({ count: 2, p50: 150 });
    expect(s.tpotMs.p50).toBeCloseTo(100);
    expect(s.itlMs.count).toBe(9 + 18);
    expect(s.inputTokens.mean).toBe(10);
    // (1000 + 2000 + 100 + 1000 + 100) ms busy over 2 s
    expect(s.meanInFlight).toBeCloseTo(2.1);
  });
});

describe('maxConcurrencyWithinTarget', () => {
  const level = (value: number, p90: number, failed = 0, kind: 'concurrency' | 'rate' = 'concurrency'): LevelSummary =>
    ({ level: { kind, value }, requests: 100, succeeded: 100 - failed, tpotMs: { count: 1, p90 } }) as unknown as LevelSummary;

  test('largest level with p90 TPOT at or under the target', () => {
    expect(maxConcurrencyWithinTarget([level(1, 40), level(2, 60), level(4, 100), level(8, 140)], 100)).toBe(4);
  });

  test('a level with more than 1% errors does not count, even when fast', () => {
    expect(maxConcurrencyWithinTarget([level(1, 40), level(2, 50, 1), level(4, 60, 2)], 100)).toBe(2);
  });

  test('undefined when no level meets the target, and rate levels never count', () => {
    expect(maxConcurrencyWithinTarget([level(1, 140)], 100)).toBeUndefined();
    expect(maxConcurrencyWithinTarget([level(1, 40, 0, 'rate')], 100)).toBeUndefined();
  });
});
