import { BITS_PER_WEIGHT, Quantization } from './quantizations';

/**
 * The shapes of the Llama 3 models the kit serves. The fit check needs the
 * attention shape to size the KV cache; a custom (fine-tuned) model names the
 * architecture it was trained from.
 */
export interface ModelArchitecture {
  readonly id: string;
  readonly displayName: string;
  readonly parametersBillions: number;
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Longest context the model was trained for, in tokens. */
  readonly contextLength: number;
  readonly license: string;
}

/** Source: each model's config.json on Hugging Face (num_hidden_layers, num_key_value_heads, head_dim, max_position_embeddings). */
export const ARCHITECTURES = {
  'llama-3.2-1b': {
    id: 'llama-3.2-1b',
    displayName: 'Llama 3.2 1B Instruct',
    parametersBillions: 1.24,
    layers: 16,
    kvHeads: 8,
    headDim: 64,
    contextLength: 131072,
    license: 'Llama 3.2 Community License (llama.com/llama3_2/license); acceptable use policy applies',
  },
  'llama-3.2-3b': {
    id: 'llama-3.2-3b',
    displayName: 'Llama 3.2 3B Instruct',
    parametersBillions: 3.21,
    layers: 28,
    kvHeads: 8,
    headDim: 128,
    contextLength: 131072,
    license: 'Llama 3.2 Community License (llama.com/llama3_2/license); acceptable use policy applies',
  },
  'llama-3.1-8b': {
    id: 'llama-3.1-8b',
    displayName: 'Llama 3.1 8B Instruct',
    parametersBillions: 8.03,
    layers: 32,
    kvHeads: 8,
    headDim: 128,
    contextLength: 131072,
    license: 'Llama 3.1 Community License (llama.com/llama3_1/license); acceptable use policy applies',
  },
  'llama-3.3-70b': {
    id: 'llama-3.3-70b',
    displayName: 'Llama 3.3 70B Instruct',
    parametersBillions: 70.6,
    layers: 80,
    kvHeads: 8,
    headDim: 128,
    contextLength: 131072,
    license: 'Llama 3.3 Community License (llama.com/llama3_3/license); acceptable use policy applies',
  },
} as const satisfies Record<string, ModelArchitecture>;

export type ArchitectureId = keyof typeof ARCHITECTURES;

export const ARCHITECTURE_IDS = Object.keys(ARCHITECTURES) as ArchitectureId[];

/** Bytes of KV cache per token of context: K and V, every layer, f16 (llama-server's default cache type). */
export function kvCacheBytesPerToken(arch: ModelArchitecture): number {
  const bytesPerElement = 2;
  return 2 * arch.layers * arch.kvHeads * arch.headDim * bytesPerElement;
}

/**
 * The smallest plausible GGUF file of an architecture at a quantization: half
 * of what its weights take at that quantization's bits per weight. Real files
 * are a little larger (embeddings and output kept at higher precision), so
 * a file below this is another model, another quantization, or a typo.
 */
export function minimumModelFileBytes(arch: ModelArchitecture, quantization: Quantization): number {
  return Math.floor(arch.parametersBillions * 1e9 * BITS_PER_WEIGHT[quantization] / 8 / 2);
}
