/**
 * The smoke verdict from made-up request results: every reason to fail is
 * found and worded with the measured figure and its target, and a healthy,
 * fast run passes with one summary line.
 */
import type { RequestFailure, RequestResult, RequestSuccess } from '../../../tools/bench/request';
import { judgeSmoke, verdictLine } from '../../../tools/bench/smoke';

const ok = (ttftMs: number, tpotMs: number | undefined, outputTokens = 32): RequestSuccess => ({
  ok: true,
  startedAt: 0,
  endedAt: 1000,
  ttftMs,
  ...(tpotMs === undefined ? {} : { tpotMs }),
  itlMs: [],
  e2eMs: 1000,
  outputTokens,
});
const failed = (error: string, detail: string): RequestFailure => ({ ok: false, error, detail, startedAt: 0, endedAt: 10 });

describe('judgeSmoke', () => {
  test('all succeeded, under the targets: passed, with the figures', () => {
    const v = judgeSmoke([ok(10, 1), ok(12, 1.2), ok(11, 1.4), ok(13, 1.3)], { tpotMs: 100, ttftMs: 500 });
    expect(v).toMatchObject({ passed: true, reasons: [], requests: 4, succeeded: 4, outputTokens: 128, errors: {} });
    // p90 of 4 samples by linear interpolation: 0.3 of the way from the 3rd to the 4th.
    expect(v.p90TtftMs).toBeCloseTo(12.7);
    expect(v.p90TpotMs).toBeCloseTo(1.37);
    expect(v.firstError).toBeUndefined();
    expect(verdictLine(v)).toBe('smoke test PASSED: 4/4 requests, p90 TTFT 12.7 ms (target 500 ms), p90 TPOT 1.4 ms/token (target 100 ms)');
  });

  test('without a TTFT target the line names only the TPOT target', () => {
    const v = judgeSmoke([ok(12.3, 1.4)], { tpotMs: 100 });
    expect(verdictLine(v)).toBe('smoke test PASSED: 1/1 requests, p90 TTFT 12.3 ms, p90 TPOT 1.4 ms/token (target 100 ms)');
  });

  test('a p90 exactly at the target passes; above it fails, measured vs target', () => {
    expect(judgeSmoke([ok(10, 100)], { tpotMs: 100 }).passed).toBe(true);
    const v = judgeSmoke([ok(10, 143.2), ok(10, 143.2)], { tpotMs: 100 });
    expect(v.passed).toBe(false);
    expect(v.reasons).toEqual(['p90 time per output token 143.2 ms is above the 100 ms target']);
    expect(verdictLine(v)).toBe('smoke test FAILED: p90 time per output token 143.2 ms is above the 100 ms target');
  });

  test('TTFT is checked only when a target is given', () => {
    expect(judgeSmoke([ok(5000, 1)], { tpotMs: 100 }).passed).toBe(true);
    expect(judgeSmoke([ok(5000, 1)], { tpotMs: 100, ttftMs: 800 }).reasons).toEqual([
      'p90 time to first token 5000.0 ms is above the 800 ms target',
    ]);
  });

  test('failed requests: how many of how many, and the first one\'s kind and detail on one line', () => {
    const v = judgeSmoke([ok(10, 1), failed('http_5xx', 'HTTP 500: {"error":\n "boom"}'), ok(10, 1), failed('timeout', 'no answer within 60000 ms')], { tpotMs: 100 });
    expect(v.passed).toBe(false);
    expect(v.reasons).toEqual(['2 of 4 requests failed, first with http_5xx: HTTP 500: {"error": "boom"}']);
    expect(v.errors).toEqual({ http_5xx: 1, timeout: 1 });
    expect(v.firstError).toEqual({ error: 'http_5xx', detail: 'HTTP 500: {"error":\n "boom"}' });
    // The two that succeeded are still measured.
    expect(v).toMatchObject({ succeeded: 2, outputTokens: 64, p90TpotMs: 1 });
  });

  test('a long failure detail is cut short', () => {
    const v = judgeSmoke([failed('http_5xx', `HTTP 502: ${'x'.repeat(400)}`)], { tpotMs: 100 });
    expect(v.reasons[0].length).toBeLessThan(300);
    expect(v.reasons[0]).toMatch(/\.\.\.$/);
  });

  test('every request failed: no tokens came back either, and both reasons are given', () => {
    const v = judgeSmoke([failed('network', 'TypeError: fetch failed <- Error: connect ECONNREFUSED'), failed('network', 'again')], { tpotMs: 100 });
    expect(v.reasons).toEqual([
      '2 of 2 requests failed, first with network: TypeError: fetch failed <- Error: connect ECONNREFUSED',
      'no output tokens came back',
    ]);
    expect(v.p90TtftMs).toBeUndefined();
    expect(v.p90TpotMs).toBeUndefined();
    expect(verdictLine(v)).toBe(`smoke test FAILED: ${v.reasons.join('; ')}`);
  });

  test('answers of a single token cannot show TPOT, so the target is not met', () => {
    const v = judgeSmoke([ok(10, undefined, 1), ok(10, undefined, 1)], { tpotMs: 100 });
    expect(v.passed).toBe(false);
    expect(v.reasons).toEqual(['time per output token could not be measured: no request returned 2 or more tokens (target 100 ms)']);
  });

  test('every reason at once, in a fixed order', () => {
    const v = judgeSmoke([failed('http_401', 'HTTP 401: Invalid API Key'), ok(900, 250)], { tpotMs: 100, ttftMs: 500 });
    expect(v.reasons).toEqual([
      '1 of 2 requests failed, first with http_401: HTTP 401: Invalid API Key',
      'p90 time to first token 900.0 ms is above the 500 ms target',
      'p90 time per output token 250.0 ms is above the 100 ms target',
    ]);
  });

  test('no results at all is a failure', () => {
    const v = judgeSmoke([] as RequestResult[], { tpotMs: 100 });
    expect(v.passed).toBe(false);
    expect(v.reasons).toEqual(['no requests were sent']);
  });
});
