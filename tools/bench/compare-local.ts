/**
 * The kit's llama-server settings against llama-server's defaults
 * (docs/benchmarks.md), one command: `npx tsx tools/bench/compare-local.ts`
 * (`--help` for the flags, all checked by compare-options.ts before anything
 * is built, generated or written).
 *
 * Serves a random-weight GGUF shaped like Llama 3.2 1B (Q4_0, generated as
 * the test fixtures do) with llama-server built from the pinned release with
 * the kit's CMake defines (local-serving.ts), with the kit's settings (the
 * boot's own server arguments, through kit-server-args.ts) and with llama-server's
 * defaults, on the same build.
 * The settings take turns (kit, defaults, kit, defaults, ...) for --rounds
 * rounds, each on a fresh server, so that whatever else the host does weighs
 * on both alike; each figure is reported as its median and range over the
 * rounds, and a difference counts only where the ranges do not overlap.
 * Heavy: the first run generates a 5 GB F32 model and quantizes it; run it
 * on an otherwise idle machine.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { usageErrors } from '../../lib/command-line/flags';
import { promptCacheMiB } from '../../lib/sizing/memory-fit';
import { startLlamaServer } from '../../test/support/llama-server';
import { prepareLocalServing } from './local-serving';
import { COMPARE_USAGE, INPUT_TOKENS, OUTPUT_TOKENS, parseCompareArgs, settingsNames, type CompareOptions } from './compare-options';
import { compareRounds, lossAtConcurrencyOne, renderComparison, type RoundFigures } from './compare-stats';
import { kitServerArgs } from './kit-server-args';
import { benchNeed, KIT_CONTEXT_PER_SLOT, KIT_SLOTS } from './local-checks';
import { parseBenchArgs } from './options';
import { createProgress } from './progress';
import { chatCompletionsUrl, sendCompletion } from './request';
import { runBenchmark } from './run';
import { prefixWorkloads } from './shared-prefix';
import type { LevelSummary } from './stats';
import { requestPlanner, type Workload } from './workload';

const CONCURRENCY = [1, 4, 8];

export interface ServerConfig {
  readonly name: string;
  /** Arguments after the model, host and port (which the harness sets). */
  readonly args: readonly string[];
}

/** The settings compared (settingsNames): the kit's (the boot program's own server arguments), llama-server's defaults, and optionally the kit's with other slots. */
export function configs(opts: CompareOptions, modelBytes: number): ServerConfig[] {
  const kit = (slots: number): ServerConfig['args'] =>
    kitServerArgs({ slots, ctxPerSlot: KIT_CONTEXT_PER_SLOT, promptCacheMiB: promptCacheMiB(benchNeed(slots, modelBytes), opts.instance) });
  const [kitName, defaultsName, extraName] = settingsNames(opts.extraSlots);
  return [
    { name: kitName, args: kit(KIT_SLOTS) },
    { name: defaultsName, args: [] },
    ...(extraName ? [{ name: extraName, args: kit(opts.extraSlots) }] : []),
  ];
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

function figuresOf(l: LevelSummary): RoundFigures {
  return { outputTokensPerS: l.outputTokensPerS, ttftP50Ms: l.ttftMs.p50, ttftP90Ms: l.ttftMs.p90, tpotP50Ms: l.tpotMs.p50, tpotP90Ms: l.tpotMs.p90 };
}

/** Per settings (and, with a shared prefix, per workload): concurrency to each round's figures. */
type Rounds = Map<string, Map<number, RoundFigures[]>>;

function record(rounds: Rounds, key: string, l: LevelSummary): void {
  const byLevel = rounds.get(key) ?? new Map<number, RoundFigures[]>();
  rounds.set(key, byLevel);
  byLevel.set(l.level.value, [...(byLevel.get(l.level.value) ?? []), figuresOf(l)]);
}

async function main(): Promise<number> {
  const parsed = parseCompareArgs(process.argv.slice(2));
  if ('help' in parsed) {
    console.log(COMPARE_USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(usageErrors('compare-local', parsed.errors));
    return 2;
  }
  const opts = parsed.options;
  const { outDir } = opts;

  const { tag, serverBinary, model } = await prepareLocalServing();
  console.log(`model ${path.basename(model.path)} (${(model.bytes / 1e6).toFixed(0)} MB), llama.cpp ${tag}, ${serverBinary}`);

  const chosen = configs(opts, model.bytes).filter((c) => !opts.only || opts.only.includes(c.name));

  const parsedBench = parseBenchArgs(['--url', 'http://placeholder/v1', '--progress', 'lines', '--seed', '1']);
  if (!('options' in parsedBench)) throw new Error(JSON.stringify(parsedBench));
  const base = { inputTokens: { min: INPUT_TOKENS, max: INPUT_TOKENS }, outputTokens: { min: OUTPUT_TOKENS, max: OUTPUT_TOKENS }, seed: 1 };
  // Without a shared prefix, one workload of distinct prompts; with one, that and the shared one.
  const workloads: { name: string; workload: (c: number) => Workload }[] = opts.sharedPrefixTokens === undefined
    ? [{ name: '', workload: (c) => ({ ...base, seed: base.seed + c }) }]
    : (() => {
      const w = prefixWorkloads(base, opts.sharedPrefixTokens);
      // The prefix stays the same across levels; the prompts' own words vary with the level's seed.
      return [
        { name: 'distinct', workload: (c: number) => ({ ...w.distinct, seed: base.seed + c }) },
        { name: 'shared-prefix', workload: (c: number) => ({ ...w.shared, seed: base.seed + c }) },
      ];
    })();

  await fs.mkdir(outDir, { recursive: true });
  const rounds: Rounds = new Map();
  for (let round = 1; round <= opts.rounds; round++) {
    for (const cfg of chosen) {
      const server = await startLlamaServer({ binary: serverBinary, model: model.path, startTimeoutMs: 300_000, extraArgs: cfg.args });
      try {
        for (const { name, workload } of workloads) {
          const levels: LevelSummary[] = [];
          // One run per level so each level can have its own request count.
          for (const c of CONCURRENCY) {
            const label = `${cfg.name}${name ? ` ${name}` : ''} round ${round} c=${c}`;
            const benchOpts = {
              ...parsedBench.options, url: `${server.url}/v1`, levels: [{ kind: 'concurrency' as const, value: c }],
              requests: Math.max(6, opts.requestsPerClient * c), warmup: c === 1 ? 2 : 0, label,
            };
            const next = requestPlanner(workload(c));
            const url = chatCompletionsUrl(benchOpts.url);
            const send = () => {
              const p = next();
              return sendCompletion({ url, prompt: p.prompt, maxTokens: p.maxTokens, ignoreEos: true, timeoutMs: 600_000 });
            };
            if (opts.sharedPrefixTokens !== undefined) {
              // One unmeasured wave of c requests at once: a slot computes the prefix the first time it
              // serves it (llama-server v0.5.0 copies a slot's state to the RAM cache only when the slot
              // is idle or handed to another prompt), so without it the figures would mix each slot's
              // first sight with the steady state. fleet-prefix.ts counts those first sights.
              await Promise.all(Array.from({ length: c }, () => send()));
            }
            const report = await runBenchmark(benchOpts, send, createProgress('lines'));
            levels.push(...report.levels);
            for (const l of report.levels) record(rounds, name ? `${cfg.name} ${name}` : cfg.name, l);
          }
          const dir = path.join(outDir, `${cfg.name}${name ? `-${name}` : ''}`, `round-${round}`);
          await fs.mkdir(dir, { recursive: true });
          await fs.writeFile(path.join(dir, 'levels.json'), `${JSON.stringify(levels, null, 2)}\n`);
        }
        await fs.mkdir(path.join(outDir, cfg.name), { recursive: true });
        await fs.writeFile(path.join(outDir, cfg.name, `server-round-${round}.log`), server.logs());
        // Other work on the machine skews every figure: record the load each round saw.
        await fs.appendFile(
          path.join(outDir, 'settings.txt'),
          `${cfg.name} round ${round}: ${cfg.args.length > 0 ? cfg.args.join(' ') : '(none: llama-server defaults)'}\n`
            + `  llama-server log: ${chosenSettings(server.logs())}\n`
            + `  load average at end (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}\n`,
        );
      } finally {
        await server.stop();
      }
    }
  }

  const sections: string[] = [`Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB; `
    + `prompt ${INPUT_TOKENS} tokens${opts.sharedPrefixTokens ? ` (after a ${opts.sharedPrefixTokens}-token prefix, or ${opts.sharedPrefixTokens + INPUT_TOKENS} distinct; each level after one unmeasured wave of as many requests as clients)` : ''}, output ${OUTPUT_TOKENS}; `
    + `the kit's prompt cache sized for ${opts.instance.instanceType}.`];
  let loss: string | undefined;
  const pair = (a: string, b: string) => {
    const ra = rounds.get(a);
    const rb = rounds.get(b);
    if (!ra || !rb) return;
    const figures = compareRounds(ra, rb);
    sections.push(`### ${a} vs ${b}\n\n${renderComparison(figures, a, b)}`);
    return figures;
  };
  for (const { name } of workloads) {
    const suffix = name ? ` ${name}` : '';
    const figures = pair(`kit${suffix}`, `defaults${suffix}`);
    // The promise is about the plain workload: a single client is never slower with the kit's settings.
    if (figures && !name) loss = lossAtConcurrencyOne(figures, 'kit', 'defaults');
  }
  if (opts.sharedPrefixTokens !== undefined) {
    for (const cfg of chosen) pair(`${cfg.name} shared-prefix`, `${cfg.name} distinct`);
  }
  if (loss) sections.push(`LOSS: ${loss}`);
  const text = `${sections.join('\n\n')}\n`;
  await fs.writeFile(path.join(outDir, 'compare.md'), text);
  console.log(`\n${text}\nResults in ${outDir}`);
  return loss ? 1 : 0;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(err);
    process.exit(1);
  });
}
