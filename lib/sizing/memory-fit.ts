import { GravitonInstance, allGravitonInstances } from '../catalogs/graviton-instances';
import { ModelArchitecture, kvCacheBytesPerToken } from '../catalogs/model-architectures';

export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

/**
 * Memory the operating system, the SSM and CloudWatch agents and the page
 * cache's working set keep for themselves on Amazon Linux 2023.
 */
export const OS_RESERVE_BYTES = 1 * GIB;
/** Share of the instance's memory left free, so a busy instance never swaps or meets the OOM killer. */
export const HEADROOM_FRACTION = 0.1;
/**
 * llama.cpp's compute buffers: a fixed part plus a share of the weights
 * (intermediate activations grow with the model's width).
 */
const COMPUTE_BUFFER_FIXED_BYTES = 512 * MIB;
const COMPUTE_BUFFER_MODEL_FRACTION = 0.05;

export interface MemoryNeed {
  readonly modelBytes: number;
  readonly kvCacheBytes: number;
  readonly computeBytes: number;
  readonly totalBytes: number;
}

export interface ServingShape {
  readonly modelBytes: number;
  readonly architecture: ModelArchitecture;
  readonly parallelSlots: number;
  readonly contextTokensPerSlot: number;
}

export function memoryNeed(shape: ServingShape): MemoryNeed {
  const kvCacheBytes = kvCacheBytesPerToken(shape.architecture) * shape.parallelSlots * shape.contextTokensPerSlot;
  const computeBytes = COMPUTE_BUFFER_FIXED_BYTES + Math.ceil(shape.modelBytes * COMPUTE_BUFFER_MODEL_FRACTION);
  return {
    modelBytes: shape.modelBytes,
    kvCacheBytes,
    computeBytes,
    totalBytes: shape.modelBytes + kvCacheBytes + computeBytes,
  };
}

/** Memory the model server may use on an instance: all of it, less the OS reserve and the headroom. */
export function usableBytes(instance: GravitonInstance): number {
  return instance.memoryGiB * GIB * (1 - HEADROOM_FRACTION) - OS_RESERVE_BYTES;
}

export function fits(need: MemoryNeed, instance: GravitonInstance): boolean {
  return need.totalBytes <= usableBytes(instance);
}

/**
 * The smallest size that fits in each family of the instance's generation (and
 * then of the others), so the error for a too-small type offers a fix in the
 * same price class first.
 */
export function sizesThatFit(need: MemoryNeed, near: GravitonInstance, limit = 6): GravitonInstance[] {
  const smallestPerFamily = new Map<string, GravitonInstance>();
  for (const i of allGravitonInstances()) {
    if (i.preview || i.family !== i.baseFamily || i.size.startsWith('metal') || !fits(need, i)) {
      continue;
    }
    const current = smallestPerFamily.get(i.family);
    if (!current || i.memoryGiB < current.memoryGiB) {
      smallestPerFamily.set(i.family, i);
    }
  }
  const sameGeneration = (i: GravitonInstance) => (i.generationSpec.generation === near.generationSpec.generation ? 0 : 1);
  return [...smallestPerFamily.values()]
    .sort((a, b) => sameGeneration(a) - sameGeneration(b) || a.memoryGiB - b.memoryGiB || a.vcpus - b.vcpus)
    .slice(0, limit);
}

/**
 * Most the kit gives llama-server's RAM prompt cache (`--cache-ram`, MiB):
 * llama-server v0.5.0's own default. The kit never raises it; it lowers it
 * where the instance has less to spare.
 */
export const PROMPT_CACHE_MAX_MIB = 8192;

/**
 * Share of the fit check's need the prompt cache leaves unclaimed, for the
 * server's memory the need does not count (its HTTP threads, the tokenizer,
 * the allocator's slack). Measured: the 1B-shaped Q4_0 model with 4 slots of
 * 4096 tokens had a resident size 98 MiB (5.5%) above its 1796 MiB need with
 * the cache empty (docs/benchmarks.md, "The prompt cache's memory bound"),
 * and with the cache filling all of the usable memory the server went past it.
 */
export const PROMPT_CACHE_ALLOWANCE_FRACTION = 0.1;

/**
 * Room for the RAM prompt cache, in whole MiB: the usable memory less the
 * fit check's need and the allowance for what the need does not count; 0
 * where nothing is left. The most a configuration may give the cache.
 */
export function promptCacheRoomMiB(need: MemoryNeed, instance: GravitonInstance): number {
  const spare = usableBytes(instance) - need.totalBytes * (1 + PROMPT_CACHE_ALLOWANCE_FRACTION);
  return Math.max(0, Math.floor(spare / MIB));
}

/**
 * The RAM prompt cache for a serving shape on an instance, in MiB: its room
 * (promptCacheRoomMiB) up to PROMPT_CACHE_MAX_MIB. The cache only ever takes
 * what is left, so it never turns a shape that fits into one that does not;
 * 0 (nothing left) disables it.
 *
 * llama-server keeps prompts evicted from slots (and copies of idle slots) in
 * this cache, each a full KV state, until their total reaches the limit; left
 * at its 8192 MiB default on a small instance it grows past the memory the
 * fit check counted and the kernel kills the server.
 */
export function promptCacheMiB(need: MemoryNeed, instance: GravitonInstance): number {
  return Math.min(PROMPT_CACHE_MAX_MIB, promptCacheRoomMiB(need, instance));
}

export function formatGiB(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GiB`;
}
