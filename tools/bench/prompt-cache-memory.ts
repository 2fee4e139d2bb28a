/**
 * The RAM prompt cache's memory bound (docs/benchmarks.md), one command:
 * `npx tsx tools/bench/prompt-cache-memory.ts` (`--help` for the flags).
 *
 * Serves the 1B-shaped model with the kit's settings for an instance type
 * (the boot's server arguments, with --cache-ram sized by the fit check for that
 * type), then with the same settings but llama-server's default cache size,
 * and sends each the same distinct long prompts one after another. Each new
 * prompt pushes an older one out of a slot into the RAM cache; after every
 * request the server's resident memory (/proc/PID/status) and its own
 * account of the cache (its trace log) are recorded. The kit's setting must
 * hold the server inside the instance's budget; the default is shown growing
 * past it. Not a timing benchmark: other work on the machine slows it but
 * does not change its figures.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GravitonInstance } from '../../lib/catalogs/graviton-instances';
import { commandLine } from '../../lib/command-line/commands';
import { numberFlag, readFlags, usageErrors } from '../../lib/command-line/flags';
import { GIB, promptCacheMiB, PROMPT_CACHE_MAX_MIB } from '../../lib/sizing/memory-fit';
import { startLlamaServer } from '../../test/support/llama-server';
import { prepareLocalServing } from './local-serving';
import {
  lastCacheState, MemorySample, parseProcStatus, peakRss, renderMemoryTable, serverBudgetBytes, SettingsRun, verdict, withoutFlag,
} from './cache-memory';
import { kitServerArgs } from './kit-server-args';
import { benchNeed, instanceTypeFlag, KIT_CONTEXT_PER_SLOT, KIT_SLOTS, resultsDirFlag, timestampedResultsDir } from './local-checks';
import { postJson } from './post-json';
import { requestPlanner } from './workload';

export const CACHE_MEMORY_USAGE = `Usage: ${commandLine('prompt-cache-memory')} [options]

Serves the 1B-shaped test model with the kit's settings for an instance type, then with llama-server's
default prompt cache (${PROMPT_CACHE_MAX_MIB} MiB), sends each the same distinct long prompts in turn, and
records the server's resident memory after each. Writes results.json and results.md to --out.

  --instance-type TYPE   the Graviton instance whose budget is checked and whose cache the kit sizes; the fit check
                         must serve the 1B-shaped model on it (default c7g.large)
  --prompts N            distinct prompts sent to each (default 28; 5-200)
  --prompt-tokens N      words per prompt, about a token each (default 3800; 256-4000, under the slot's ${KIT_CONTEXT_PER_SLOT})
  --out DIR              results: a new or empty directory (default bench-results/cache-memory-<time>)
  --help

Every flag is checked before anything is built, generated or written; a mistake exits 2.`;

export interface CacheMemoryOptions {
  readonly instance: GravitonInstance;
  readonly prompts: number;
  readonly promptTokens: number;
  /** A new or empty directory (the default: bench-results/cache-memory-<time>). */
  readonly outDir: string;
}

const FLAGS = {
  'instance-type': { type: 'string' },
  prompts: { type: 'string' },
  'prompt-tokens': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseCacheMemoryArgs(argv: readonly string[]): { options: CacheMemoryOptions } | { errors: readonly string[] } | { help: true } {
  const { values: v, errors } = readFlags(argv, FLAGS);
  if (v.help && errors.length === 0) return { help: true };
  const prompts = numberFlag('prompts', v.prompts, 28, { min: 5, max: 200, integer: true }, errors);
  const promptTokens = numberFlag('prompt-tokens', v['prompt-tokens'], 3800, { min: 256, max: 4000, integer: true }, errors);
  const instance = instanceTypeFlag(v['instance-type'], 'c7g.large', errors);
  const outDir = resultsDirFlag(v.out, timestampedResultsDir('cache-memory-'), errors);
  if (errors.length > 0 || !instance) return { errors };
  return { options: { instance, prompts, promptTokens, outDir } };
}

async function residentMemory(pid: number) {
  const memory = parseProcStatus(await fs.readFile(`/proc/${pid}/status`, 'utf8'));
  if (!memory) throw new Error(`/proc/${pid}/status has no VmRSS, RssAnon, RssFile or VmHWM`);
  return memory;
}

async function main(): Promise<number> {
  const parsed = parseCacheMemoryArgs(process.argv.slice(2));
  if ('help' in parsed) {
    console.log(CACHE_MEMORY_USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(usageErrors('prompt-cache-memory', parsed.errors));
    return 2;
  }
  const opts = parsed.options;
  const { outDir } = opts;

  const { serverBinary, model } = await prepareLocalServing();

  const need = benchNeed(KIT_SLOTS, model.bytes);
  const kitCache = promptCacheMiB(need, opts.instance);
  const kit = kitServerArgs({ slots: KIT_SLOTS, ctxPerSlot: KIT_CONTEXT_PER_SLOT, promptCacheMiB: kitCache });
  const settings = [
    { name: 'kit', cacheRamMiB: kitCache, args: kit },
    { name: 'default cache', cacheRamMiB: PROMPT_CACHE_MAX_MIB, args: withoutFlag(kit, '--cache-ram') },
  ];
  console.log(`model ${(model.bytes / 1e6).toFixed(0)} MB; fit check need ${(need.totalBytes / GIB).toFixed(2)} GiB; `
    + `${opts.instance.instanceType} budget ${(serverBudgetBytes(opts.instance) / GIB).toFixed(2)} GiB; kit cache ${kitCache} MiB`);

  await fs.mkdir(outDir, { recursive: true });
  const runs: SettingsRun[] = [];
  for (const s of settings) {
    // Trace verbosity: llama-server then logs its cache's state after every save.
    const server = await startLlamaServer({ binary: serverBinary, model: model.path, startTimeoutMs: 300_000, extraArgs: [...s.args, '--log-verbosity', '4'] });
    const samples: MemorySample[] = [];
    try {
      // The same prompts for both settings, each distinct from its first word.
      const next = requestPlanner({ inputTokens: { min: opts.promptTokens, max: opts.promptTokens }, outputTokens: { min: 1, max: 1 }, seed: 7 });
      for (let i = 1; i <= opts.prompts; i++) {
        const res = await postJson(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: next().prompt }], max_tokens: 1 }, 1_800_000);
        if (res.status !== 200) throw new Error(`${s.name}: prompt ${i} got HTTP ${res.status}: ${res.body.slice(0, 300)}`);
        const sample = { prompt: i, memory: await residentMemory(server.pid), cache: lastCacheState(server.logs()) };
        samples.push(sample);
        console.log(`${s.name} prompt ${i}/${opts.prompts}: RSS ${(sample.memory.rssBytes / GIB).toFixed(2)} GiB`
          + `${sample.cache ? `, cache ${sample.cache.prompts} prompts ${sample.cache.mib.toFixed(0)} MiB` : ''}`);
      }
    } finally {
      await fs.writeFile(path.join(outDir, `server-${s.name.replace(/ /g, '-')}.log`), server.logs());
      await server.stop();
    }
    runs.push({ name: s.name, cacheRamMiB: s.cacheRamMiB, samples });
  }

  const lines = [
    `Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / GIB).toFixed(1)} GiB. `
      + `Model: 1B-shaped Q4_0, ${(model.bytes / 1e6).toFixed(0)} MB; ${KIT_SLOTS} slots of ${KIT_CONTEXT_PER_SLOT} tokens; `
      + `${opts.prompts} distinct prompts of ${opts.promptTokens} words, 1 output token each, one at a time.`,
    `Instance: ${opts.instance.instanceType}, ${opts.instance.memoryGiB} GiB; the server's budget (the fit check's usable memory) ${(serverBudgetBytes(opts.instance) / GIB).toFixed(2)} GiB; `
      + `fit check need ${(need.totalBytes / GIB).toFixed(2)} GiB; kit --cache-ram ${kitCache} MiB, llama-server's default ${PROMPT_CACHE_MAX_MIB} MiB.`,
    '',
    ...runs.map((r) => `- ${verdict(r, opts.instance)}`),
    '',
    renderMemoryTable(runs),
  ];
  const text = `${lines.join('\n')}\n`;
  await fs.writeFile(path.join(outDir, 'results.md'), text);
  await fs.writeFile(path.join(outDir, 'results.json'), `${JSON.stringify({ instance: opts.instance.instanceType, need, runs }, null, 2)}\n`);
  console.log(`\n${text}\nResults in ${outDir}`);
  // The promise: with the kit's setting the server stays within the instance's budget.
  const kitRun = runs.find((r) => r.name === 'kit')!;
  return peakRss(kitRun) <= serverBudgetBytes(opts.instance) ? 0 : 1;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(err);
    process.exit(1);
  });
}
