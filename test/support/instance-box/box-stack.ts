/**
 * The stack the x86_64 box tests launch: a customModel served from the box's
 * model bucket, small enough to boot in minutes, as StackInstanceOptions for
 * stackInstance (the fleet) and builderInstance (the builder).
 */
import { ARCHITECTURES, minimumModelFileBytes } from '../../../lib/catalogs/model-architectures';
import { synthWith } from '../synth';
import type { S3File, StackInstanceOptions } from './stack-instance';

/** The smallest Q4_0 Llama 3.2 1B file the configuration takes; the box serves a tiny stand-in under that name. */
const STAND_IN_FLOOR = minimumModelFileBytes(ARCHITECTURES['llama-3.2-1b'], 'Q4_0');

/** The box stack's slots: two of 1,024 tokens unless a test needs longer streams. */
export interface BoxSlots {
  readonly parallelSlots: number;
  readonly contextTokensPerSlot: number;
}

/**
 * A stack that serves `model` (configured with `sha256`) from the box's model bucket, as a customModel;
 * `extraObjects` are put in the box's S3 after the stack's own (and so may replace them). With
 * `trustedBuilder` false the stack has no builder: its fleet compiles and fills the cache.
 */
export function boxStackOptions(
  model: S3File, apiKey: string, sha256 = model.sha256, extraObjects: S3File[] = [], trustedBuilder = true,
  slots: BoxSlots = { parallelSlots: 2, contextTokensPerSlot: 1024 },
): StackInstanceOptions {
  const synth = synthWith({
    trustedBuilder,
    customModel: {
      source: `s3://${model.bucket}/${model.key}`,
      sha256,
      sizeBytes: Math.max(model.bytes, STAND_IN_FLOOR),
      architecture: 'llama-3.2-1b',
      quantization: 'Q4_0',
    },
    ...slots,
    bootTimeoutMinutes: 10,
  }, { bundle: false });
  return {
    template: synth.template.toJSON(),
    assemblyDir: synth.outdir,
    stackName: synth.stack.stackName,
    apiKey,
    architecture: 'x86_64',
    extraObjects: [model, ...extraObjects],
    modelSizeBytes: model.bytes,
  };
}
