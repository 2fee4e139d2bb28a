/**
 * A runnable random-weight Llama-3-architecture GGUF, generated locally.
 *
 * Real weights cannot be downloaded in tests; llama.cpp only needs the right
 * architecture, hyper-parameters, tensors and tokenizer to load and generate.
 * The output is gibberish, but the whole serving path (tokenizer, chat
 * template, quantization, repacking, sampling, HTTP API) is the real one.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs, statSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { buildLlamaCpp } from './llama-cpp-build';
import { cacheRoot, LlamaCppSource, withLock } from './llama-cpp-source';
import { readGgufHeader } from './gguf/gguf-reader';
import { GgmlType, GgufValue, GgufValueType } from './gguf/gguf-types';
import { gguf, GgufTensorSource, writeGguf } from './gguf/gguf-writer';
import { hashString, SeededRandom } from './gguf/seeded-random';

const run = promisify(execFile);

/** Bump when the generator's output changes, so cached models are regenerated. */
const GENERATOR_VERSION = 1;

export interface ModelShape {
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ff: number;
  readonly contextLength: number;
  /** Llama 3.2 1B/3B reuse token_embd as the output matrix (no output.weight). */
  readonly tiedEmbeddings: boolean;
}

/** Small enough to generate in seconds and run under qemu; the 128k vocabulary dominates its size. */
export const TINY_SHAPE: ModelShape = {
  dim: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  ff: 128,
  contextLength: 2048,
  tiedEmbeddings: false,
};

/** Shaped like Llama 3.2 1B Instruct (about 5 GB as F32); for benchmarks only. */
export const LLAMA_3_2_1B_SHAPE: ModelShape = {
  dim: 2048,
  layers: 16,
  heads: 32,
  kvHeads: 8,
  ff: 8192,
  contextLength: 131072,
  tiedEmbeddings: true,
};

/** Meta's Llama 3 Instruct chat template (as shipped in its tokenizer_config.json). */
export const LLAMA3_CHAT_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

const ROPE_FREQ_BASE = 500000;
const RMS_EPS = 1e-5;

export interface GeneratedFile {
  readonly path: string;
  readonly bytes: number;
  /** Wall time spent producing it in this call (0 when served from the cache). */
  readonly seconds: number;
  readonly cached: boolean;
}

export interface TinyModelOptions {
  readonly source: LlamaCppSource;
  readonly shape?: ModelShape;
  readonly seed?: number;
}

function shapeKey(s: ModelShape): string {
  return `d${s.dim}-l${s.layers}-h${s.heads}-kv${s.kvHeads}-ff${s.ff}-ctx${s.contextLength}${s.tiedEmbeddings ? '-tied' : ''}`;
}

/** The Llama 3 tokenizer: every `tokenizer.*` key of llama.cpp's vocab-only GGUF. */
function llama3Tokenizer(source: LlamaCppSource): Map<string, GgufValue> {
  const vocab = readGgufHeader(path.join(source.dir, 'models', 'ggml-vocab-llama-bpe.gguf'));
  const out = new Map<string, GgufValue>();
  for (const [k, v] of vocab.metadata) if (k.startsWith('tokenizer.')) out.set(k, v);
  const tokens = out.get('tokenizer.ggml.tokens');
  if (!tokens || tokens.type !== GgufValueType.ARRAY) throw new Error('vocab GGUF has no token list');
  return out;
}

function metadataFor(shape: ModelShape, tokenizer: Map<string, GgufValue>, name: string): Map<string, GgufValue> {
  const vocabSize = (tokenizer.get('tokenizer.ggml.tokens')!.value as readonly unknown[]).length;
  const headDim = shape.dim / shape.heads;
  return new Map<string, GgufValue>([
    ['general.architecture', gguf.str('llama')],
    ['general.name', gguf.str(name)],
    ['general.file_type', gguf.u32(0)], // LLAMA_FTYPE_ALL_F32
    ['llama.context_length', gguf.u32(shape.contextLength)],
    ['llama.embedding_length', gguf.u32(shape.dim)],
    ['llama.block_count', gguf.u32(shape.layers)],
    ['llama.feed_forward_length', gguf.u32(shape.ff)],
    ['llama.attention.head_count', gguf.u32(shape.heads)],
    ['llama.attention.head_count_kv', gguf.u32(shape.kvHeads)],
    ['llama.rope.freq_base', gguf.f32(ROPE_FREQ_BASE)],
    ['llama.rope.dimension_count', gguf.u32(headDim)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(RMS_EPS)],
    ['llama.vocab_size', gguf.u32(vocabSize)],
    ...tokenizer,
    ['tokenizer.chat_template', gguf.str(LLAMA3_CHAT_TEMPLATE)],
  ]);
}

const CHUNK_ELEMENTS = 1 << 20;

/** A tensor of seeded uniform noise (or a constant), produced chunk by chunk. */
function randomTensor(name: string, dims: number[], seed: number, scale: number | 'ones'): GgufTensorSource {
  const count = dims.reduce((a, b) => a * b, 1);
  return {
    name,
    dims,
    type: GgmlType.F32,
    *chunks() {
      const rng = new SeededRandom(seed, hashString(name));
      const buf = new Float32Array(Math.min(CHUNK_ELEMENTS, count));
      for (let done = 0; done < count; ) {
        const n = Math.min(buf.length, count - done);
        const view = buf.subarray(0, n);
        if (scale === 'ones') view.fill(1);
        else rng.fillUniform(view, scale);
        // The writer consumes each chunk before asking for the next, so one
        // buffer is reused for the whole tensor.
        yield new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        done += n;
      }
    },
  };
}

function tensorsFor(shape: ModelShape, vocabSize: number, seed: number): GgufTensorSource[] {
  const { dim, ff } = shape;
  const headDim = dim / shape.heads;
  const kvDim = headDim * shape.kvHeads;
  // Uniform(-1/sqrt(fan_in), +1/sqrt(fan_in)) keeps activations bounded
  // through the layers. The output matrix gets a wider spread so logits are
  // well separated: greedy decoding then picks the same token on every CPU
  // despite last-bit differences between SIMD kernels.
  const w = (fanIn: number) => 1 / Math.sqrt(fanIn);
  const t: GgufTensorSource[] = [
    randomTensor('token_embd.weight', [dim, vocabSize], seed, shape.tiedEmbeddings ? 4 * w(dim) : 1),
    randomTensor('output_norm.weight', [dim], seed, 'ones'),
  ];
  if (!shape.tiedEmbeddings) t.push(randomTensor('output.weight', [dim, vocabSize], seed, 4 * w(dim)));
  for (let i = 0; i < shape.layers; i++) {
    const b = `blk.${i}`;
    t.push(
      randomTensor(`${b}.attn_norm.weight`, [dim], seed, 'ones'),
      randomTensor(`${b}.attn_q.weight`, [dim, dim], seed, w(dim)),
      randomTensor(`${b}.attn_k.weight`, [dim, kvDim], seed, w(dim)),
      randomTensor(`${b}.attn_v.weight`, [dim, kvDim], seed, w(dim)),
      randomTensor(`${b}.attn_output.weight`, [dim, dim], seed, w(dim)),
      randomTensor(`${b}.ffn_norm.weight`, [dim], seed, 'ones'),
      randomTensor(`${b}.ffn_gate.weight`, [dim, ff], seed, w(dim)),
      randomTensor(`${b}.ffn_up.weight`, [dim, ff], seed, w(dim)),
      randomTensor(`${b}.ffn_down.weight`, [ff, dim], seed, w(ff)),
    );
  }
  return t;
}

function validateShape(s: ModelShape): void {
  if (s.dim % s.heads !== 0) throw new Error(`dim ${s.dim} is not a multiple of heads ${s.heads}`);
  if (s.heads % s.kvHeads !== 0) throw new Error(`heads ${s.heads} is not a multiple of kv heads ${s.kvHeads}`);
  // Q4_0 (and the Arm repack kernels) work on 32-element blocks of each row.
  if (s.dim % 32 !== 0 || s.ff % 32 !== 0) throw new Error('dim and ff must be multiples of 32 to quantize');
}

/**
 * Returns an F32 model of the given shape and seed, generating it into the
 * cache the first time. Deterministic: the same inputs give the same bytes.
 */
export async function ensureTinyModel(opts: TinyModelOptions): Promise<GeneratedFile> {
  const shape = opts.shape ?? TINY_SHAPE;
  const seed = opts.seed ?? 1;
  validateShape(shape);
  const name = `llama3-${shapeKey(shape)}-seed${seed}-g${GENERATOR_VERSION}-${opts.source.tag}`;
  const file = path.join(cacheRoot(), 'models', `${name}-f32.gguf`);
  return withLock(`${file}.lock`, async () => {
    if (existsSync(file)) return { path: file, bytes: statSync(file).size, seconds: 0, cached: true };
    const started = Date.now();
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tokenizer = llama3Tokenizer(opts.source);
    const metadata = metadataFor(shape, tokenizer, name);
    const vocabSize = (tokenizer.get('tokenizer.ggml.tokens')!.value as readonly unknown[]).length;
    writeGguf(file, metadata, tensorsFor(shape, vocabSize, seed));
    const seconds = (Date.now() - started) / 1000;
    const bytes = statSync(file).size;
    console.log(`model ${path.basename(file)}: generated ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s`);
    return { path: file, bytes, seconds, cached: false };
  });
}

export type QuantType = 'Q4_0' | 'Q4_K_M' | 'Q8_0';

/** Where the quantized copy of an F32 model from `ensureTinyModel` lives. */
export function quantizedPath(f32Path: string, type: QuantType): string {
  return f32Path.replace(/-f32\.gguf$/, '') + `-${type.toLowerCase()}.gguf`;
}

/**
 * Runs the built `llama-quantize` on `input`, writing `output` (atomically),
 * unless `output` already exists.
 */
export async function quantizeModel(
  input: string,
  output: string,
  type: QuantType,
  tools: { readonly llamaQuantize: string },
): Promise<GeneratedFile> {
  return withLock(`${output}.lock`, async () => {
    if (existsSync(output)) return { path: output, bytes: statSync(output).size, seconds: 0, cached: true };
    const started = Date.now();
    const tmp = `${output}.tmp-${process.pid}.gguf`;
    try {
      await run(tools.llamaQuantize, [input, tmp, type], { maxBuffer: 64 * 1024 * 1024 });
      await fs.rename(tmp, output);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    const seconds = (Date.now() - started) / 1000;
    const bytes = statSync(output).size;
    console.log(`model ${path.basename(output)}: quantized to ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s`);
    return { path: output, bytes, seconds, cached: false };
  });
}

/**
 * The tiny model as Q4_0, quantized by the native llama-quantize: the file the
 * instance box serves from S3. Cached like the F32 file it comes from. Another
 * `shape` (a longer context: metadata only, the same size) gives another file.
 */
export async function ensureTinyQ4Model(source: LlamaCppSource, shape: ModelShape = TINY_SHAPE): Promise<GeneratedFile> {
  const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-quantize'] });
  const f32 = await ensureTinyModel({ source, shape });
  return quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', { llamaQuantize: build.binaries['llama-quantize'] });
}
