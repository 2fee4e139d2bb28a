/**
 * The load levels and the whole run against the scripted server: the
 * closed loop keeps exactly N requests in flight, counts and durations bound
 * each level, warm-up is not counted, and the reports render.
 */
import { runLevel } from '../../../tools/bench/load';
import { parseBenchArgs, type BenchOptions } from '../../../tools/bench/options';
import { createProgress } from '../../../tools/bench/progress';
import { renderChart } from '../../../tools/bench/report-chart';
import { renderMarkdown } from '../../../tools/bench/report-markdown';
import { chatCompletionsUrl, sendCompletion, type RequestResult } from '../../../tools/bench/request';
import { allRequestsFailed, runBenchmark, WarmupFailed } from '../../../tools/bench/run';
import { requestPlanner } from '../../../tools/bench/workload';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-sse-server';

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer({ ttftMs: 40, gapMs: 10, tokens: 4, promptTokens: 9 });
});
afterAll(() => server.close());

const sender = (script: string) => () =>
  sendCompletion({ url: chatCompletionsUrl(server.base(script)), prompt: 'p', maxTokens: 4, ignoreEos: true, timeoutMs: 10_000 });

const options = (...argv: string[]): BenchOptions => {
  const r = parseBenchArgs(['--progress', 'off', ...argv]);
  if (!('options' in r)) throw new Error(JSON.stringify(r));
  return r.options;
};

describe('runLevel', () => {
  test('closed loop: N clients, never more in flight, stops at the request count', async () => {
    const before = server.bodies.length;
    const run = await runLevel({ kind: 'concurrency', value: 3 }, { requests: 9, durationS: 60 }, sender('ok'));
    expect(run.results).toHaveLength(9);
    expect(run.results.every((r) => r.ok)).toBe(true);
    expect(server.bodies.length - before).toBe(9);
    expect(server.peakInFlight()).toBe(3);
  });

  test('closed loop stops issuing at the duration bound', async () => {
    const run = await runLevel({ kind: 'concurrency', value: 1 }, { requests: 1000, durationS: 0.3 }, sender('ok'));
    // Each request takes at least 70 ms, so 0.3 s allows a handful, far fewer than 1000.
    expect(run.results.length).toBeGreaterThanOrEqual(1);
    expect(run.results.length).toBeLessThan(10);
  });

  test('open loop sends on schedule, waits beyond max in flight', async () => {
    const slow = () => new Promise<RequestResult>((r) => setTimeout(() => r({ ok: false, error: 'x', detail: '', startedAt: 0, endedAt: 1 }), 100));
    const run = await runLevel({ kind: 'rate', value: 100 }, { requests: 6, durationS: 60 }, slow, undefined, {
      arrival: 'uniform',
      maxInFlight: 2,
      seed: 1,
    });
    expect(run.results).toHaveLength(6);
    expect(run.delayedArrivals).toBeGreaterThan(0);
  });
});

describe('runBenchmark', () => {
  test('a sweep: warm-up excluded, one summary per level, max concurrency within target', async () => {
    const opts = options('--url', server.base('ok'), '--concurrency', '1,2', '--requests', '4', '--warmup', '2', '--target-tpot-ms', '5000');
    const report = await runBenchmark(opts, sender('ok'), createProgress('off'));
    expect(report.warmup).toEqual({ requests: 2, failed: 0, errors: [] });
    expect(report.levels.map((l) => [l.level.value, l.requests, l.succeeded])).toEqual([[1, 4, 4], [2, 4, 4]]);
    expect(report.requests).toHaveLength(8);
    expect(report.maxConcurrencyWithinTarget).toBe(2);
    expect(report.levels[1].inputTokens.mean).toBe(9);

    const md = renderMarkdown(report);
    expect(md).toContain('| concurrency 2 | 4 / 4 |');
    expect(md).toContain('Largest concurrency meeting it: **2**');
    const html = renderChart(report);
    expect(html).toMatch(/^<!doctype html>/);
    // Self-contained: nothing to fetch, nothing to run.
    expect(html).not.toMatch(/<script|\s(src|href)=|@import|url\(/i);
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
    expect(html).toContain('target 5000 ms');
  });

  test('a target nothing meets is reported as none', async () => {
    const opts = options('--url', server.base('ok'), '--concurrency', '1', '--requests', '2', '--warmup', '0', '--target-tpot-ms', '1');
    const report = await runBenchmark(opts, sender('ok'), createProgress('off'));
    expect(report.maxConcurrencyWithinTarget).toBeNull();
    expect(renderMarkdown(report)).toContain('**none of the levels run**');
  });

  test('stops early when every warm-up request fails, with the reason', async () => {
    const opts = options('--url', server.base('unauthorized'), '--warmup', '2');
    await expect(runBenchmark(opts, sender('unauthorized'), createProgress('off'))).rejects.toThrow(WarmupFailed);
    await expect(runBenchmark(opts, sender('unauthorized'), createProgress('off'))).rejects.toThrow(/http_401/);
  });
});

describe('allRequestsFailed', () => {
  test('without warm-up, a run where every request failed is a failure, said in one line', async () => {
    const opts = options('--url', server.base('unauthorized'), '--concurrency', '1,2', '--requests', '2', '--warmup', '0');
    const report = await runBenchmark(opts, sender('unauthorized'), createProgress('off'));
    const line = allRequestsFailed(report);
    expect(line).toMatch(/^every one of the 4 requests failed \(http_401 4\); first: http_401: HTTP 401/);
    expect(line).not.toContain('\n');
  });

  test('one answered request makes the run a measurement, not a failure', async () => {
    const opts = options('--url', server.base('ok'), '--concurrency', '1', '--requests', '3', '--warmup', '0');
    let n = 0;
    const report = await runBenchmark(opts, () => (n++ === 1 ? sender('ok')() : sender('unauthorized')()), createProgress('off'));
    expect(report.requests.filter((r) => r.ok)).toHaveLength(1);
    expect(allRequestsFailed(report)).toBeUndefined();
  });
});

describe('requestPlanner', () => {
  test('is repeatable for a seed, samples within the range and varies the prompt', () => {
    const w = { inputTokens: { min: 10, max: 20 }, outputTokens: { min: 5, max: 8 }, seed: 7 };
    const a = requestPlanner(w);
    const b = requestPlanner(w);
    const plans = Array.from({ length: 50 }, () => a());
    expect(plans).toEqual(Array.from({ length: 50 }, () => b()));
    for (const p of plans) {
      const words = p.prompt.split(' ').length;
      expect(words).toBeGreaterThanOrEqual(10);
      expect(words).toBeLessThanOrEqual(20);
      expect(p.maxTokens).toBeGreaterThanOrEqual(5);
      expect(p.maxTokens).toBeLessThanOrEqual(8);
    }
    expect(new Set(plans.map((p) => p.prompt.split(' ').slice(0, 4).join(' '))).size).toBeGreaterThan(40);
  });
});
