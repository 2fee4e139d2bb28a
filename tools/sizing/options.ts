/** The sizing command line: flags to a SizingRequest, or messages that name the flag. */
import { parseArgs } from 'node:util';

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

export const USAGE = `Usage: npm run sizing -- --model ID [options]

Lists Graviton instance types that serve the model within a time-per-output-token target,
with slots, instance count and cost, cheapest first. Estimates, not measurements: see docs/sizing-data.md.

  --model ID               catalog model (${CATALOG_MODEL_IDS.join(', ')})
                           or an architecture (${ARCHITECTURE_IDS.join(', ')}) with --quantization
  --quantization Q         ${QUANTIZATIONS.join(', ')}
  --target-tpot-ms MS      p90 time per output token to stay under (default 100)
  --rps N                  requests per second the fleet must sustain (default: show one instance's capacity)
  --input-tokens N         prompt tokens per request (default 256)
  --output-tokens N        output tokens per request (default 256)
  --context N              context tokens per slot, as the kit's contextTokensPerSlot (default 4096)
  --max-slots N            most parallel slots per instance to consider (default 64)
  --prefill-speedup X      how many times cheaper a prompt token is than a generated one (default 1: as dear, conservative)
  --families LIST          only these families, e.g. c7g,c8g
  --top N                  rows to print (default 10; 0 for all)
  --json                   machine-readable output
  --help`;

export type SizingParse = { readonly options: SizingOptions } | { readonly errors: readonly string[] } | { readonly help: true };

export function parseSizingArgs(argv: readonly string[]): SizingParse {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
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
        top: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return { errors: [(err as Error).message] };
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  const errors: string[] = [];
  const num = (flag: keyof typeof v, fallback: number, min: number, integer: boolean): number => {
    const text = v[flag] as string | undefined;
    if (text === undefined) return fallback;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      errors.push(`--${flag}: got "${text}"; expected ${integer ? 'a whole number' : 'a number'} of at least ${min}`);
      return fallback;
    }
    return n;
  };

  let quantization: Quantization | undefined;
  if (v.quantization !== undefined) {
    if ((QUANTIZATIONS as readonly string[]).includes(v.quantization)) quantization = v.quantization as Quantization;
    else errors.push(`--quantization: got "${v.quantization}"; expected one of ${QUANTIZATIONS.join(', ')}`);
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
      errors.push(
        `--model: unknown model "${v.model}"; catalog models: ${CATALOG_MODEL_IDS.join(', ')}; architectures (with --quantization): ${ARCHITECTURE_IDS.join(', ')}`,
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

  const request: SizingRequest = {
    model: model!,
    targetTpotMs: num('target-tpot-ms', 100, 1, false),
    ...(v.rps !== undefined ? { rps: num('rps', 1, 0.000001, false) } : {}),
    inputTokens: num('input-tokens', 256, 1, true),
    outputTokens: num('output-tokens', 256, 1, true),
    contextPerSlot: num('context', 4096, 512, true),
    maxSlots: num('max-slots', 64, 1, true),
    prefillSpeedup: num('prefill-speedup', 1, 0.01, false),
    ...(families ? { families } : {}),
  };
  if (request.maxSlots > 64) errors.push(`--max-slots: got ${request.maxSlots}; the kit's parallelSlots allows at most 64`);
  const top = num('top', 10, 0, true);
  return errors.length > 0 ? { errors } : { options: { request, top, json: v.json ?? false } };
}
