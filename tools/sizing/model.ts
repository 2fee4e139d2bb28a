/**
 * The performance model behind the sizing table.
 *
 * One decode step of llama.cpp reads every weight once, whatever the batch,
 * plus each sequence's KV cache, and does arithmetic in proportion to the
 * tokens in the batch. So a step with c sequences takes
 *
 *   t(c) = weightBytes / BW  +  c x kvBytes / BW  +  c x C x params / vCPUs
 *
 * BW (effective memory bandwidth) and C (vCPU-seconds of arithmetic per
 * token per billion parameters) are fitted, per Graviton generation, to the
 * published single-stream figures in data.ts: each figure is one equation
 * 1/tokensPerS = weightBytes x (1/BW) + params/vCPUs x C, and two or more
 * instance sizes separate the two unknowns. The physical bound on
 * single-stream speed is the socket's peak DRAM bandwidth / weight bytes.
 */
import { GENERATIONS, type GravitonGeneration } from '../../lib/catalogs/graviton-generations';
import type { GravitonInstance } from '../../lib/catalogs/graviton-instances';
import { findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { ARCHITECTURES, kvCacheBytesPerToken, type ArchitectureId, type ModelArchitecture } from '../../lib/catalogs/model-architectures';
import { CATALOG_MODELS } from '../../lib/catalogs/model-catalog';
import type { Quantization } from '../../lib/catalogs/quantizations';
import { BITS_PER_WEIGHT, EMBEDDINGS, MEASURED_FIGURES, PUBLISHED_FIGURES, SOCKET_MEMORY, type ThroughputFigure } from './data';

export interface ModelSpec {
  /** Catalog id, or `<architecture>-<quantization>` for a derived size. */
  readonly id: string;
  readonly architectureId: ArchitectureId;
  readonly architecture: ModelArchitecture;
  readonly quantization: Quantization;
  readonly sizeBytes: number;
  /** catalog: the published file's size; derived: parameters x bits per weight. */
  readonly sizeBasis: 'catalog' | 'derived';
}

export function modelSpec(architectureId: ArchitectureId, quantization: Quantization): ModelSpec {
  const architecture: ModelArchitecture = ARCHITECTURES[architectureId];
  const file = CATALOG_MODELS.find((m) => m.architecture === architectureId && m.quantization === quantization);
  if (file) return { id: file.id, architectureId, architecture, quantization, sizeBytes: file.sizeBytes, sizeBasis: 'catalog' };
  return {
    id: `${architectureId}-${quantization.toLowerCase()}`,
    architectureId,
    architecture,
    quantization,
    sizeBytes: Math.round((architecture.parametersBillions * 1e9 * BITS_PER_WEIGHT[quantization]) / 8),
    sizeBasis: 'derived',
  };
}

/**
 * Weight bytes read per generated token: the whole file, less the input
 * embedding matrix when it is separate from the output matrix (only one of
 * its rows is read per token). Llama 3.2 1B and 3B tie the two, so the
 * matrix is read in full as the output layer.
 */
export function weightBytesPerToken(m: ModelSpec): number {
  const e = EMBEDDINGS[m.architectureId];
  if (e.tied) return m.sizeBytes;
  const embeddingBytes = (e.vocab * e.hidden * BITS_PER_WEIGHT[m.quantization]) / 8;
  return m.sizeBytes - embeddingBytes;
}

/** KV cache bytes one sequence reads per generated token at this context length (f16 cache). */
export function kvBytesPerToken(m: ModelSpec, contextTokens: number): number {
  return kvCacheBytesPerToken(m.architecture) * contextTokens;
}

/** DRAM transfer rate of a generation, from the catalog's memory field (e.g. DDR5-4800). */
export function megaTransfers(generation: GravitonGeneration): number {
  const m = /DDR\d-(\d+)/.exec(GENERATIONS[generation].memory);
  if (!m) throw new Error(`no DRAM speed in "${GENERATIONS[generation].memory}"`);
  return Number(m[1]);
}

/**
 * Peak DRAM bandwidth the instance's cores sit behind: channels x MT/s x 8
 * bytes, times two for the two-socket sizes (Graviton4 48xlarge). A smaller
 * instance shares the socket, so this is a ceiling, not a promise.
 */
export function peakBandwidth(instance: GravitonInstance): number | undefined {
  const g = instance.generationSpec.generation;
  const mem = SOCKET_MEMORY[g];
  if (!mem) return undefined;
  const sockets = instance.vcpus > mem.coresPerSocket ? 2 : 1;
  return mem.channels * megaTransfers(g) * 1e6 * 8 * sockets;
}

export interface GenerationConstants {
  readonly generation: GravitonGeneration;
  /** Effective bandwidth of the decode loop, bytes/s. */
  readonly bandwidth: number;
  /** vCPU-seconds of arithmetic per generated token per billion parameters. */
  readonly computePerBParam: number;
  readonly basis: 'fitted' | 'derived';
  readonly how: string;
}

/** Least squares for t = a*x1 + b*x2 over the points; undefined if they cannot separate x1 from x2. */
export function fitTwo(points: ReadonlyArray<{ a: number; b: number; t: number }>): { x1: number; x2: number } | undefined {
  let aa = 0, ab = 0, bb = 0, at = 0, bt = 0;
  for (const p of points) {
    aa += p.a * p.a;
    ab += p.a * p.b;
    bb += p.b * p.b;
    at += p.a * p.t;
    bt += p.b * p.t;
  }
  const det = aa * bb - ab * ab;
  if (points.length < 2 || Math.abs(det) <= 1e-12 * aa * bb) return undefined;
  const x1 = (at * bb - bt * ab) / det;
  const x2 = (aa * bt - ab * at) / det;
  return x1 > 0 && x2 > 0 ? { x1, x2 } : undefined;
}

/** The calibration equation a figure gives: 1/tokensPerS = weightBytes/BW + params/vCPUs x C. */
function equation(f: ThroughputFigure): { a: number; b: number; t: number } {
  const instance = findGravitonInstance(f.instanceType);
  if (!instance) throw new Error(`figure names unknown instance ${f.instanceType}`);
  const m = modelSpec(f.architecture, f.quantization);
  return { a: weightBytesPerToken(m), b: m.architecture.parametersBillions / instance.vcpus, t: 1 / f.tokensPerS };
}

/**
 * The fit uses one architecture's figures. Mixing in the 70B figure pulls
 * the fitted bandwidth above the socket's physical peak: a larger model runs
 * nearer its bandwidth bound (per-token overheads that do not grow with the
 * weights weigh less), which this two-term model cannot express. Fitted on
 * 8B, it underestimates 70B (see docs/sizing-data.md), the safe direction.
 */
export const CALIBRATION_ARCHITECTURE: ArchitectureId = 'llama-3.1-8b';

export function calibrationFigures(generation: GravitonGeneration): ThroughputFigure[] {
  return PUBLISHED_FIGURES.filter(
    (f) =>
      !f.flashAttention &&
      f.architecture === CALIBRATION_ARCHITECTURE &&
      findGravitonInstance(f.instanceType)?.generationSpec.generation === generation,
  );
}

/**
 * Graviton2 has no published figure; its constants come from Graviton3's:
 * the same share of peak bandwidth, and twice the arithmetic time per token,
 * because its core has half the SIMD width (2 x 128-bit against 4 x 128-bit,
 * per the AWS guide) and no int8 matrix multiply. Likely optimistic.
 */
const G2_COMPUTE_FACTOR = 2;

export function generationConstants(): Map<GravitonGeneration, GenerationConstants> {
  const out = new Map<GravitonGeneration, GenerationConstants>();
  for (const g of [3, 4] as const) {
    const figures = calibrationFigures(g);
    const fit = fitTwo(figures.map(equation));
    if (!fit) continue;
    out.set(g, {
      generation: g,
      bandwidth: 1 / fit.x1,
      computePerBParam: fit.x2,
      basis: 'fitted',
      how: `fitted to ${figures.length} published ${GENERATIONS[g].name} figures (${figures.map((f) => `${f.instanceType} ${f.quantization} ${f.tokensPerS} tok/s`).join('; ')})`,
    });
  }
  const g3 = out.get(3);
  if (g3 && SOCKET_MEMORY[2] && SOCKET_MEMORY[3]) {
    const share = g3.bandwidth / (SOCKET_MEMORY[3].channels * megaTransfers(3) * 8e6);
    out.set(2, {
      generation: 2,
      bandwidth: share * SOCKET_MEMORY[2].channels * megaTransfers(2) * 8e6,
      computePerBParam: g3.computePerBParam * G2_COMPUTE_FACTOR,
      basis: 'derived',
      how: `no published Graviton2 figure: Graviton3's share of peak bandwidth (${(share * 100).toFixed(0)}%) and ${G2_COMPUTE_FACTOR}x its arithmetic time (half the SIMD width, no i8mm); likely optimistic`,
    });
  }
  return out;
}

export interface InstanceEstimate {
  /** Seconds per decode step with c sequences in the batch. */
  step(c: number): number;
  /** One request alone: output tokens/s. */
  readonly singleStreamTps: number;
  /** Peak DRAM bandwidth / weight bytes per token: no implementation can beat it. */
  readonly boundTps: number;
  readonly basis: 'measured' | 'published' | 'fitted' | 'derived';
  readonly how: string;
  /** Seconds of the whole instance per prompt token (prefill), see prefillSpeedup. */
  readonly prefillSecondsPerToken: number;
}

export interface EstimateInputs {
  readonly contextTokens: number;
  /** How many times cheaper a prompt token is than a generated one (1: as dear; conservative). */
  readonly prefillSpeedup: number;
}

export function estimateInstance(
  instance: GravitonInstance,
  m: ModelSpec,
  constants: Map<GravitonGeneration, GenerationConstants>,
  inputs: EstimateInputs,
): InstanceEstimate | undefined {
  const k = constants.get(instance.generationSpec.generation);
  const peak = peakBandwidth(instance);
  if (!k || !peak) return undefined;
  const weights = weightBytesPerToken(m);
  const perSequence = kvBytesPerToken(m, inputs.contextTokens) / k.bandwidth + (k.computePerBParam * m.architecture.parametersBillions) / instance.vcpus;
  const fittedFirst = weights / k.bandwidth + perSequence;
  // A figure for this very instance, model and quantization replaces the
  // fitted single-stream step; batching still adds the per-sequence cost.
  const match = (f: ThroughputFigure) =>
    f.instanceType === instance.instanceType && f.architecture === m.architectureId && f.quantization === m.quantization && !f.flashAttention;
  const figure = MEASURED_FIGURES.find(match) ?? PUBLISHED_FIGURES.find(match);
  const first = figure ? 1 / figure.tokensPerS : fittedFirst;
  const step = (c: number) => first + (c - 1) * perSequence;
  return {
    step,
    singleStreamTps: 1 / first,
    boundTps: peak / (weights + kvBytesPerToken(m, inputs.contextTokens)),
    basis: figure ? figure.kind : k.basis,
    how: figure ? `${figure.kind}: ${figure.source.title}` : k.how,
    prefillSecondsPerToken: (k.computePerBParam * m.architecture.parametersBillions) / instance.vcpus / inputs.prefillSpeedup,
  };
}
