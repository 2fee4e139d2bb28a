/**
 * `npm run smoke -- --url URL ...`: a post-deploy gate. Sends a few streamed
 * chat completions through the bench's request and measurement code, judges
 * them (see smoke.ts), prints one verdict line and optionally writes it as
 * JSON. Exit codes: 0 passed, 1 failed (endpoint unhealthy or too slow, or
 * the key parameter unreadable), 2 bad flags (including a key file without a
 * key and a --json-out that is neither new nor an earlier verdict:
 * smoke-options.ts checks them before anything is sent or written).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { usageErrors } from '../../lib/command-line/flags';
import { resolveApiKey } from './api-key';
import { runLevel } from './load';
import { chatCompletionsUrl, sendCompletion } from './request';
import { redactUrl } from './run';
import { judgeSmoke, verdictLine, type SmokeVerdict } from './smoke';
import { parseSmokeArgs, SMOKE_REPORT_TOOL, SMOKE_USAGE, type SmokeOptions } from './smoke-options';
import { requestPlanner } from './workload';

/** Prompt length of each request: short, the smoke test checks generation, not prefill. */
export const SMOKE_INPUT_TOKENS = 32;

export interface SmokeReport {
  readonly tool: typeof SMOKE_REPORT_TOOL;
  readonly formatVersion: 1;
  readonly startedAt: string;
  readonly endpoint: string;
  readonly passed: boolean;
  readonly reasons: readonly string[];
  readonly line: string;
  readonly settings: {
    readonly requests: number;
    readonly concurrency: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly timeoutS: number;
    readonly targetTpotMs: number;
    readonly targetTtftMs?: number;
  };
  /** Absent when no request could be sent (the key could not be read). */
  readonly figures?: Omit<SmokeVerdict, 'passed' | 'reasons' | 'targets'>;
}

async function writeJson(file: string, report: SmokeReport): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}

async function measure(opts: SmokeOptions, apiKey: string | undefined): Promise<SmokeVerdict> {
  const url = chatCompletionsUrl(opts.url);
  const next = requestPlanner({
    inputTokens: { min: SMOKE_INPUT_TOKENS, max: SMOKE_INPUT_TOKENS },
    outputTokens: { min: opts.outputTokens, max: opts.outputTokens },
    seed: 1,
  });
  const send = () => {
    const plan = next();
    return sendCompletion({ url, apiKey, prompt: plan.prompt, maxTokens: plan.maxTokens, ignoreEos: true, timeoutMs: Math.round(opts.timeoutS * 1000) });
  };
  // Every request gets its full timeout: the bound is the count, not a duration.
  const level = { kind: 'concurrency', value: opts.concurrency } as const;
  const run = await runLevel(level, { requests: opts.requests, durationS: Number.POSITIVE_INFINITY }, send);
  return judgeSmoke(run.results, { tpotMs: opts.targetTpotMs, ...(opts.targetTtftMs === undefined ? {} : { ttftMs: opts.targetTtftMs }) }, opts.concurrency);
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseSmokeArgs(argv, env);
  if ('help' in parsed) {
    console.log(SMOKE_USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(usageErrors('smoke', parsed.errors));
    return 2;
  }
  const opts = parsed.options;
  const startedAt = new Date().toISOString();
  const endpoint = redactUrl(chatCompletionsUrl(opts.url));
  const settings: SmokeReport['settings'] = {
    requests: opts.requests,
    concurrency: opts.concurrency,
    inputTokens: SMOKE_INPUT_TOKENS,
    outputTokens: opts.outputTokens,
    timeoutS: opts.timeoutS,
    targetTpotMs: opts.targetTpotMs,
    ...(opts.targetTtftMs === undefined ? {} : { targetTtftMs: opts.targetTtftMs }),
  };

  let report: SmokeReport;
  try {
    const apiKey = await resolveApiKey(opts.apiKey);
    console.error(`smoke: ${opts.requests} requests of ${opts.outputTokens} output tokens, ${opts.concurrency} at a time, to ${endpoint}`);
    const verdict = await measure(opts, apiKey);
    const { passed, reasons, targets: _inSettings, ...figures } = verdict;
    report = { tool: SMOKE_REPORT_TOOL, formatVersion: 1, startedAt, endpoint, passed, reasons, line: verdictLine(verdict), settings, figures };
  } catch (err) {
    // The key could not be read (api-key.ts names the flag): nothing was measured.
    const reason = (err as Error).message ?? String(err);
    report = { tool: SMOKE_REPORT_TOOL, formatVersion: 1, startedAt, endpoint, passed: false, reasons: [reason], line: `smoke test FAILED: ${reason}`, settings };
  }

  if (opts.jsonOut) {
    try {
      await writeJson(opts.jsonOut, report);
    } catch (err) {
      // A gate whose record is missing has not done its job.
      const reasons = [...(report.passed ? [] : report.reasons), `--json-out: cannot write ${opts.jsonOut}: ${(err as Error).message}`];
      report = { ...report, passed: false, reasons, line: `smoke test FAILED: ${reasons.join('; ')}` };
    }
  }
  if (report.passed) console.log(report.line);
  else console.error(report.line);
  return report.passed ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
