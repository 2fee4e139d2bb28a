/**
 * The repeated-prefix measurement (`bench --shared-prefix-tokens N`): the
 * same sweep with distinct prompts of N + input tokens, then with prompts
 * that share their first N tokens, and what the sharing saves in time to
 * first token. Pure functions; the command runs them (cli.ts).
 */
import type { LevelSummary } from './stats';
import { sharedPrefix, type LengthSpec, type Workload } from './workload';

export interface PrefixWorkloads {
  /** Every prompt its own: N + input tokens of words, nothing for a cache to reuse. */
  readonly distinct: Workload;
  /** Every prompt the same N-token prefix, then input tokens of its own. */
  readonly shared: Workload;
}

/** The two workloads, of the same prompt length, for a prefix of `prefixTokens`. */
export function prefixWorkloads(w: { inputTokens: LengthSpec; outputTokens: LengthSpec; seed: number }, prefixTokens: number): PrefixWorkloads {
  return {
    distinct: {
      inputTokens: { min: w.inputTokens.min + prefixTokens, max: w.inputTokens.max + prefixTokens },
      outputTokens: w.outputTokens,
      seed: w.seed,
    },
    shared: {
      inputTokens: w.inputTokens,
      outputTokens: w.outputTokens,
      prefix: sharedPrefix(prefixTokens, w.seed),
      seed: w.seed,
    },
  };
}

/** The goal: the repeated prefix's p90 TTFT at most this share of the distinct prompt's. */
export const PREFIX_TTFT_GOAL = 0.25;

export interface PrefixRow {
  readonly level: string;
  readonly distinct: LevelSummary;
  readonly shared: LevelSummary;
  /** shared p90 TTFT / distinct p90 TTFT; undefined when either has no figure. */
  readonly ttftP90Ratio?: number;
  /** shared output tokens/s / distinct. */
  readonly outputTpsRatio?: number;
}

export function comparePrefixLevels(distinct: readonly LevelSummary[], shared: readonly LevelSummary[]): PrefixRow[] {
  return distinct.flatMap((d) => {
    const s = shared.find((x) => x.level.kind === d.level.kind && x.level.value === d.level.value);
    if (!s) return [];
    const dp90 = d.ttftMs.p90;
    const sp90 = s.ttftMs.p90;
    return [{
      level: `${d.level.kind === 'concurrency' ? 'c' : 'rate '}=${d.level.value}`,
      distinct: d,
      shared: s,
      ...(dp90 !== undefined && sp90 !== undefined && dp90 > 0 ? { ttftP90Ratio: sp90 / dp90 } : {}),
      ...(d.outputTokensPerS > 0 ? { outputTpsRatio: s.outputTokensPerS / d.outputTokensPerS } : {}),
    }];
  });
}

const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(0));
const ratio = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(0)}%`);

/** Markdown: TTFT p50/p90 of both workloads per level, the p90 ratio against the goal, and output tokens/s. */
export function renderPrefixTable(rows: readonly PrefixRow[], prefixTokens: number): string {
  return [
    `Repeated ${prefixTokens}-token prefix vs distinct prompts of the same length (goal: shared p90 TTFT at most ${PREFIX_TTFT_GOAL * 100}% of distinct, output tok/s not lower)`,
    '',
    '| Level | Distinct TTFT p50 (ms) | Distinct TTFT p90 (ms) | Shared TTFT p50 (ms) | Shared TTFT p90 (ms) | Shared/distinct p90 | Output tok/s distinct | Output tok/s shared |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.level} | ${ms(r.distinct.ttftMs.p50)} | ${ms(r.distinct.ttftMs.p90)} | ${ms(r.shared.ttftMs.p50)} | ${ms(r.shared.ttftMs.p90)} | `
      + `${ratio(r.ttftP90Ratio)}${r.ttftP90Ratio !== undefined && r.ttftP90Ratio > PREFIX_TTFT_GOAL ? ' (over goal)' : ''} | `
      + `${r.distinct.outputTokensPerS.toFixed(1)} | ${r.shared.outputTokensPerS.toFixed(1)} |`),
  ].join('\n');
}
