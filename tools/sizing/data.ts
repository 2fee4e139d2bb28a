/**
 * The data the sizing estimates rest on, each figure with where it came
 * from. docs/sizing-data.md explains the table and how it is used; change
 * both together. Nothing here is invented: a figure without a published
 * source is marked as derived or approximate, with how it was derived.
 */
import type { ArchitectureId } from '../../lib/catalogs/model-architectures';
import type { Quantization } from '../../lib/catalogs/quantizations';

export interface Citation {
  readonly title: string;
  readonly url: string;
}

export const SOURCES = {
  gravitonGuide: {
    title: 'AWS Graviton Technical Guide, processor table (cores, DRAM channels)',
    url: 'https://github.com/aws/aws-graviton-getting-started/blob/main/README.md',
  },
  arceeLite: {
    title: 'Arcee AI benchmark space, results_llama_supernova_lite.py (Llama 3.1 8B fine-tune; llama.cpp of Sept 2024; flash attention on)',
    url: 'https://huggingface.co/spaces/arcee-ai/Benchmarks/blob/bf877dbe8d0d11b43de0b91bda6653f04bf54715/results_llama_supernova_lite.py',
  },
  arceeLiteNoFa: {
    title: 'Arcee AI benchmark space, results_llama_supernova_lite.py, earlier revision (r8g without flash attention)',
    url: 'https://huggingface.co/spaces/arcee-ai/Benchmarks/blob/585a8ec7e7e4f50f0fe495c9ca142a8b4ac6c54c/results_llama_supernova_lite.py',
  },
  arcee70b: {
    title: 'Arcee AI benchmark space, results_arcee_supernova.py (Llama 3.1 70B fine-tune)',
    url: 'https://huggingface.co/spaces/arcee-ai/Benchmarks/blob/22854a28dfce16e8b12c24dec14f25cafd875142/results_arcee_supernova.py',
  },
  arceePrices: {
    title: 'Arcee AI benchmark space, results.py instance prices (from instances.vantage.sh: us-east-1, Linux, on-demand; 2024)',
    url: 'https://huggingface.co/spaces/arcee-ai/Benchmarks/commit/75372ac4c9f447f8fec7f064ec40c7285d3bec20',
  },
  hfConfigs: {
    title: "Each model's config.json on Hugging Face (hidden_size, vocab_size, tie_word_embeddings)",
    url: 'https://huggingface.co/meta-llama',
  },
  ggmlBlockSizes: {
    title: 'ggml block layouts: Q4_0 = 18 bytes per 32 weights, Q8_0 = 34 bytes per 32 weights',
    url: 'https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h',
  },
} as const satisfies Record<string, Citation>;

/** One socket's DRAM: the physical ceiling on how fast weights can be read. */
export interface SocketMemory {
  readonly coresPerSocket: number;
  readonly channels: number;
  readonly source: Citation;
}

/**
 * Cores and DRAM channels per socket (AWS Graviton Technical Guide). The
 * DRAM speed comes from lib/catalogs/graviton-generations.ts; peak bytes per
 * second are channels x MT/s x 8 bytes. Graviton5 is left out: its channel
 * count is not in the guide, and the catalog lists no Graviton5 instances.
 */
export const SOCKET_MEMORY: Readonly<Partial<Record<2 | 3 | 4 | 5, SocketMemory>>> = {
  2: { coresPerSocket: 64, channels: 8, source: SOURCES.gravitonGuide },
  3: { coresPerSocket: 64, channels: 8, source: SOURCES.gravitonGuide },
  4: { coresPerSocket: 96, channels: 12, source: SOURCES.gravitonGuide },
};

/** The shape facts the catalog's ModelArchitecture does not carry (config.json of each model). */
export const EMBEDDINGS: Readonly<Record<ArchitectureId, { readonly vocab: number; readonly hidden: number; readonly tied: boolean }>> = {
  'llama-3.2-1b': { vocab: 128256, hidden: 2048, tied: true },
  'llama-3.2-3b': { vocab: 128256, hidden: 3072, tied: true },
  'llama-3.1-8b': { vocab: 128256, hidden: 4096, tied: false },
  'llama-3.3-70b': { vocab: 128256, hidden: 8192, tied: false },
};

/**
 * Bits per weight, for a file the catalog does not list (its own size wins
 * where it does). Q4_0 and Q8_0 are the formats' block sizes (18 and 34
 * bytes per 32 weights), a lower bound: llama-quantize keeps a few tensors
 * at higher precision, so real files run a few percent larger. Q4_K_M mixes
 * Q4_K and Q6_K blocks; 4.9 is the catalog's 8B Q4_K_M file (size x 8 /
 * parameters), so it is derived, not a format constant.
 */
export const BITS_PER_WEIGHT: Readonly<Record<Quantization, number>> = {
  Q4_0: 4.5,
  Q8_0: 8.5,
  Q4_K_M: 4.9,
  F16: 16,
};

/** A single-stream generation speed somebody measured. */
export interface ThroughputFigure {
  readonly instanceType: string;
  readonly architecture: ArchitectureId;
  readonly quantization: Quantization;
  /** Output tokens per second, one request at a time. */
  readonly tokensPerS: number;
  readonly flashAttention: boolean;
  readonly kind: 'published' | 'measured';
  readonly note: string;
  readonly source: Citation;
}

/**
 * Published figures. Arcee's files give one number per configuration,
 * "tokensPerSecond", without the prompt or output length; they are read as
 * single-stream generation speed. Q4_0_8_8 and Q4_0_4_8 were llama.cpp's
 * names (in 2024) for Q4_0 repacked for Graviton3 and Graviton4: the same
 * bytes per weight as Q4_0, which the kit's llama.cpp now repacks at load.
 * Only the figures without flash attention calibrate the model (the kit does
 * not turn it on); the others are kept for comparison.
 */
export const PUBLISHED_FIGURES: readonly ThroughputFigure[] = [
  { instanceType: 'c7g.8xlarge', architecture: 'llama-3.1-8b', quantization: 'Q4_0', tokensPerS: 39.7, flashAttention: false, kind: 'published', note: 'Q4_0_8_8, requantized from Q4_K_S', source: SOURCES.arceeLite },
  { instanceType: 'c7g.16xlarge', architecture: 'llama-3.1-8b', quantization: 'Q4_0', tokensPerS: 45.5, flashAttention: false, kind: 'published', note: 'Q4_0_8_8', source: SOURCES.arceeLite },
  { instanceType: 'r8g.8xlarge', architecture: 'llama-3.1-8b', quantization: 'Q4_0', tokensPerS: 57, flashAttention: false, kind: 'published', note: 'Q4_0_4_8', source: SOURCES.arceeLiteNoFa },
  { instanceType: 'r8g.16xlarge', architecture: 'llama-3.1-8b', quantization: 'Q4_0', tokensPerS: 65, flashAttention: false, kind: 'published', note: 'Q4_0_4_8', source: SOURCES.arceeLiteNoFa },
  { instanceType: 'r8g.8xlarge', architecture: 'llama-3.1-8b', quantization: 'Q8_0', tokensPerS: 37, flashAttention: false, kind: 'published', note: 'Q8_0', source: SOURCES.arceeLiteNoFa },
  { instanceType: 'r8g.4xlarge', architecture: 'llama-3.1-8b', quantization: 'Q4_0', tokensPerS: 49, flashAttention: true, kind: 'published', note: 'Q4_0_4_8, flash attention', source: SOURCES.arceeLite },
  { instanceType: 'r8g.8xlarge', architecture: 'llama-3.1-8b', quantization: 'Q4_0', tokensPerS: 63, flashAttention: true, kind: 'published', note: 'Q4_0_4_8, flash attention', source: SOURCES.arceeLite },
  { instanceType: 'r8g.16xlarge', architecture: 'llama-3.1-8b', quantization: 'Q4_0', tokensPerS: 70, flashAttention: true, kind: 'published', note: 'Q4_0_4_8, flash attention', source: SOURCES.arceeLite },
  { instanceType: 'c7g.16xlarge', architecture: 'llama-3.3-70b', quantization: 'Q4_0', tokensPerS: 6.5, flashAttention: false, kind: 'published', note: 'Q4_0_8_8 (Llama 3.1 70B fine-tune, same shape)', source: SOURCES.arcee70b },
  { instanceType: 'r8g.16xlarge', architecture: 'llama-3.3-70b', quantization: 'Q4_0', tokensPerS: 9.8, flashAttention: true, kind: 'published', note: 'Q4_0_4_8, flash attention (Llama 3.1 70B fine-tune)', source: SOURCES.arcee70b },
];

/**
 * Figures measured with tools/bench on a Graviton instance, which override
 * the estimate for that exact instance, model and quantization. Add a row
 * (and its results.json) after benchmarking a deployed endpoint. Figures
 * from other machines (the x86 development machine in docs/benchmarks.md)
 * do not belong here: they say nothing about a Graviton core.
 */
export const MEASURED_FIGURES: readonly ThroughputFigure[] = [];

/** On-demand price of one vCPU-hour in a family: AWS prices these families linearly in size. */
export interface FamilyPrice {
  readonly perVcpuHour: number;
  readonly basis: string;
  readonly source?: Citation;
}

const APPROXIMATE = 'approximate: us-east-1 Linux on-demand as last seen on aws.amazon.com/ec2/pricing/on-demand, not re-checked here';

/**
 * us-east-1, Linux, on-demand. Families without a price (burstable t4g,
 * storage and accelerated families, hpc7g) are not sized: credits,
 * instance storage or GPUs make them a different trade.
 */
export const FAMILY_PRICES: Readonly<Record<string, FamilyPrice>> = {
  c7g: { perVcpuHour: 2.32 / 64, basis: 'c7g.16xlarge $2.32/h / 64 vCPU', source: SOURCES.arceePrices },
  c8g: { perVcpuHour: 2.552 / 64, basis: 'c8g.16xlarge $2.552/h / 64 vCPU (c8g.4xlarge $0.6381, c8g.8xlarge $1.276 agree)', source: SOURCES.arceePrices },
  r8g: { perVcpuHour: 0.9426 / 16, basis: 'r8g.4xlarge $0.9426/h / 16 vCPU', source: SOURCES.arceePrices },
  c6g: { perVcpuHour: 0.068 / 2, basis: `c6g.large $0.068/h; ${APPROXIMATE}` },
  m6g: { perVcpuHour: 0.077 / 2, basis: `m6g.large $0.077/h; ${APPROXIMATE}` },
  r6g: { perVcpuHour: 0.1008 / 2, basis: `r6g.large $0.1008/h; ${APPROXIMATE}` },
  m7g: { perVcpuHour: 0.0816 / 2, basis: `m7g.large $0.0816/h; ${APPROXIMATE}` },
  r7g: { perVcpuHour: 0.1071 / 2, basis: `r7g.large $0.1071/h; ${APPROXIMATE}` },
  m8g: { perVcpuHour: 0.08976 / 2, basis: `m8g.large $0.08976/h; ${APPROXIMATE}` },
};

export const PRICE_REGION = 'us-east-1';
