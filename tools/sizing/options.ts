/** The sizing command line: flags to a SizingRequest, or messages that name the flag. */
import { commandLine } from '../../lib/command-line/commands';
import { closestName, numberFlag, readFlags, type NumberRange } from '../../lib/command-line/flags';
import { findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { ARCHITECTURE_IDS, type ArchitectureId } from '../../lib/catalogs/model-architectures';
import { CATALOG_MODEL_IDS, findCatalogModel } from '../../lib/catalogs/model-catalog';
import { QUANTIZATIONS, type Quantization } from '../../lib/catalogs/quantizations';
import { FAMILY_PRICES } from './data';
import { modelSpec } from './model';
import type { SizingRequest } from './plan';

export interface SizingOptions {
  readonly request: SizingRequest;
  /** Rows to print; 0 prints all. */
  readonly top: number;
  readonly json: boolean;
}

/**
 * What each number flag allows. --context and --max-slots mirror the kit's
 * contextTokensPerSlot and parallelSlots, so a plan is one the kit can deploy.
 */
export const SIZING_LIMITS = {
  targetTpotMs: { min: 1, max: 60_000, unit: 'milliseconds' },
  rps: { min: 0, above: true, max: 100_000, unit: 'requests per second' },
  inputTokens: { min: 1, max: 131_072, integer: true },
  outputTokens: { min: 1, max: 131_072, integer: true },
  context: { min: 512, max: 131_072, integer: true },
  maxSlots: { min: 1, max: 64, integer: true },
  prefillSpeedup: { min: 0.01, max: 1000 },
  /** A discount, not a price: 0 would be on demand, 100 free. */
  spotDiscount: { min: 1, max: 99 },
  top: { min: 0, max: 1000, integer: true },
} as const satisfies Record<string, NumberRange>;

export const SIZING_FLAGS = {
  model: { type: 'string' },
  quantization: { type: 'string' },
  'target-tpot-ms': { type: 'string' },
  rps: { type: 'string' },
  'input-tokens': { type: 'string' },
  'output-tokens': { type: 'string' },
  context: { type: 'string' },
  'max-slots': { type: 'string' },
  'prefill-speedup': { type: 'string' },
  families: { type: 'string' },
  types: { type: 'string' },
  'spot-discount': { type: 'string' },
  top: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const USAGE = `Usage: ${commandLine('sizing')} --model ID [options]

Lists Graviton instance types that serve the model within a time-per-output-token target,
with slots, instance count and cost, cheapest first. Estimates, not measurements: see docs/sizing-data.md.

  --model ID               catalog model (${CATALOG_MODEL_IDS.join(', ')})
                           or an architecture (${ARCHITECTURE_IDS.join(', ')}) with --quantization
  --quantization Q         ${QUANTIZATIONS.join(', ')}
  --target-tpot-ms MS      p90 time per output token to stay under (default 100; 1-60000)
  --rps N                  requests per second the fleet must sustain (default: show one instance's capacity;
                           above 0, at most 100000)
  --input-tokens N         prompt tokens per request (default 256; 1-131072)
  --output-tokens N        output tokens per request (default 256; 1-131072; with --input-tokens, at most --context)
  --context N              context tokens per slot, as the kit's contextTokensPerSlot (default 4096; 512-131072)
  --max-slots N            most parallel slots per instance to consider (default 64; 1-64)
  --prefill-speedup X      how many times cheaper a prompt token is than a generated one
                           (default 1: as dear, conservative; 0.01-1000)
  --families LIST          only these families, e.g. c7g,c8g
  --types LIST             only these instance types, side by side, e.g. c7g.2xlarge,m7g.2xlarge
                           (a group's instanceType and additionalInstanceTypes); not with --families
  --spot-discount PCT      your Spot discount off on-demand, in percent (1-99): adds Spot prices; the kit
                           has no Spot prices of its own (they vary by type, zone and time)
  --top N                  rows to print (default 10; 0 for all; at most 1000)
  --json                   machine-readable output
  --help

Exit codes: 0 done, 1 an internal failure, 2 bad flags or a request no instance can meet.`;

export type SizingParse = { readonly options: SizingOptions } | { readonly errors: readonly string[] } | { readonly help: true };

export function parseSizingArgs(argv: readonly string[]): SizingParse {
  const { values: v, errors } = readFlags(argv, SIZING_FLAGS);
  if (v.help && errors.length === 0) return { help: true };
  const num = (flag: keyof typeof SIZING_FLAGS, fallback: number, range: NumberRange): number =>
    numberFlag(flag, v[flag] as string | undefined, fallback, range, errors);

  let quantization: Quantization | undefined;
  if (v.quantization !== undefined) {
    if ((QUANTIZATIONS as readonly string[]).includes(v.quantization)) quantization = v.quantization as Quantization;
    else {
      const near = closestName(v.quantization, QUANTIZATIONS);
      errors.push(`--quantization: got "${v.quantization}"; expected one of ${QUANTIZATIONS.join(', ')}${near ? ` (did you mean ${near}?)` : ''}`);
    }
  }
  let model: ReturnType<typeof modelSpec> | undefined;
  if (v.model === undefined) {
    errors.push(`--model: required; one of ${CATALOG_MODEL_IDS.join(', ')}, or an architecture with --quantization`);
  } else {
    const catalog = findCatalogModel(v.model);
    if (catalog) {
      if (quantization && quantization !== catalog.quantization) {
        errors.push(`--quantization: ${quantization} contradicts --model ${v.model}, which is ${catalog.quantization}`);
      }
      model = modelSpec(catalog.architecture, catalog.quantization);
    } else if ((ARCHITECTURE_IDS as readonly string[]).includes(v.model)) {
      if (!quantization) {
        if (v.quantization === undefined) errors.push(`--quantization: required with an architecture as --model (${v.model})`);
      } else model = modelSpec(v.model as ArchitectureId, quantization);
    } else {
      const near = closestName(v.model.trim(), [...CATALOG_MODEL_IDS, ...ARCHITECTURE_IDS]);
      errors.push(
        `--model: unknown model "${v.model}"${near ? ` (did you mean ${near}?)` : ''}; catalog models: ${CATALOG_MODEL_IDS.join(', ')}; architectures (with --quantization): ${ARCHITECTURE_IDS.join(', ')}`,
      );
    }
  }

  let families: string[] | undefined;
  if (v.families !== undefined) {
    families = v.families.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = families.filter((f) => !FAMILY_PRICES[f]);
    if (families.length === 0 || unknown.length > 0) {
      errors.push(`--families: unknown or unpriced ${unknown.join(', ') || '(empty list)'}; priced families: ${Object.keys(FAMILY_PRICES).join(', ')}`);
    }
  }

  let types: string[] | undefined;
  if (v.types !== undefined) {
    types = v.types.split(',').map((s) => s.trim()).filter(Boolean);
    const unpriced = types.filter((t) => !FAMILY_PRICES[findGravitonInstance(t)?.family ?? '']);
    if (types.length === 0 || unpriced.length > 0) {
      errors.push(`--types: unknown or unpriced ${unpriced.join(', ') || '(empty list)'}; expected Graviton types of the priced families: ${Object.keys(FAMILY_PRICES).join(', ')}`);
    } else if (new Set(types).size < types.length) {
      errors.push(`--types: ${types.find((t, i) => types!.indexOf(t) !== i)} is given twice; expected each type once`);
    }
    if (families) errors.push('--types: not with --families; give the types, or the families to search');
  }

  const request: SizingRequest = {
    model: model!,
    targetTpotMs: num('target-tpot-ms', 100, SIZING_LIMITS.targetTpotMs),
    ...(v.rps !== undefined ? { rps: num('rps', 1, SIZING_LIMITS.rps) } : {}),
    inputTokens: num('input-tokens', 256, SIZING_LIMITS.inputTokens),
    outputTokens: num('output-tokens', 256, SIZING_LIMITS.outputTokens),
    contextPerSlot: num('context', 4096, SIZING_LIMITS.context),
    maxSlots: num('max-slots', 64, SIZING_LIMITS.maxSlots),
    prefillSpeedup: num('prefill-speedup', 1, SIZING_LIMITS.prefillSpeedup),
    ...(families ? { families } : {}),
    ...(types ? { types } : {}),
    ...(v['spot-discount'] !== undefined ? { spotDiscountPercent: num('spot-discount', 0, SIZING_LIMITS.spotDiscount) } : {}),
  };
  const top = num('top', 10, SIZING_LIMITS.top);
  return errors.length > 0 ? { errors } : { options: { request, top, json: v.json ?? false } };
}
