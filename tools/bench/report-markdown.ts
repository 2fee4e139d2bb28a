/** The Markdown summary of a run: what was measured, then one row per level. */
import { levelName } from './progress';
import type { BenchReport } from './run';
import type { Distribution } from './stats';

const f = (v: number | undefined, digits = 1) => (v === undefined ? '-' : v.toFixed(digits));
const trio = (d: Distribution) => `${f(d.p50)} / ${f(d.p90)} / ${f(d.p99)}`;

export function renderMarkdown(r: BenchReport): string {
  const s = r.settings;
  const lines = [
    `# Benchmark${r.label ? `: ${r.label}` : ''}`,
    '',
    `- Endpoint: \`${r.endpoint}\``,
    `- Started: ${r.startedAt}`,
    `- Prompt tokens: ${s.inputTokens}; output tokens: ${s.outputTokens}${s.ignoreEos ? ' (ignore_eos)' : ''}; seed ${s.seed}`,
    `- Warm-up: ${r.warmup.requests} requests (${r.warmup.failed} failed), not counted`,
    `- Per level: up to ${s.requestsPerLevel.join(', ')} requests, at most ${s.durationS} s${s.arrival ? `; ${s.arrival} arrivals` : ''}`,
    `- Target: p90 TPOT at or under ${s.targetTpotMs} ms. Largest concurrency meeting it: ` +
      (r.maxConcurrencyWithinTarget === null ? '**none of the levels run**' : `**${r.maxConcurrencyWithinTarget}**`),
    '',
    '| Level | OK / sent | Output tok/s | Req/s | TTFT p50 / p90 / p99 (ms) | TPOT p50 / p90 / p99 (ms) | ITL p50 / p90 / p99 (ms) | E2E p50 / p90 / p99 (ms) | Tokens in / out (mean) | Errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const l of r.levels) {
    const errors = Object.entries(l.errors).map(([k, n]) => `${k}: ${n}`).join(', ') || '-';
    lines.push(
      `| ${levelName(l.level)} | ${l.succeeded} / ${l.requests} | ${f(l.outputTokensPerS)} | ${f(l.requestsPerS, 2)} | ${trio(l.ttftMs)} | ` +
        `${trio(l.tpotMs)} | ${trio(l.itlMs)} | ${trio(l.e2eMs)} | ${f(l.inputTokens.mean, 0)} / ${f(l.outputTokens.mean, 0)} | ${errors} |`,
    );
  }
  lines.push(
    '',
    'TTFT: request sent to first content token. TPOT: (end-to-end - TTFT) / (output tokens - 1), per request. ' +
      'ITL: every gap between consecutive streamed chunks. Output tok/s: output tokens of successful requests / level wall time. ' +
      'Token counts are the server\'s `usage` figures.',
    '',
  );
  return lines.join('\n');
}
