import { GravitonInstance, allGravitonInstances } from '../catalogs/graviton-instances';
import { ModelArchitecture, kvCacheBytesPerToken } from '../catalogs/model-architectures';

export const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

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

export function formatGiB(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GiB`;
}
