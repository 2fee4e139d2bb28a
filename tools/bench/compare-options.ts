/**
 * The command line of tools/bench/compare-local.ts, checked before anything
 * is built or served: one message per problem, naming the flag.
 */
import { findGravitonInstance, type GravitonInstance } from '../../lib/catalogs/graviton-instances';
import { numberFlag, readFlags } from '../../lib/command-line/flags';
import { MAX_TOKENS } from './workload';

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
  readonly outDir?: string;
}

export const COMPARE_USAGE = `Usage: npx tsx tools/bench/compare-local.ts [options]

Serves a random-weight model shaped like Llama 3.2 1B (Q4_0) with llama-server built from the
pinned release as the boot builds it (the kit's CMake defines: never tuned for this CPU), with the
kit's settings (boot.sh server_args) and with llama-server's defaults, in interleaved rounds, and
reports each figure's median and spread per concurrency (1, 4, 8).

  --rounds N                  rounds of each settings, interleaved (default 3; 3-50)
  --only LIST                 settings to run, e.g. kit,defaults (default: all)
  --extra-slots N             also run the kit's settings with N slots (default 4: none extra)
  --instance-type TYPE        instance the kit's prompt cache is sized for (default c7g.2xlarge, the kit's default)
  --shared-prefix-tokens N    measure prompts sharing an N-token prefix against distinct prompts of the same length
  --requests-per-client N     measured requests per level: max(6, N x concurrency) (default 2; 1-100)
  --out DIR                   results (default bench-results/compare-<time>)
  --help`;

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
  const typeName = v['instance-type'] ?? 'c7g.2xlarge';
  const instance = findGravitonInstance(typeName);
  if (!instance) errors.push(`--instance-type: got "${typeName}"; expected a Graviton instance type such as c7g.large or c7g.2xlarge`);
  const only = v.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (v.only !== undefined && (!only || only.length === 0)) errors.push(`--only: got "${v.only}"; expected settings names such as kit,defaults`);
  const sharedPrefixTokens = v['shared-prefix-tokens'] === undefined
    ? undefined
    : numberFlag('shared-prefix-tokens', v['shared-prefix-tokens'], 1, { min: 1, max: MAX_TOKENS - 128, integer: true }, errors);
  if (errors.length > 0 || !instance) return { errors };
  return {
    options: {
      rounds,
      ...(only ? { only } : {}),
      extraSlots,
      instance,
      ...(sharedPrefixTokens !== undefined ? { sharedPrefixTokens } : {}),
      requestsPerClient,
      ...(v.out ? { outDir: v.out } : {}),
    },
  };
}
