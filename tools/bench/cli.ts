/**
 * `npm run bench -- --url URL ...`: the command. Reads flags and the key,
 * runs the benchmark, writes results.json, results.md and chart.html, prints
 * the Markdown table (with --shared-prefix-tokens: two sweeps, and a table
 * of what the repeated prefix saves in time to first token). Exit codes: 0 done, 1 run failed (endpoint unusable, the
 * key parameter unreadable, or every request failed), 2 bad flags (including
 * an unreadable --prompt-file, a key file without a key, or an --out that is
 * not a new or empty directory: options.ts checks them all before anything
 * is sent or written).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { usageErrors } from '../../lib/command-line/flags';
import { resolveApiKey } from './api-key';
import { parseBenchArgs, USAGE } from './options';
import { createProgress } from './progress';
import { renderChart } from './report-chart';
import { renderMarkdown } from './report-markdown';
import { chatCompletionsUrl, sendCompletion } from './request';
import { allRequestsFailed, runBenchmark, type BenchReport } from './run';
import { comparePrefixLevels, prefixWorkloads, renderPrefixTable } from './shared-prefix';
import { formatLength, requestPlanner, type Workload } from './workload';

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseBenchArgs(argv);
  if ('help' in parsed) {
    console.log(USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(usageErrors('bench', parsed.errors));
    return 2;
  }
  const opts = parsed.options;
  const { outDir, prompts } = opts;
  try {
    const apiKey = await resolveApiKey(opts.apiKey);
    const url = chatCompletionsUrl(opts.url);
    const progress = createProgress(opts.progress);
    const sweep = async (workload: Workload, dir: string, label: string | undefined): Promise<BenchReport> => {
      const next = requestPlanner(workload);
      const send = () => {
        const plan = next();
        return sendCompletion({
          url,
          apiKey,
          model: opts.model,
          prompt: plan.prompt,
          maxTokens: plan.maxTokens,
          ignoreEos: opts.ignoreEos,
          timeoutMs: Math.round(opts.timeoutS * 1000),
        });
      };
      const report = await runBenchmark({ ...opts, ...(label ? { label } : {}) }, send, progress);
      await fs.mkdir(dir, { recursive: true });
      const markdown = renderMarkdown(report);
      await fs.writeFile(path.join(dir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
      await fs.writeFile(path.join(dir, 'results.md'), markdown);
      await fs.writeFile(path.join(dir, 'chart.html'), renderChart(report));
      console.log(markdown);
      console.log(`Results: ${path.join(dir, 'results.json')}, results.md, chart.html`);
      return report;
    };

    const reports: BenchReport[] = [];
    if (opts.sharedPrefixTokens === undefined) {
      reports.push(await sweep({ inputTokens: opts.inputTokens, outputTokens: opts.outputTokens, prompts, seed: opts.seed }, outDir, opts.label));
    } else {
      // Distinct first: the shared sweep then starts with slots (and a prompt cache) that hold
      // nothing of its prefix, as a server does the first time it meets a system prompt.
      const n = opts.sharedPrefixTokens;
      const w = prefixWorkloads(opts, n);
      const name = (what: string) => `${opts.label ? `${opts.label}: ` : ''}${what}`;
      const distinct = await sweep(w.distinct, path.join(outDir, 'distinct'), name(`distinct prompts of ${n} + ${formatLength(opts.inputTokens)} tokens`));
      const shared = await sweep(w.shared, path.join(outDir, 'shared-prefix'), name(`shared ${n}-token prefix + ${formatLength(opts.inputTokens)} tokens`));
      reports.push(distinct, shared);
      const table = renderPrefixTable(comparePrefixLevels(distinct.levels, shared.levels), n);
      await fs.writeFile(path.join(outDir, 'shared-prefix.md'), `${table}\n`);
      console.log(`${table}\n\nComparison: ${path.join(outDir, 'shared-prefix.md')}`);
    }
    // Nothing was measured, so the table above holds no figure: the run failed.
    const failed = reports.map(allRequestsFailed).find((f) => f);
    if (failed) {
      console.error(`bench: FAILED: ${failed}`);
      return 1;
    }
    return 0;
  } catch (err) {
    // Every failure here is about the endpoint or the key and is told in words; a stack would bury it.
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
