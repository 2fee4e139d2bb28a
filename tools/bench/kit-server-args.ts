/**
 * The kit's llama-server settings for a local benchmark: the boot's own
 * argument vector (runtime/boot/server/args.ts, which the serve phase
 * runs), so the comparison measures exactly what an
 * instance runs.
 */
import * as os from 'node:os';

import { listenHost, serverArgs, servingSettings } from '../../runtime/boot/server/args';

export interface KitServingShape {
  /** GLLM_PARALLEL_SLOTS (the kit's parallelSlots). */
  readonly slots: number;
  /** GLLM_CONTEXT_PER_SLOT (the kit's contextTokensPerSlot). */
  readonly ctxPerSlot: number;
  /** GLLM_PROMPT_CACHE_MIB (what the fit check leaves on the instance being imitated). */
  readonly promptCacheMiB: number;
}

/**
 * The boot's server arguments for the shape, without --model, --host, --port
 * and --api-key-file (the benchmark's server harness sets those) and without
 * the memory lock. --threads is this machine's core count, as on an instance.
 */
export function kitServerArgs(shape: KitServingShape): string[] {
  return servingSettings(serverArgs({
    // Endpoint values: servingSettings drops them.
    modelPath: '/nonexistent/model.gguf',
    keyFile: '/nonexistent/api-key',
    host: listenHost('local'),
    port: 8080,
    parallelSlots: shape.slots,
    contextPerSlot: shape.ctxPerSlot,
    promptCacheMiB: shape.promptCacheMiB,
    threads: os.availableParallelism(),
    lockArgs: [],
  }));
}
