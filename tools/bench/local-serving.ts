/**
 * What every local benchmark serves: llama-server built from the pinned
 * release as the boot builds it (the kit's CMake defines, runtime/boot/build/
 * defines.ts: for this machine's architecture, never tuned for its CPU,
 * so the figures are the kit's build's and the tools run on any CPU the kit
 * supports), and the random-weight GGUF shaped like Llama 3.2 1B, quantized
 * to Q4_0 (generated and built on first use, then cached).
 */
import { buildLlamaCpp } from '../../test/support/llama-cpp-build';
import { ensureLlamaCppSource } from '../../test/support/llama-cpp-source';
import { ensureTinyModel, LLAMA_3_2_1B_SHAPE, quantizedPath, quantizeModel } from '../../test/support/tiny-model';

export interface LocalServing {
  /** The release tag built, e.g. v0.5.0. */
  readonly tag: string;
  readonly serverBinary: string;
  readonly model: { readonly path: string; readonly bytes: number };
}

export async function prepareLocalServing(): Promise<LocalServing> {
  const source = await ensureLlamaCppSource();
  const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server', 'llama-quantize'] });
  const f32 = await ensureTinyModel({ source, shape: LLAMA_3_2_1B_SHAPE });
  const model = await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', { llamaQuantize: build.binaries['llama-quantize'] });
  return { tag: source.tag, serverBinary: build.binaries['llama-server'], model };
}
