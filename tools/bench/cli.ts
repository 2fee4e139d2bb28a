/**
 * `npm run bench -- --url URL ...`: the command. Reads flags and the key,
 * runs the benchmark, writes results.json, results.md and chart.html, prints
 * the Markdown table. Exit codes: 0 done, 1 run failed (endpoint unusable),
 * 2 bad flags.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { resolveApiKey } from './api-key';
import { parseBenchArgs, USAGE } from './options';
import { createProgress } from './progress';
import { renderChart } from './report-chart';
import { renderMarkdown } from './report-markdown';
import { chatCompletionsUrl, sendCompletion } from './request';
import { runBenchmark, WarmupFailed } from './run';
import { requestPlanner } from './workload';

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseBenchArgs(argv);
  if ('help' in parsed) {
    console.log(USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(`Invalid bench options:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}\n\nSee npm run bench -- --help`);
    return 2;
  }
  const opts = parsed.options;
  try {
    const apiKey = await resolveApiKey(opts.apiKey);
    let prompts: string[] | undefined;
    if (opts.promptFile) {
      prompts = (await fs.readFile(opts.promptFile, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
      if (prompts.length === 0) throw new Error(`--prompt-file: ${opts.promptFile} has no non-empty lines`);
    }
    const url = chatCompletionsUrl(opts.url);
    const next = requestPlanner({ inputTokens: opts.inputTokens, outputTokens: opts.outputTokens, prompts, seed: opts.seed });
    const send = () => {
      const plan = next();
      return sendCompletion({
        url,
        apiKey,
        model: opts.model,
        prompt: plan.prompt,
        maxTokens: plan.maxTokens,
        ignoreEos: opts.ignoreEos,
        timeoutMs: opts.timeoutS * 1000,
      });
    };
    const progress = createProgress(opts.progress);
    const report = await runBenchmark(opts, send, progress);

    const outDir = opts.outDir ?? path.join('bench-results', report.startedAt.replace(/[:.]/g, '-'));
    await fs.mkdir(outDir, { recursive: true });
    const markdown = renderMarkdown(report);
    await fs.writeFile(path.join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
    await fs.writeFile(path.join(outDir, 'results.md'), markdown);
    await fs.writeFile(path.join(outDir, 'chart.html'), renderChart(report));
    console.log(markdown);
    console.log(`Results: ${path.join(outDir, 'results.json')}, results.md, chart.html`);
    return 0;
  } catch (err) {
    console.error(err instanceof WarmupFailed || (err as Error).message?.startsWith('--') ? `bench: ${(err as Error).message}` : err);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
