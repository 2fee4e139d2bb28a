/**
 * The names of the objects the build and model cache holds, relative to the
 * cache's root (GLLM_CACHE_URI: an S3 prefix on instances, a directory
 * locally). Each name says what the object may be used for, so it is made
 * only of what decides that:
 *
 * - a build, by its build key (build/key.ts: the commit, the target CPU, the
 *   OS, the toolchain, the defines): a build is only reused where it would
 *   have been built identically;
 * - a source model, by its SHA-256: every version read is checked against the
 *   SHA-256 in the template, so the name need say nothing else;
 * - a model quantized on an instance, by the source model, the type and the
 *   llama.cpp commit whose llama-quantize made it, so that a new release never
 *   serves a file quantized by another. Not by the whole build key: any build
 *   of one commit makes an equally good file, and a key that changed with every
 *   AMI would quantize again (and open the window for a planted first version,
 *   see versions.ts) at every AMI move.
 *
 * lib/constructs/artifact-store.ts builds the bucket's prefixes (and the
 * lifecycle rule that must spare builds/ and quantized/) from these folders.
 * The names are those the bash boot of earlier versions used: a stack updated
 * from one keeps its cache.
 */

/** The folder of the cached builds: every version kept (see versions.ts). */
export const BUILD_CACHE_DIR = 'builds/';
/** The folder of the source models, checked against the template's SHA-256 whichever version is read. */
export const MODEL_CACHE_DIR = 'models/';
/** The folder of the models quantized on an instance: every version kept, like the builds'. */
export const QUANTIZED_CACHE_DIR = 'quantized/';

/** The cached build of build key `buildKey` (32 hex digits). */
export function buildCacheRel(buildKey: string): string {
  return `${BUILD_CACHE_DIR}${buildKey}.tar.gz`;
}

/** The cached source model of SHA-256 `modelSha256`. */
export function modelCacheRel(modelSha256: string): string {
  return `${MODEL_CACHE_DIR}${modelSha256}.gguf`;
}

export interface QuantizedCacheInput {
  /** GLLM_MODEL_SHA256: the source model. */
  readonly modelSha256: string;
  /** GLLM_QUANTIZE_TO. */
  readonly quantizeTo: string;
  /** GLLM_LLAMA_CPP_COMMIT; empty for a local source tree. */
  readonly llamaCppCommit: string;
  /** GLLM_LLAMA_CPP_REF: names the release where there is no commit (its slashes made underscores, to stay one name). */
  readonly llamaCppRef: string;
}

/** The cached model quantized from `modelSha256` to `quantizeTo` by llama.cpp's commit (or, without one, its ref). */
export function quantizedCacheRel(input: QuantizedCacheInput): string {
  const release = input.llamaCppCommit || input.llamaCppRef.replace(/\//g, '_');
  return `${QUANTIZED_CACHE_DIR}${input.modelSha256}-${input.quantizeTo}-llama.cpp-${release}.gguf`;
}
