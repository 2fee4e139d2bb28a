/**
 * A whole benchmark: warm-up, then every load level in turn, summarised.
 * Takes its sender as a parameter so tests can drive it without a network.
 */
import { runLevel, type Send } from './load';
import { requestsFor, type BenchOptions } from './options';
import { levelName, type Progress } from './progress';
import type { RequestResult } from './request';
import { maxConcurrencyWithinTarget, summarizeLevel, type LevelSummary, type LoadLevel } from './stats';
import { formatLength } from './workload';

export interface LevelReport extends LevelSummary {
  /** Open loop: arrivals delayed because --max-in-flight requests were out. */
  readonly delayedArrivals: number;
}

/** One request as stored in results.json (the inter-token gaps are summarised, not listed). */
export type RequestRecord = { readonly level: string } & (
  | Omit<Extract<RequestResult, { ok: true }>, 'itlMs'>
  | Extract<RequestResult, { ok: false }>
);

export interface BenchReport {
  readonly tool: 'graviton-llm bench';
  readonly formatVersion: 1;
  readonly label?: string;
  readonly startedAt: string;
  readonly endpoint: string;
  readonly settings: {
    readonly levels: readonly LoadLevel[];
    readonly requestsPerLevel: readonly number[];
    readonly durationS: number;
    readonly warmup: number;
    readonly inputTokens: string;
    readonly outputTokens: string;
    readonly promptFile?: string;
    readonly ignoreEos: boolean;
    readonly arrival?: string;
    readonly targetTpotMs: number;
    readonly timeoutS: number;
    readonly seed: number;
    readonly model?: string;
  };
  readonly warmup: { readonly requests: number; readonly failed: number; readonly errors: readonly string[] };
  readonly levels: readonly LevelReport[];
  /** Largest concurrency with p90 TPOT at or under the target (and at most 1% errors); null if none. */
  readonly maxConcurrencyWithinTarget: number | null;
  readonly requests: readonly RequestRecord[];
}

export class WarmupFailed extends Error {}

/** The URL without any credentials a user may have put in it. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

export async function runBenchmark(opts: BenchOptions, send: Send, progress: Progress): Promise<BenchReport> {
  const startedAt = new Date().toISOString();

  // Warm-up, one at a time: loads the model's pages and opens connections.
  // If every warm-up request fails, the endpoint is wrong (URL, key, down),
  // and a whole sweep of failures would only hide that.
  const warm: RequestResult[] = [];
  for (let i = 0; i < opts.warmup; i++) warm.push(await send());
  const warmFailures = warm.flatMap((r) => (r.ok ? [] : [`${r.error}: ${r.detail}`]));
  if (opts.warmup > 0) {
    progress.note(`warm-up: ${warm.length - warmFailures.length}/${warm.length} succeeded`);
    if (warmFailures.length === warm.length) {
      throw new WarmupFailed(`every warm-up request failed; first: ${warmFailures[0]}`);
    }
  }

  const levels: LevelReport[] = [];
  const records: RequestRecord[] = [];
  for (const level of opts.levels) {
    const planned = requestsFor(level, opts.requests);
    progress.startLevel(level, planned);
    const run = await runLevel(
      level,
      { requests: planned, durationS: opts.durationS },
      send,
      (r) => progress.result(r),
      { arrival: opts.arrival, maxInFlight: opts.maxInFlight, seed: opts.seed },
    );
    const summary = { ...summarizeLevel(level, run.results), delayedArrivals: run.delayedArrivals };
    levels.push(summary);
    for (const r of run.results) {
      if (r.ok) {
        const { itlMs: _omitted, ...rest } = r;
        records.push({ level: levelName(level), ...rest });
      } else {
        records.push({ level: levelName(level), ...r });
      }
    }
    progress.endLevel(levelLine(summary));
  }

  return {
    tool: 'graviton-llm bench',
    formatVersion: 1,
    ...(opts.label ? { label: opts.label } : {}),
    startedAt,
    endpoint: redactUrl(opts.url),
    settings: {
      levels: opts.levels,
      requestsPerLevel: opts.levels.map((l) => requestsFor(l, opts.requests)),
      durationS: opts.durationS,
      warmup: opts.warmup,
      inputTokens: opts.promptFile ? 'from prompt file' : formatLength(opts.inputTokens),
      outputTokens: formatLength(opts.outputTokens),
      ...(opts.promptFile ? { promptFile: opts.promptFile } : {}),
      ignoreEos: opts.ignoreEos,
      ...(opts.levels.some((l) => l.kind === 'rate') ? { arrival: opts.arrival } : {}),
      targetTpotMs: opts.targetTpotMs,
      timeoutS: opts.timeoutS,
      seed: opts.seed,
      ...(opts.model ? { model: opts.model } : {}),
    },
    warmup: { requests: warm.length, failed: warmFailures.length, errors: warmFailures.slice(0, 5) },
    levels,
    maxConcurrencyWithinTarget: maxConcurrencyWithinTarget(levels, opts.targetTpotMs) ?? null,
    requests: records,
  };
}

/**
 * Why a finished run measured nothing (every request failed), in one line, or
 * undefined when at least one request succeeded. A run like that has no
 * figure to report, so the command fails rather than print a table of zeros.
 */
export function allRequestsFailed(report: BenchReport): string | undefined {
  const failures = report.requests.flatMap((r) => (r.ok ? [] : [r]));
  if (failures.length === 0 || failures.length < report.requests.length) return undefined;
  const kinds = new Map<string, number>();
  for (const f of failures) kinds.set(f.error, (kinds.get(f.error) ?? 0) + 1);
  const byKind = [...kinds].map(([k, n]) => `${k} ${n}`).join(', ');
  return `every one of the ${failures.length} requests failed (${byKind}); first: ${failures[0].error}: ${failures[0].detail}`;
}

const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));

function levelLine(s: LevelSummary): string {
  const errors = Object.entries(s.errors).map(([k, n]) => `${k} ${n}`).join(', ');
  return (
    `${levelName(s.level)}: ${s.succeeded}/${s.requests} ok in ${s.durationS.toFixed(1)} s, ` +
    `${s.outputTokensPerS.toFixed(1)} output tok/s, p90 TTFT ${ms(s.ttftMs.p90)} ms, p90 TPOT ${ms(s.tpotMs.p90)} ms` +
    (errors ? `, errors: ${errors}` : '')
  );
}
