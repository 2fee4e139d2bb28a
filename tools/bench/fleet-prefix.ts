/**
 * How a fleet's prompt-cache hit rate falls as it grows (docs/benchmarks.md),
 * one command: `npx tsx tools/bench/fleet-prefix.ts` (`--help` for the flags).
 *
 * Starts N llama-servers with the kit's settings (the machine's cores split
 * between them) behind a least-outstanding-requests proxy, as the kit's load
 * balancer routes, and sends requests that each carry one of P long system
 * prompts and a question of their own, C at a time. Counts the requests whose
 * system prompt a server reused from its cache. Each (N, P) run starts from
 * fresh servers. Not a timing benchmark: it counts hits, which other work on
 * the machine does not change much (it can change which server is least busy).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { commandLine } from '../../lib/command-line/commands';
import { describeRange, numberFlag, readFlags, usageErrors } from '../../lib/command-line/flags';
import { promptCacheMiB } from '../../lib/sizing/memory-fit';
import { RunningLlamaServer, startLlamaServer } from '../../test/support/llama-server';
import { prepareLocalServing } from './local-serving';
import { FleetRunSummary, PrefixRequestResult, renderFleetTable, summarize, usageOf } from './fleet-prefix-report';
import { kitServerArgs } from './kit-server-args';
import { benchNeed, KIT_CONTEXT_PER_SLOT, KIT_SLOTS, resultsDirFlag, timestampedResultsDir } from './local-checks';
import { postJson } from './post-json';
import { BACKEND_HEADER, startLeastOutstandingProxy } from './least-outstanding-proxy';
import { seededRandom, sharedPrefix, requestPlanner } from './workload';

const QUESTION_TOKENS = 32;
const OUTPUT_TOKENS = 8;

export const FLEET_PREFIX_USAGE = `Usage: ${commandLine('fleet-prefix')} [options]

Serves the 1B-shaped test model from N llama-servers (the kit's settings, this machine's cores split
between them) behind a least-outstanding-requests proxy and counts how many requests find their
system prompt in the cache of the server they reach. Writes results.json and results.md to --out.

  --servers LIST          fleet sizes to run, comma-separated (default 1,2; each 1-8)
  --prefixes LIST         numbers of distinct system prompts in use, comma-separated (default 1,4; each 1-64)
  --prefix-tokens N       words per system prompt, about a token each (default 1000; 64-3000)
  --requests N            requests per run (default 48; 8-1000)
  --concurrency N         requests in flight (default 4; 1-64, at most --requests)
  --out DIR               results: a new or empty directory (default bench-results/fleet-prefix-<time>)
  --help

Every flag is checked before anything is built, generated or written; a mistake exits 2.`;

export interface FleetPrefixOptions {
  readonly servers: readonly number[];
  readonly prefixes: readonly number[];
  readonly prefixTokens: number;
  readonly requests: number;
  readonly concurrency: number;
  /** A new or empty directory (the default: bench-results/fleet-prefix-<time>). */
  readonly outDir: string;
}

const FLAGS = {
  servers: { type: 'string' },
  prefixes: { type: 'string' },
  'prefix-tokens': { type: 'string' },
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A comma-separated list of whole numbers from 1 to max, in plain digits (not `0x2` or `1e1`). */
function countList(flag: string, text: string | undefined, fallback: number[], max: number, errors: string[]): number[] {
  if (text === undefined) return fallback;
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || values.some((v) => !(v >= 1 && v <= max))) {
    errors.push(`--${flag}: got "${text}"; expected a comma-separated list, each ${describeRange({ min: 1, max, integer: true })}`);
    return fallback;
  }
  return values;
}

export function parseFleetPrefixArgs(argv: readonly string[]): { options: FleetPrefixOptions } | { errors: readonly string[] } | { help: true } {
  const { values: v, errors } = readFlags(argv, FLAGS);
  if (v.help && errors.length === 0) return { help: true };
  const servers = countList('servers', v.servers, [1, 2], 8, errors);
  const prefixes = countList('prefixes', v.prefixes, [1, 4], 64, errors);
  const prefixTokens = numberFlag('prefix-tokens', v['prefix-tokens'], 1000, { min: 64, max: 3000, integer: true }, errors);
  const requests = numberFlag('requests', v.requests, 48, { min: 8, max: 1000, integer: true }, errors);
  const concurrency = numberFlag('concurrency', v.concurrency, 4, { min: 1, max: 64, integer: true }, errors);
  // More clients than requests would leave some idle: the run would not have the concurrency asked for.
  if (concurrency > requests) errors.push(`--concurrency: got ${concurrency}; expected at most --requests (${requests})`);
  const outDir = resultsDirFlag(v.out, timestampedResultsDir('fleet-prefix-'), errors);
  if (errors.length > 0) return { errors };
  return { options: { servers, prefixes, prefixTokens, requests, concurrency, outDir } };
}

/** The kit's settings with --threads set to this server's share of the cores. */
function withThreads(args: readonly string[], threads: number): string[] {
  const out = [...args];
  const i = out.indexOf('--threads');
  if (i < 0) throw new Error(`expected --threads in the kit's server settings (${args.join(' ')})`);
  out[i + 1] = String(threads);
  return out;
}

async function main(): Promise<number> {
  const parsed = parseFleetPrefixArgs(process.argv.slice(2));
  if ('help' in parsed) {
    console.log(FLEET_PREFIX_USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(usageErrors('fleet-prefix', parsed.errors));
    return 2;
  }
  const opts = parsed.options;
  const { outDir } = opts;

  const { serverBinary, model } = await prepareLocalServing();
  // Each server as on the kit's default instance type (c7g.2xlarge): the full 8192 MiB cache.
  const need = benchNeed(KIT_SLOTS, model.bytes);
  const kit = kitServerArgs({ slots: KIT_SLOTS, ctxPerSlot: KIT_CONTEXT_PER_SLOT, promptCacheMiB: promptCacheMiB(need, findGravitonInstance('c7g.2xlarge')!) });

  await fs.mkdir(outDir, { recursive: true });
  const rows: FleetRunSummary[] = [];
  const raw: { servers: number; prefixes: number; results: PrefixRequestResult[] }[] = [];
  for (const n of opts.servers) {
    for (const p of opts.prefixes) {
      const threads = Math.max(1, Math.floor(os.cpus().length / n));
      const servers: RunningLlamaServer[] = [];
      try {
        for (let i = 0; i < n; i++) {
          servers.push(await startLlamaServer({ binary: serverBinary, model: model.path, startTimeoutMs: 300_000, extraArgs: withThreads(kit, threads) }));
        }
        const proxy = await startLeastOutstandingProxy(servers.map((s) => s.url), seededRandom(11));
        const systemPrompts = Array.from({ length: p }, (_, i) => sharedPrefix(opts.prefixTokens, 100 + i));
        const pickPrefix = seededRandom(12);
        const question = requestPlanner({ inputTokens: { min: QUESTION_TOKENS, max: QUESTION_TOKENS }, outputTokens: { min: OUTPUT_TOKENS, max: OUTPUT_TOKENS }, seed: 13 });
        const results: PrefixRequestResult[] = [];
        let issued = 0;
        const client = async () => {
          while (issued < opts.requests) {
            issued++;
            const prefix = Math.floor(pickPrefix() * p);
            const res = await postJson(`${proxy.url}/v1/chat/completions`, {
              messages: [{ role: 'system', content: systemPrompts[prefix] }, { role: 'user', content: question().prompt }],
              max_tokens: OUTPUT_TOKENS,
            }, 1_800_000);
            const text = res.body;
            if (res.status !== 200) throw new Error(`${n} servers, ${p} prompts: HTTP ${res.status}: ${text.slice(0, 300)}`);
            const usage = usageOf(JSON.parse(text));
            if (!usage) throw new Error(`no usage in the response: ${text.slice(0, 300)}`);
            const backend = Number(res.headers[BACKEND_HEADER]);
            results.push({ prefix, backend, ...usage });
          }
        };
        await Promise.all(Array.from({ length: opts.concurrency }, client));
        await proxy.close();
        const summary = summarize(n, p, results, opts.prefixTokens);
        rows.push(summary);
        raw.push({ servers: n, prefixes: p, results });
        console.log(`${n} servers, ${p} system prompts: ${summary.hits}/${summary.requests} hits`);
      } finally {
        for (const [i, s] of servers.entries()) {
          await fs.writeFile(path.join(outDir, `server-n${n}-p${p}-${i}.log`), s.logs());
          await s.stop();
        }
      }
    }
  }
  const text = [
    `Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB. `
      + `Model: 1B-shaped Q4_0; each server the kit's settings (${KIT_SLOTS} slots of ${KIT_CONTEXT_PER_SLOT} tokens, the RAM cache of a c7g.2xlarge) `
      + `with the cores split between the servers; ${opts.requests} requests, ${opts.concurrency} at a time, each a random one of the system prompts `
      + `(${opts.prefixTokens} words) and a question of ${QUESTION_TOKENS} words, ${OUTPUT_TOKENS} output tokens.`,
    '',
    renderFleetTable(rows, opts.prefixTokens),
    '',
  ].join('\n');
  await fs.writeFile(path.join(outDir, 'results.md'), text);
  await fs.writeFile(path.join(outDir, 'results.json'), `${JSON.stringify({ options: opts, rows, raw }, null, 2)}\n`);
  console.log(`\n${text}\nResults in ${outDir}`);
  return 0;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(err);
    process.exit(1);
  });
}
