/**
 * The first measured figures (docs/benchmarks.md), reproducible with one
 * command: `npx tsx tools/bench/compare-local.ts`.
 *
 * Serves a random-weight GGUF shaped like Llama 3.2 1B (Q4_0, generated as
 * the test fixtures do) with llama-server built from the pinned release,
 * once with the kit's settings (lib/boot/boot.sh server_args) and once with
 * llama-server's defaults, on the same build, and runs the same bench sweep
 * against each. Heavy: the first run generates a 5 GB F32 model and
 * quantizes it; run it on an otherwise idle machine.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildLlamaCpp } from '../../test/support/llama-cpp-build';
import { ensureLlamaCppSource } from '../../test/support/llama-cpp-source';
import { startLlamaServer } from '../../test/support/llama-server';
import { ensureTinyModel, LLAMA_3_2_1B_SHAPE, quantizedPath, quantizeModel } from '../../test/support/tiny-model';
import { parseBenchArgs } from './options';
import { createProgress } from './progress';
import { renderChart } from './report-chart';
import { renderMarkdown } from './report-markdown';
import { chatCompletionsUrl, sendCompletion } from './request';
import { runBenchmark, type BenchReport } from './run';
import { requestPlanner } from './workload';

/** The kit's defaults: parallelSlots 4, contextTokensPerSlot 4096 (lib/config/schema.ts). */
const KIT_SLOTS = 4;
const KIT_CONTEXT_PER_SLOT = 4096;

interface ServerConfig {
  readonly name: string;
  readonly describe: string;
  readonly options: { parallel?: number; ctxSize?: number; threads?: number; metrics?: boolean; extraArgs?: string[] };
}

function configs(slots: number): ServerConfig[] {
  const kit = (n: number): ServerConfig => ({
    name: n === KIT_SLOTS ? 'kit' : `kit-${n}-slots`,
    describe: `--parallel ${n} --ctx-size ${n * KIT_CONTEXT_PER_SLOT} --threads ${os.availableParallelism()} --cont-batching --metrics`,
    options: { parallel: n, ctxSize: n * KIT_CONTEXT_PER_SLOT, threads: os.availableParallelism(), metrics: true, extraArgs: ['--cont-batching'] },
  });
  return [kit(KIT_SLOTS), { name: 'defaults', describe: '(none: llama-server defaults)', options: {} }, ...(slots !== KIT_SLOTS ? [kit(slots)] : [])];
}

/** What llama-server says it chose, from its start-up log. */
function chosenSettings(log: string): string {
  const pick = (re: RegExp) => re.exec(log)?.[1];
  const parts = [
    ['threads', pick(/n_threads = (\d+)/)],
    ['slots', pick(/n_slots = (\d+)/)],
    ['context per slot', pick(/n_ctx_slot = (\d+)/)],
    ['kv_unified', pick(/kv_unified = '?(\w+)/)],
  ].filter(([, v]) => v !== undefined);
  return parts.map(([k, v]) => `${k} ${v}`).join(', ');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outDir = args.find((a) => a.startsWith('--out='))?.slice(6) ?? path.join('bench-results', `compare-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const extraSlots = Number(args.find((a) => a.startsWith('--extra-slots='))?.slice(14) ?? KIT_SLOTS);
  const only = args.find((a) => a.startsWith('--only='))?.slice(7)?.split(',');

  const source = await ensureLlamaCppSource();
  const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server', 'llama-quantize'] });
  const f32 = await ensureTinyModel({ source, shape: LLAMA_3_2_1B_SHAPE });
  const model = await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', { llamaQuantize: build.binaries['llama-quantize'] });
  console.log(`model ${path.basename(model.path)} (${(model.bytes / 1e6).toFixed(0)} MB), llama.cpp ${source.tag}, ${build.binaries['llama-server']}`);

  // The sweep: prompt 128 tokens, output 64, concurrency 1, 4 and 8.
  const parsed = parseBenchArgs([
    '--url', 'http://placeholder/v1', '--concurrency', '1,4,8', '--warmup', '2',
    '--input-tokens', '128', '--output-tokens', '64', '--progress', 'lines', '--seed', '1',
  ]);
  if (!('options' in parsed)) throw new Error(JSON.stringify(parsed));
  const requestsFor = (c: number) => Math.max(6, 2 * c);

  await fs.mkdir(outDir, { recursive: true });
  const rows: string[] = [];
  for (const cfg of configs(extraSlots).filter((c) => !only || only.includes(c.name))) {
    const server = await startLlamaServer({ binary: build.binaries['llama-server'], model: model.path, startTimeoutMs: 300_000, ...cfg.options });
    try {
      const reports: BenchReport[] = [];
      // One run per level so each level can have its own request count.
      for (const c of [1, 4, 8]) {
        const opts = { ...parsed.options, url: `${server.url}/v1`, levels: [{ kind: 'concurrency' as const, value: c }], requests: requestsFor(c), warmup: c === 1 ? 2 : 0, label: `${cfg.name} c=${c}` };
        const next = requestPlanner({ inputTokens: opts.inputTokens, outputTokens: opts.outputTokens, seed: opts.seed + c });
        const url = chatCompletionsUrl(opts.url);
        const send = () => {
          const p = next();
          return sendCompletion({ url, prompt: p.prompt, maxTokens: p.maxTokens, ignoreEos: true, timeoutMs: 600_000 });
        };
        reports.push(await runBenchmark(opts, send, createProgress('lines')));
      }
      const merged: BenchReport = {
        ...reports[0],
        label: `${cfg.name}: ${cfg.describe}`,
        settings: { ...reports[0].settings, levels: reports.flatMap((r) => r.settings.levels), requestsPerLevel: reports.flatMap((r) => r.settings.requestsPerLevel) },
        levels: reports.flatMap((r) => r.levels),
        maxConcurrencyWithinTarget: reports.map((r) => r.maxConcurrencyWithinTarget).reduce<number | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null),
        requests: reports.flatMap((r) => r.requests),
      };
      const dir = path.join(outDir, cfg.name);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'results.json'), `${JSON.stringify(merged, null, 2)}\n`);
      await fs.writeFile(path.join(dir, 'results.md'), renderMarkdown(merged));
      await fs.writeFile(path.join(dir, 'chart.html'), renderChart(merged));
      await fs.writeFile(path.join(dir, 'server.log'), server.logs());
      const chosen = chosenSettings(server.logs());
      for (const l of merged.levels) {
        rows.push(
          `| ${cfg.name} | ${l.level.value} | ${l.succeeded}/${l.requests} | ${l.outputTokensPerS.toFixed(1)} | ${l.tpotMs.p50?.toFixed(1)} | ${l.tpotMs.p90?.toFixed(1)} | ${l.ttftMs.p50?.toFixed(0)} | ${l.ttftMs.p90?.toFixed(0)} |`,
        );
      }
      console.log(`${cfg.name}: server chose ${chosen}`);
      // Other work on the machine skews every figure: record the load each run saw.
      await fs.appendFile(
        path.join(outDir, 'settings.txt'),
        `${cfg.name}: ${cfg.describe}\n  llama-server log: ${chosen}\n  load average at end (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}\n`,
      );
    } finally {
      await server.stop();
    }
  }
  const table = [
    '| Settings | Concurrency | OK | Output tok/s | TPOT p50 (ms) | TPOT p90 (ms) | TTFT p50 (ms) | TTFT p90 (ms) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  await fs.writeFile(path.join(outDir, 'compare.md'), `${table}\n`);
  console.log(`\n${table}\n\nResults in ${outDir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
