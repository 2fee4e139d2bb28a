/**
 * `npm run bench -- --url URL ...`: the command. Reads flags and the key,
 * runs the benchmark, writes results.json, results.md and chart.html, prints
 * the Markdown table (with --shared-prefix-tokens: two sweeps, and a table
 * of what the repeated prefix saves in time to first token). Exit codes: 0 done, 1 run failed (endpoint unusable, or
 * every request failed), 2 bad flags (including an unreadable --prompt-file
 * or an --out that cannot be written).
 */
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { usageErrors } from '../../lib/command-line/flags';
import { unwritableDirectory } from '../../lib/command-line/paths';
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
  // Files the run needs are checked before it starts: a bad path found after an hour of load is an hour lost.
  let prompts: string[] | undefined;
  const fileErrors: string[] = [];
  if (opts.promptFile) {
    try {
      prompts = readLines(opts.promptFile);
      if (prompts.length === 0) fileErrors.push(`--prompt-file: ${opts.promptFile} has no non-empty lines`);
    } catch (err) {
      fileErrors.push(`--prompt-file: cannot read ${opts.promptFile}: ${(err as Error).message}`);
    }
  }
  const outDir = opts.outDir ?? path.join('bench-results', new Date().toISOString().replace(/[:.]/g, '-'));
  const outProblem = unwritableDirectory(outDir);
  if (outProblem) fileErrors.push(`--out: ${outDir} ${outProblem}`);
  if (fileErrors.length > 0) {
    console.error(usageErrors('bench', fileErrors));
    return 2;
  }
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

function readLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
