/**
 * The kit's llama-server settings for a local benchmark, taken from the boot
 * script itself (lib/boot/server-args.ts) with the environment `npm run
 * local` renders, so the comparison measures exactly what an instance runs.
 */
import { localBootEnvironment } from '../../lib/boot/local-boot';
import { bootServerArgs, servingSettings } from '../../lib/boot/server-args';

export interface KitServingShape {
  /** GLLM_PARALLEL_SLOTS (the kit's parallelSlots). */
  readonly slots: number;
  /** GLLM_CONTEXT_PER_SLOT (the kit's contextTokensPerSlot). */
  readonly ctxPerSlot: number;
  /** GLLM_PROMPT_CACHE_MIB (what the fit check leaves on the instance being imitated). */
  readonly promptCacheMiB: number;
}

/**
 * boot.sh's server_args for the shape, without --model, --host, --port and
 * --api-key-file (the benchmark's server harness sets those) and without
 * the memory lock. --threads is this machine's core count, as on an instance.
 */
export function kitServerArgs(shape: KitServingShape): string[] {
  // Only the serving values matter to server_args; the rest must merely pass the script's checks.
  const env = localBootEnvironment({
    modelUrl: 'http://127.0.0.1:9/model.gguf',
    sha256: '0'.repeat(64),
    sizeBytes: 1,
    workDir: '/nonexistent/gllm-bench',
    cacheDir: '/nonexistent/gllm-bench/cache',
    llamaRef: 'bench',
    llamaCommit: '',
    port: 8080,
    slots: shape.slots,
    ctxPerSlot: shape.ctxPerSlot,
    promptCacheMiB: shape.promptCacheMiB,
    healthTimeoutSeconds: 60,
    bootTimeoutSeconds: 60,
    modelFile: 'model.gguf',
    quantizeTo: '',
    // Fixed so that no /proc/cpuinfo is read: the build flags are not part of server_args.
    generation: 4,
  }, '/nonexistent/gllm-bench/api-key');
  return servingSettings(bootServerArgs({ env, modelPath: '/nonexistent/model.gguf', keyFile: '/nonexistent/api-key', host: '127.0.0.1' }));
}
