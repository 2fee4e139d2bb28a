/**
 * The command line of tools/bench/compare-local.ts, checked whole before
 * anything is unpacked, built, generated or written: one message per
 * problem, naming the flag. Every rule that would otherwise stop the run
 * later is here: the settings --only may name, the prompt that must fit a
 * slot, the instance type the fit check must accept for every slot count
 * run, and a results directory of this run alone.
 */
import type { GravitonInstance } from '../../lib/catalogs/graviton-instances';
import { commandLine } from '../../lib/command-line/commands';
import { numberFlag, readFlags } from '../../lib/command-line/flags';
import {
  CHAT_TEMPLATE_TOKENS, KIT_CONTEXT_PER_SLOT, KIT_SLOTS, benchNeed, fitFacts, instanceTypeFlag, mostSlotsThatFit, resultsDirFlag, timestampedResultsDir,
} from './local-checks';
import { fits } from '../../lib/sizing/memory-fit';

/** The sweep's prompt (or, with a shared prefix, each prompt's own part) and output, in tokens. */
export const INPUT_TOKENS = 128;
export const OUTPUT_TOKENS = 64;
/** The longest shared prefix: with the prompt's own part, the output and the template, one slot of the kit's context. */
export const MAX_SHARED_PREFIX_TOKENS = KIT_CONTEXT_PER_SLOT - INPUT_TOKENS - OUTPUT_TOKENS - CHAT_TEMPLATE_TOKENS;

/** The names of the settings a run with these extra slots compares, in order. */
export function settingsNames(extraSlots: number): string[] {
  return ['kit', 'defaults', ...(extraSlots !== KIT_SLOTS ? [`kit-${extraSlots}-slots`] : [])];
}

export interface CompareOptions {
  /** Rounds of every settings, interleaved (kit, defaults, kit, defaults, ...). */
  readonly rounds: number;
  /** Settings to run, by name; undefined runs them all. */
  readonly only?: readonly string[];
  /** Also run the kit's settings with this many slots (named kit-N-slots), unless it is the kit's 4. */
  readonly extraSlots: number;
  /** The instance whose memory the kit's prompt cache (--cache-ram) is sized for. */
  readonly instance: GravitonInstance;
  /** Measure a repeated prefix of this many tokens against distinct prompts of the same length. */
  readonly sharedPrefixTokens?: number;
  /** Measured requests at each concurrency c: max(6, requestsPerClient x c). */
  readonly requestsPerClient: number;
  /** A new or empty directory (the default: bench-results/compare-<time>). */
  readonly outDir: string;
}

export const COMPARE_USAGE = `Usage: ${commandLine('compare-local')} [options]

Serves a random-weight model shaped like Llama 3.2 1B (Q4_0) with llama-server built from the
pinned release as the boot builds it (the kit's CMake defines: never tuned for this CPU), with the
kit's settings (the boot's server arguments) and with llama-server's defaults, in interleaved
rounds, and reports each figure's median and spread per concurrency (1, 4, 8).

  --rounds N                  rounds of each settings, interleaved (default 3; 3-50)
  --only LIST                 settings to run, some of kit, defaults and kit-N-slots (with --extra-slots N)
                              (default: all)
  --extra-slots N             also run the kit's settings with N slots, named kit-N-slots (default 4: none extra;
                              1-64, as many as the fit check allows on --instance-type)
  --instance-type TYPE        Graviton instance the kit's prompt cache is sized for; the fit check must serve the
                              1B-shaped model on it (default c7g.2xlarge, the kit's default)
  --shared-prefix-tokens N    measure prompts sharing an N-token prefix against distinct prompts of the same length
                              (1-${MAX_SHARED_PREFIX_TOKENS}: with the ${INPUT_TOKENS}-token prompt and ${OUTPUT_TOKENS} output tokens, one slot of ${KIT_CONTEXT_PER_SLOT})
  --requests-per-client N     measured requests per level: max(6, N x concurrency) (default 2; 1-100)
  --out DIR                   results: a new or empty directory (default bench-results/compare-<time>)
  --help

Every flag is checked before anything is built, generated or written; a mistake exits 2.`;

export const COMPARE_FLAGS = {
  rounds: { type: 'string' },
  only: { type: 'string' },
  'extra-slots': { type: 'string' },
  'instance-type': { type: 'string' },
  'shared-prefix-tokens': { type: 'string' },
  'requests-per-client': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type CompareParse = { readonly options: CompareOptions } | { readonly errors: readonly string[] } | { readonly help: true };

export function parseCompareArgs(argv: readonly string[]): CompareParse {
  const { values: v, errors } = readFlags(argv, COMPARE_FLAGS);
  if (v.help && errors.length === 0) return { help: true };
  // Fewer than 3 rounds give no spread worth the name: one outlier would set it.
  const rounds = numberFlag('rounds', v.rounds, 3, { min: 3, max: 50, integer: true }, errors);
  const extraSlots = numberFlag('extra-slots', v['extra-slots'], 4, { min: 1, max: 64, integer: true }, errors);
  const requestsPerClient = numberFlag('requests-per-client', v['requests-per-client'], 2, { min: 1, max: 100, integer: true }, errors);
  const instance = instanceTypeFlag(v['instance-type'], 'c7g.2xlarge', errors);
  // The kit's settings with the extra slots get a prompt cache sized by the same fit check: it must accept them.
  if (instance && fits(benchNeed(KIT_SLOTS), instance) && extraSlots !== KIT_SLOTS && !fits(benchNeed(extraSlots), instance)) {
    const most = mostSlotsThatFit(instance, 64);
    errors.push(`--extra-slots: got "${v['extra-slots']}"; expected at most ${most} on --instance-type ${instance.instanceType}, as the kit's fit check allows: `
      + fitFacts(benchNeed(extraSlots), instance, extraSlots));
  }
  const names = settingsNames(extraSlots);
  const only = v.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const allowed = `some of ${names.join(', ')}${extraSlots === KIT_SLOTS ? ' (kit-N-slots with --extra-slots N)' : ''}, comma-separated`;
  if (v.only !== undefined && (!only || only.length === 0)) errors.push(`--only: got "${v.only}"; expected ${allowed}`);
  const unknown = (only ?? []).filter((n) => !names.includes(n));
  if (unknown.length > 0) errors.push(`--only: got "${v.only}"; ${unknown.map((n) => `"${n}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not run; expected ${allowed}`);
  const sharedPrefixTokens = v['shared-prefix-tokens'] === undefined
    ? undefined
    : numberFlag('shared-prefix-tokens', v['shared-prefix-tokens'], 1, { min: 1, max: MAX_SHARED_PREFIX_TOKENS, integer: true }, errors);
  const outDir = resultsDirFlag(v.out, timestampedResultsDir('compare-'), errors);
  if (errors.length > 0 || !instance) return { errors };
  return {
    options: {
      rounds,
      ...(only ? { only } : {}),
      extraSlots,
      instance,
      ...(sharedPrefixTokens !== undefined ? { sharedPrefixTokens } : {}),
      requestsPerClient,
      outDir,
    },
  };
}
