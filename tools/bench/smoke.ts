/**
 * The smoke test's verdict: from the measured requests (the bench's own
 * request results and statistics) to passed or failed, with every reason
 * for a failure in words. Pure, so it is unit-tested without a server.
 */
import type { RequestResult } from './request';
import { summarizeLevel, type LevelSummary } from './stats';

export interface SmokeTargets {
  readonly tpotMs: number;
  /** Checked only when given. */
  readonly ttftMs?: number;
}

export interface SmokeVerdict {
  readonly passed: boolean;
  /** Why it failed, one sentence each; empty when passed. */
  readonly reasons: readonly string[];
  readonly requests: number;
  readonly succeeded: number;
  /** Failed requests by kind (timeout, network, http_401, http_5xx, ...). */
  readonly errors: Readonly<Record<string, number>>;
  readonly firstError?: { readonly error: string; readonly detail: string };
  readonly p90TtftMs?: number;
  readonly p90TpotMs?: number;
  /** Output tokens of all successful requests together. */
  readonly outputTokens: number;
  readonly targets: SmokeTargets;
  /** The same per-level summary the bench reports. */
  readonly summary: LevelSummary;
}

const ms = (v: number) => v.toFixed(1);

/** One line of a failure's detail, short enough for a CI log. */
function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

export function judgeSmoke(results: readonly RequestResult[], targets: SmokeTargets, concurrency = 1): SmokeVerdict {
  const summary = summarizeLevel({ kind: 'concurrency', value: concurrency }, results);
  const failures = results.flatMap((r) => (r.ok ? [] : [r]));
  const outputTokens = results.reduce((a, r) => a + (r.ok ? r.outputTokens : 0), 0);
  const p90TtftMs = summary.ttftMs.p90;
  const p90TpotMs = summary.tpotMs.p90;
  const reasons: string[] = [];

  if (results.length === 0) reasons.push('no requests were sent');
  if (failures.length > 0) {
    const first = failures[0];
    reasons.push(`${failures.length} of ${results.length} requests failed, first with ${first.error}: ${oneLine(first.detail)}`);
  }
  if (results.length > 0 && outputTokens === 0) reasons.push('no output tokens came back');
  if (p90TtftMs !== undefined && targets.ttftMs !== undefined && p90TtftMs > targets.ttftMs) {
    reasons.push(`p90 time to first token ${ms(p90TtftMs)} ms is above the ${targets.ttftMs} ms target`);
  }
  if (p90TpotMs !== undefined && p90TpotMs > targets.tpotMs) {
    reasons.push(`p90 time per output token ${ms(p90TpotMs)} ms is above the ${targets.tpotMs} ms target`);
  } else if (p90TpotMs === undefined && outputTokens > 0) {
    // Tokens came back, but never two in one answer: the target cannot be checked, so it is not met.
    reasons.push(`time per output token could not be measured: no request returned 2 or more tokens (target ${targets.tpotMs} ms)`);
  }

  return {
    passed: reasons.length === 0,
    reasons,
    requests: results.length,
    succeeded: summary.succeeded,
    errors: summary.errors,
    ...(failures.length > 0 ? { firstError: { error: failures[0].error, detail: failures[0].detail } } : {}),
    ...(p90TtftMs === undefined ? {} : { p90TtftMs }),
    ...(p90TpotMs === undefined ? {} : { p90TpotMs }),
    outputTokens,
    targets,
    summary,
  };
}

/** The command's last line: `smoke test PASSED: ...` or `smoke test FAILED: reason; reason`. */
export function verdictLine(v: SmokeVerdict): string {
  if (!v.passed) return `smoke test FAILED: ${v.reasons.join('; ')}`;
  const ttft = `p90 TTFT ${ms(v.p90TtftMs!)} ms${v.targets.ttftMs === undefined ? '' : ` (target ${v.targets.ttftMs} ms)`}`;
  return `smoke test PASSED: ${v.succeeded}/${v.requests} requests, ${ttft}, p90 TPOT ${ms(v.p90TpotMs!)} ms/token (target ${v.targets.tpotMs} ms)`;
}
