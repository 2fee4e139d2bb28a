/**
 * What the local benchmarks (compare-local.ts, prompt-cache-memory.ts,
 * fleet-prefix.ts) serve, and the checks of their flags that need it, made
 * before anything is built or generated: the kit's slot shape, the model the
 * random-weight one is shaped like, the instance type the kit's prompt cache
 * is sized for (known, and one the kit's fit check would serve the model on,
 * as synth checks it), and the results directory.
 */
import { findGravitonInstance, type GravitonInstance } from '../../lib/catalogs/graviton-instances';
import { ARCHITECTURES } from '../../lib/catalogs/model-architectures';
import { findCatalogModel } from '../../lib/catalogs/model-catalog';
import { unusableResultsDirectory } from '../../lib/command-line/paths';
import { instanceTypeExpectation } from '../../lib/instances/graviton-instance-type';
import { fits, formatGiB, memoryNeed, sizesThatFit, usableBytes, type MemoryNeed } from '../../lib/sizing/memory-fit';

/** The kit's defaults: parallelSlots 4, contextTokensPerSlot 4096 (lib/config/schema.ts). */
export const KIT_SLOTS = 4;
export const KIT_CONTEXT_PER_SLOT = 4096;

/**
 * Tokens a chat request adds around its messages (Llama 3's template: the
 * headers and the default system text), kept free in a slot's context.
 */
export const CHAT_TEMPLATE_TOKENS = 96;

/**
 * The catalog model the benchmarks' random-weight GGUF is shaped like. Its
 * size stands in for the generated file's (771 MB against 773 MB) in the
 * checks made before the file exists.
 */
export const SHAPED_LIKE = findCatalogModel('llama-3.2-1b-instruct-q4_0')!;

/** What the fit check counts for the 1B-shaped model with `slots` slots of the kit's context. */
export function benchNeed(slots: number, modelBytes: number = SHAPED_LIKE.sizeBytes as number): MemoryNeed {
  return memoryNeed({ modelBytes, architecture: ARCHITECTURES['llama-3.2-1b'], parallelSlots: slots, contextTokensPerSlot: KIT_CONTEXT_PER_SLOT });
}

/**
 * `--instance-type`: a Graviton type of the kit's catalog on which the kit's
 * fit check serves the 1B-shaped model with the kit's 4 slots; undefined
 * after recording why not (in synth's words for an unknown type).
 */
export function instanceTypeFlag(text: string | undefined, fallback: string, errors: string[]): GravitonInstance | undefined {
  const typeName = text ?? fallback;
  const instance = findGravitonInstance(typeName);
  if (!instance) {
    errors.push(`--instance-type: got "${typeName}"; ${instanceTypeExpectation(typeName)}`);
    return undefined;
  }
  const need = benchNeed(KIT_SLOTS);
  if (!fits(need, instance)) errors.push(`--instance-type: got "${typeName}"; ${doesNotFit(need, instance, KIT_SLOTS)}`);
  return instance;
}

/** What the fit check weighed, in words: what the model needs with the slots, and what the instance has. */
export function fitFacts(need: MemoryNeed, instance: GravitonInstance, slots: number): string {
  return `with ${slots} slots of ${KIT_CONTEXT_PER_SLOT} tokens the 1B-shaped model needs ${formatGiB(need.totalBytes)}, `
    + `and ${instance.instanceType} has ${instance.memoryGiB} GiB, ${formatGiB(Math.max(0, usableBytes(instance)))} of it usable`;
}

/** The fit check's refusal of an instance type, in words, with sizes that fit. */
export function doesNotFit(need: MemoryNeed, instance: GravitonInstance, slots: number): string {
  const fitting = sizesThatFit(need, instance).map((i) => i.instanceType);
  return `expected an instance type the kit's fit check serves the 1B-shaped model on: ${fitFacts(need, instance, slots)}`
    + `${fitting.length > 0 ? `; types that fit: ${fitting.join(', ')}` : ''}`;
}

/** The most slots of the kit's context the fit check allows on the instance (0 when not even one fits). */
export function mostSlotsThatFit(instance: GravitonInstance, upTo: number): number {
  let n = 0;
  while (n < upTo && fits(benchNeed(n + 1), instance)) n++;
  return n;
}

/**
 * `--out`: a results directory of this run alone (new or empty, see
 * lib/command-line/paths.ts); the default, a new directory named by the
 * time under bench-results, must be creatable. Records why not.
 */
export function resultsDirFlag(text: string | undefined, defaultDir: string, errors: string[]): string {
  if (text !== undefined && text.trim() === '') {
    errors.push('--out: got ""; expected a directory for the results (or leave the flag out)');
    return defaultDir;
  }
  const dir = text ?? defaultDir;
  const problem = unusableResultsDirectory(dir);
  if (problem) {
    errors.push(`--out: ${text !== undefined ? `got "${dir}"` : `the default ${dir}`}; expected a new or empty directory for this run's results, and ${dir} ${problem}`);
  }
  return dir;
}

/** bench-results/<prefix><time>: a new directory per run. */
export function timestampedResultsDir(prefix: string, now: Date = new Date()): string {
  return `bench-results/${prefix}${now.toISOString().replace(/[:.]/g, '-')}`;
}
