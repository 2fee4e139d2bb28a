import * as os from 'node:os';
import { buildLlamaCpp } from './llama-cpp-build';
import { ensureLlamaCppSource } from './llama-cpp-source';
import { type RunningLlamaServer, startLlamaServer } from './llama-server';
import { ensureTinyModel, quantizedPath, quantizeModel } from './tiny-model';

/**
 * A native llama-server serving the tiny random-weight model as Q4_0, with
 * the kit's settings (runtime/boot/server/args.ts) scaled down to 2 slots of
 * 512 tokens: what the bench and smoke integration tests measure.
 */
export async function startTinyLlamaServer(apiKey: string): Promise<RunningLlamaServer> {
  const source = await ensureLlamaCppSource();
  const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server', 'llama-quantize'] });
  const f32 = await ensureTinyModel({ source });
  const model = await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', { llamaQuantize: build.binaries['llama-quantize'] });
  return startLlamaServer({
    binary: build.binaries['llama-server'],
    model: model.path,
    apiKey,
    metrics: true,
    parallel: 2,
    ctxSize: 2 * 512,
    threads: os.availableParallelism?.() ?? os.cpus().length,
    extraArgs: ['--cont-batching'],
  });
}
