/**
 * For a model, a latency target and an optional request rate: every priced
 * Graviton instance type that fits the model in memory (the kit's own fit
 * check, lib/sizing/memory-fit.ts) and meets the target, with its slots,
 * instance count and cost, cheapest first.
 */
import { allGravitonInstances, findGravitonInstance, type GravitonInstance } from '../../lib/catalogs/graviton-instances';
import { fits, memoryNeed, promptCacheMiB, type MemoryNeed } from '../../lib/sizing/memory-fit';
import { FAMILY_PRICES } from './data';
import { estimateInstance, generationConstants, type InstanceEstimate, type ModelSpec } from './model';

export interface SizingRequest {
  readonly model: ModelSpec;
  readonly targetTpotMs: number;
  /** Requests per second the fleet must sustain; without it, one instance's capacity is shown. */
  readonly rps?: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** llama-server context per slot (the kit's contextTokensPerSlot). */
  readonly contextPerSlot: number;
  /** Most slots to consider per instance (the kit allows up to 64). */
  readonly maxSlots: number;
  readonly prefillSpeedup: number;
  /** Only these families, when given. */
  readonly families?: readonly string[];
  /** Only these instance types, side by side (a group's instanceType and additionalInstanceTypes), when given. */
  readonly types?: readonly string[];
  /** The user's Spot discount off on-demand, in percent: adds a Spot price to each row. No Spot price is the kit's. */
  readonly spotDiscountPercent?: number;
}

/** A row's prices with the user's Spot discount applied. */
export interface SpotCost {
  readonly pricePerHour: number;
  readonly fleetPerHour?: number;
  readonly dollarsPerMillionOutputTokens: number;
}

export interface SizingRow {
  readonly instance: GravitonInstance;
  readonly estimate: InstanceEstimate;
  readonly pricePerHour: number;
  readonly priceBasis: string;
  /** Parallel slots (llama-server --parallel) that keep TPOT under the target and fit in memory. */
  readonly slots: number;
  readonly tpotMsAtSlots: number;
  /** Prompt processing of one request on an idle instance. */
  readonly ttftMsIdle: number;
  /** The prefill rate ttftMsIdle assumes: prompt tokens per second of the whole instance. */
  readonly prefillTokensPerS: number;
  /** The memory fit check's need with `slots` slots: model, KV cache and compute buffers. */
  readonly memory: MemoryNeed;
  /** llama-server's RAM prompt cache the kit gives this shape here (--cache-ram, MiB): what the need leaves. */
  readonly promptCacheMiB: number;
  /** Requests/s one instance sustains with every slot busy. */
  readonly capacityRps: number;
  readonly instanceOutputTps: number;
  readonly instances?: number;
  readonly fleetPerHour?: number;
  readonly dollarsPerMillionOutputTokens: number;
  /** With spotDiscountPercent: the same row at that discount (every instance on Spot). */
  readonly spot?: SpotCost;
}

export interface SizingResult {
  readonly rows: readonly SizingRow[];
  /** Priced candidates left out, by reason. */
  readonly excluded: { readonly memory: number; readonly latency: number };
  /** The fastest single stream among the candidates that fit, for the error when none meets the target. */
  readonly fastest?: { readonly instanceType: string; readonly tpotMs: number };
  /** Average context a sequence has while generating: prompt plus half the output. */
  readonly contextTokens: number;
}

export class SizingError extends Error {}

export function candidates(families?: readonly string[], types?: readonly string[]): GravitonInstance[] {
  if (types) {
    // The types asked for, as given: the options have checked each is a priced catalog type.
    return types.map((t) => findGravitonInstance(t)).filter((i): i is GravitonInstance => i !== undefined && FAMILY_PRICES[i.family] !== undefined);
  }
  return allGravitonInstances().filter(
    (i) =>
      !i.preview &&
      i.family === i.baseFamily &&
      !i.size.startsWith('metal') &&
      FAMILY_PRICES[i.family] !== undefined &&
      (!families || families.includes(i.family)),
  );
}

/** Every price of a row times (1 - discount): the cost per token scales with the price, the tokens being the same. */
function spotCost(discountPercent: number, pricePerHour: number, fleetPerHour: number | undefined, dollarsPerMillion: number): SpotCost {
  const f = 1 - discountPercent / 100;
  return { pricePerHour: pricePerHour * f, ...(fleetPerHour === undefined ? {} : { fleetPerHour: fleetPerHour * f }), dollarsPerMillionOutputTokens: dollarsPerMillion * f };
}

export function planSizing(req: SizingRequest): SizingResult {
  if (req.inputTokens + req.outputTokens > req.contextPerSlot) {
    throw new SizingError(
      `--input-tokens + --output-tokens (${req.inputTokens + req.outputTokens}) exceed --context ${req.contextPerSlot}: a request would not fit its slot`,
    );
  }
  const constants = generationConstants();
  const contextTokens = req.inputTokens + Math.floor(req.outputTokens / 2);
  const rows: SizingRow[] = [];
  let memory = 0;
  let latency = 0;
  let fastest: SizingResult['fastest'];
  for (const instance of candidates(req.families, req.types)) {
    const estimate = estimateInstance(instance, req.model, constants, { contextTokens, prefillSpeedup: req.prefillSpeedup });
    if (!estimate) continue;
    const needWith = (slots: number) =>
      memoryNeed({ modelBytes: req.model.sizeBytes, architecture: req.model.architecture, parallelSlots: slots, contextTokensPerSlot: req.contextPerSlot });
    const fitsWith = (slots: number) => fits(needWith(slots), instance);
    if (!fitsWith(1)) {
      memory++;
      continue;
    }
    const singleMs = estimate.step(1) * 1000;
    if (!fastest || singleMs < fastest.tpotMs) fastest = { instanceType: instance.instanceType, tpotMs: singleMs };
    // Both the step time and the memory grow with slots, so the first slot
    // count that fails ends the search.
    let slots = 0;
    while (slots < req.maxSlots && estimate.step(slots + 1) * 1000 <= req.targetTpotMs && fitsWith(slots + 1)) slots++;
    if (slots === 0) {
      latency++;
      continue;
    }
    const price = FAMILY_PRICES[instance.family];
    const pricePerHour = price.perVcpuHour * instance.vcpus;
    const prefillS = req.inputTokens * estimate.prefillSecondsPerToken;
    // Instance-seconds one request costs: its prompt (which holds up every
    // slot while it is processed) plus its share of the batched decode steps.
    const instanceSecondsPerRequest = prefillS + (req.outputTokens * estimate.step(slots)) / slots;
    const capacityRps = 1 / instanceSecondsPerRequest;
    const instanceOutputTps = capacityRps * req.outputTokens;
    const instances = req.rps === undefined ? undefined : Math.max(1, Math.ceil(req.rps / capacityRps));
    const fleetPerHour = instances === undefined ? undefined : instances * pricePerHour;
    const dollarsPerMillionOutputTokens =
      req.rps === undefined ? (pricePerHour / (instanceOutputTps * 3600)) * 1e6 : (fleetPerHour! / (req.rps * req.outputTokens * 3600)) * 1e6;
    rows.push({
      instance,
      estimate,
      pricePerHour,
      priceBasis: price.basis,
      slots,
      tpotMsAtSlots: estimate.step(slots) * 1000,
      ttftMsIdle: (prefillS + estimate.step(1)) * 1000,
      prefillTokensPerS: 1 / estimate.prefillSecondsPerToken,
      memory: needWith(slots),
      promptCacheMiB: promptCacheMiB(needWith(slots), instance),
      capacityRps,
      instanceOutputTps,
      ...(instances === undefined ? {} : { instances, fleetPerHour }),
      dollarsPerMillionOutputTokens,
      ...(req.spotDiscountPercent === undefined ? {} : { spot: spotCost(req.spotDiscountPercent, pricePerHour, fleetPerHour, dollarsPerMillionOutputTokens) }),
    });
  }
  rows.sort(
    (a, b) =>
      (a.fleetPerHour ?? 0) - (b.fleetPerHour ?? 0) ||
      a.dollarsPerMillionOutputTokens - b.dollarsPerMillionOutputTokens ||
      a.tpotMsAtSlots - b.tpotMsAtSlots,
  );
  return { rows, excluded: { memory, latency }, ...(fastest ? { fastest } : {}), contextTokens };
}
