/**
 * The prompt-cache memory bound (`tools/bench/prompt-cache-memory.ts`): the
 * pure parts. Reading a process's memory from /proc, reading llama-server's
 * own account of its RAM prompt cache from its log, the server settings with
 * and without the kit's cache size, and the verdict against an instance's
 * budget. The command runs a real server and calls these.
 */
import { GravitonInstance } from '../../lib/catalogs/graviton-instances';
import { GIB, MIB, usableBytes } from '../../lib/sizing/memory-fit';

/** A process's resident memory, from /proc/PID/status. */
export interface ResidentMemory {
  /** VmRSS: everything resident, the model's mapped pages included. */
  readonly rssBytes: number;
  /** RssAnon: heap (KV cache, prompt cache, compute buffers). */
  readonly anonBytes: number;
  /** RssFile: mapped files (the model's weights). */
  readonly fileBytes: number;
  /** VmHWM: the most VmRSS has been since the process started. */
  readonly peakRssBytes: number;
}

/** Parses /proc/PID/status; undefined when a field the bound needs is missing. */
export function parseProcStatus(text: string): ResidentMemory | undefined {
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kib('VmRSS');
  const anon = kib('RssAnon');
  const file = kib('RssFile');
  const hwm = kib('VmHWM');
  if (rss === undefined || anon === undefined || file === undefined || hwm === undefined) return undefined;
  return { rssBytes: rss, anonBytes: anon, fileBytes: file, peakRssBytes: hwm };
}

/** llama-server's own account of its RAM prompt cache (v0.5.0 logs it after each save). */
export interface CacheState {
  readonly prompts: number;
  readonly mib: number;
  readonly limitMiB: number;
}

/**
 * The last `cache state: N prompts, X MiB (limits: Y MiB, ...)` line of a
 * llama-server log; undefined when it never logged one (no prompt saved yet,
 * or the cache is off).
 */
export function lastCacheState(log: string): CacheState | undefined {
  const re = /cache state: (\d+) prompts, ([\d.]+) MiB \(limits: ([\d.]+) MiB/g;
  let last: CacheState | undefined;
  for (let m = re.exec(log); m; m = re.exec(log)) {
    last = { prompts: Number(m[1]), mib: Number(m[2]), limitMiB: Number(m[3]) };
  }
  return last;
}

/** The settings with `flag` and its value taken out: what llama-server then does by default. */
export function withoutFlag(args: readonly string[], flag: string): string[] {
  const i = args.indexOf(flag);
  if (i < 0) throw new Error(`expected ${flag} in the kit's server settings (${args.join(' ')}); the comparison would measure nothing`);
  return [...args.slice(0, i), ...args.slice(i + 2)];
}

/** One request's sample: after it, the server's memory and cache. */
export interface MemorySample {
  /** 1-based count of distinct prompts sent so far. */
  readonly prompt: number;
  readonly memory: ResidentMemory;
  readonly cache?: CacheState;
}

export interface SettingsRun {
  readonly name: string;
  /** --cache-ram as given, or llama-server's default when absent. */
  readonly cacheRamMiB: number;
  readonly samples: readonly MemorySample[];
}

/** The budget an instance gives the server: the fit check's usable memory (total less the OS reserve and headroom). */
export function serverBudgetBytes(instance: GravitonInstance): number {
  return usableBytes(instance);
}

const gib = (b: number) => `${(b / GIB).toFixed(2)} GiB`;

/** A run's peak resident memory (VmHWM of its last sample, which covers every earlier moment). */
export function peakRss(run: SettingsRun): number {
  return run.samples.length === 0 ? 0 : Math.max(...run.samples.map((s) => s.memory.peakRssBytes));
}

/** Where a run's peak stands against the instance: under the budget, over it, or over the whole memory. */
export function verdict(run: SettingsRun, instance: GravitonInstance): string {
  const peak = peakRss(run);
  const budget = serverBudgetBytes(instance);
  const total = instance.memoryGiB * GIB;
  if (peak <= budget) return `${run.name}: peak ${gib(peak)}, within ${instance.instanceType}'s ${gib(budget)} budget for the server`;
  if (peak <= total) return `${run.name}: peak ${gib(peak)}, OVER ${instance.instanceType}'s ${gib(budget)} budget for the server (into the memory kept for the OS, the agents and headroom)`;
  return `${run.name}: peak ${gib(peak)}, OVER ${instance.instanceType}'s whole ${instance.memoryGiB} GiB: there the kernel would kill the server`;
}

/** Markdown: resident memory and the cache after each prompt, one column pair per settings. */
export function renderMemoryTable(runs: readonly SettingsRun[]): string {
  const most = Math.max(0, ...runs.map((r) => r.samples.length));
  const header = `| Prompts sent | ${runs.map((r) => `${r.name} RSS (heap + mapped) | ${r.name} prompt cache`).join(' | ')} |`;
  const rule = `|---|${runs.map(() => '---|---').join('|')}|`;
  const rows: string[] = [];
  for (let i = 0; i < most; i++) {
    const cells = runs.map((r) => {
      const s = r.samples[i];
      if (!s) return '- | -';
      const m = s.memory;
      const cache = s.cache ? `${s.cache.prompts} prompts, ${s.cache.mib.toFixed(0)} MiB` : '-';
      return `${(m.rssBytes / MIB).toFixed(0)} MiB (${(m.anonBytes / MIB).toFixed(0)} + ${(m.fileBytes / MIB).toFixed(0)}) | ${cache}`;
    });
    rows.push(`| ${i + 1} | ${cells.join(' | ')} |`);
  }
  return [header, rule, ...rows].join('\n');
}
