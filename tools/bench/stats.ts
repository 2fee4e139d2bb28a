/**
 * Statistics of a benchmark run: percentiles of each per-request timing and
 * the throughput of one load level. Pure functions, so they are unit-tested
 * without a server.
 */
import { percentile } from '../../runtime/stats/percentile';
import type { RequestResult } from './request';

// Shared with the pipeline's smoke-test function, which may not import tools/.
export { percentile };

export interface Distribution {
  readonly count: number;
  readonly mean?: number;
  readonly p50?: number;
  readonly p90?: number;
  readonly p99?: number;
  readonly min?: number;
  readonly max?: number;
}

export function distribution(values: readonly number[]): Distribution {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { count: 0 };
  return {
    count: v.length,
    mean: v.reduce((a, b) => a + b, 0) / v.length,
    p50: percentile(v, 50),
    p90: percentile(v, 90),
    p99: percentile(v, 99),
    min: Math.min(...v),
    max: Math.max(...v),
  };
}

/** How one level was driven: N closed-loop clients, or an open-loop arrival rate. */
export type LoadLevel = { readonly kind: 'concurrency'; readonly value: number } | { readonly kind: 'rate'; readonly value: number };

export interface LevelSummary {
  readonly level: LoadLevel;
  /** Requests measured (warm-up excluded), failed ones included. */
  readonly requests: number;
  readonly succeeded: number;
  readonly errors: Readonly<Record<string, number>>;
  /** First request sent to last response finished, in seconds. */
  readonly durationS: number;
  readonly ttftMs: Distribution;
  /** Per request: (end-to-end - TTFT) / (output tokens - 1). */
  readonly tpotMs: Distribution;
  /** Every gap between consecutive content chunks of every request, pooled. */
  readonly itlMs: Distribution;
  readonly e2eMs: Distribution;
  readonly inputTokens: Distribution;
  readonly outputTokens: Distribution;
  /** Output tokens of successful requests / durationS. */
  readonly outputTokensPerS: number;
  readonly requestsPerS: number;
  /** Mean requests in flight over the level (Little's law: sum of e2e / duration). */
  readonly meanInFlight: number;
}

export function summarizeLevel(level: LoadLevel, results: readonly RequestResult[]): LevelSummary {
  const ok = results.flatMap((r) => (r.ok ? [r] : []));
  const errors: Record<string, number> = {};
  for (const r of results) if (!r.ok) errors[r.error] = (errors[r.error] ?? 0) + 1;
  const start = Math.min(...results.map((r) => r.startedAt));
  const end = Math.max(...results.map((r) => r.endedAt));
  const durationS = results.length > 0 ? (end - start) / 1000 : 0;
  const outputTokens = ok.reduce((a, r) => a + r.outputTokens, 0);
  const busyMs = results.reduce((a, r) => a + (r.endedAt - r.startedAt), 0);
  return {
    level,
    requests: results.length,
    succeeded: ok.length,
    errors,
    durationS,
    ttftMs: distribution(ok.map((r) => r.ttftMs)),
    tpotMs: distribution(ok.flatMap((r) => (r.tpotMs === undefined ? [] : [r.tpotMs]))),
    itlMs: distribution(ok.flatMap((r) => r.itlMs)),
    e2eMs: distribution(ok.map((r) => r.e2eMs)),
    inputTokens: distribution(ok.flatMap((r) => (r.inputTokens === undefined ? [] : [r.inputTokens]))),
    outputTokens: distribution(ok.map((r) => r.outputTokens)),
    outputTokensPerS: durationS > 0 ? outputTokens / durationS : 0,
    requestsPerS: durationS > 0 ? ok.length / durationS : 0,
    meanInFlight: durationS > 0 ? busyMs / 1000 / durationS : 0,
  };
}

/** The share of failed requests above which a level does not count as meeting the target. */
export const MAX_ERROR_SHARE = 0.01;

/**
 * The largest concurrency whose p90 TPOT is at or under the target, with at
 * most 1% of requests failed. Only closed-loop levels count: a rate level
 * has no fixed concurrency. Undefined when no level qualifies.
 */
export function maxConcurrencyWithinTarget(levels: readonly LevelSummary[], targetTpotMs: number): number | undefined {
  let best: number | undefined;
  for (const l of levels) {
    if (l.level.kind !== 'concurrency' || l.requests === 0) continue;
    const p90 = l.tpotMs.p90;
    const errorShare = (l.requests - l.succeeded) / l.requests;
    if (p90 !== undefined && p90 <= targetTpotMs && errorShare <= MAX_ERROR_SHARE) {
      best = Math.max(best ?? 0, l.level.value);
    }
  }
  return best;
}
