/**
 * The pipeline smoke test's verdict: from the outcomes of its streamed
 * probes to passed or failed, with every reason for a failure in words. The
 * rules are those of `npm run smoke` (tools/bench/smoke.ts): every request
 * succeeds, output tokens come back, and p90 time per output token is within
 * the target. Pure, so it is unit-tested without a server.
 */
import type { ProbeOutcome } from "../canary/probe";
import { percentile } from "../stats/percentile";

export interface SmokeVerdict {
  readonly passed: boolean;
  /** Why it failed, one sentence each; empty when passed. */
  readonly reasons: readonly string[];
  /** `smoke test PASSED: ...` or `smoke test FAILED: reason; reason`, as `npm run smoke` prints. */
  readonly line: string;
  readonly requests: number;
  readonly succeeded: number;
  /** Failed requests by reason (timeout, network, http_401, http_5xx, bad_stream, ...). */
  readonly errors: Readonly<Record<string, number>>;
  readonly firstError?: { readonly reason: string; readonly detail: string };
  readonly p90TtftMs?: number;
  /** p90 over requests of each request's mean gap between content chunks (the canary's TPOT). */
  readonly p90TpotMs?: number;
  /** Output tokens of all successful requests together. */
  readonly outputTokens: number;
  readonly targetTpotMs: number;
}

const ms = (v: number) => v.toFixed(1);
const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 100) / 100);

/** One line of a failure's detail, short enough for a pipeline log. */
function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

export function judgeProbes(outcomes: readonly ProbeOutcome[], targetTpotMs: number): SmokeVerdict {
  const ok = outcomes.flatMap((o) => (o.ok ? [o.measurement] : []));
  const failures = outcomes.flatMap((o) => (o.ok ? [] : [o]));
  const errors: Record<string, number> = {};
  for (const f of failures) errors[f.reason] = (errors[f.reason] ?? 0) + 1;
  const outputTokens = ok.reduce((a, m) => a + m.outputTokens, 0);
  const p90TtftMs = round(percentile(ok.map((m) => m.ttftMs), 90));
  const p90TpotMs = round(percentile(ok.flatMap((m) => (m.tpotMs === undefined ? [] : [m.tpotMs])), 90));
  const reasons: string[] = [];

  if (outcomes.length === 0) reasons.push("no requests were sent");
  if (failures.length > 0) {
    const first = failures[0];
    reasons.push(`${failures.length} of ${outcomes.length} requests failed, first with ${first.reason}: ${oneLine(first.detail)}`);
  }
  if (outcomes.length > 0 && outputTokens === 0) reasons.push("no output tokens came back");
  if (p90TpotMs !== undefined && p90TpotMs > targetTpotMs) {
    reasons.push(`p90 time per output token ${ms(p90TpotMs)} ms is above the ${targetTpotMs} ms target`);
  } else if (p90TpotMs === undefined && outputTokens > 0) {
    // Tokens came back, but never two in one answer: the target cannot be checked, so it is not met.
    reasons.push(`time per output token could not be measured: no request returned 2 or more tokens (target ${targetTpotMs} ms)`);
  }

  const passed = reasons.length === 0;
  const line = passed
    ? `smoke test PASSED: ${ok.length}/${outcomes.length} requests, p90 TTFT ${ms(p90TtftMs!)} ms, p90 TPOT ${ms(p90TpotMs!)} ms/token (target ${targetTpotMs} ms)`
    : `smoke test FAILED: ${reasons.join("; ")}`;
  return {
    passed,
    reasons,
    line,
    requests: outcomes.length,
    succeeded: ok.length,
    errors,
    ...(failures.length > 0 ? { firstError: { reason: failures[0].reason, detail: oneLine(failures[0].detail) } } : {}),
    ...(p90TtftMs === undefined ? {} : { p90TtftMs }),
    ...(p90TpotMs === undefined ? {} : { p90TpotMs }),
    outputTokens,
    targetTpotMs,
  };
}

/** A verdict for a run that could not send a single request (bad settings, unreadable key). */
export function failedBeforeRequests(reason: string, targetTpotMs: number): SmokeVerdict {
  return { passed: false, reasons: [reason], line: `smoke test FAILED: ${reason}`, requests: 0, succeeded: 0, errors: {}, outputTokens: 0, targetTpotMs };
}
