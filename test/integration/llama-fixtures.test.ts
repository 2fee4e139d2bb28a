/**
 * Proves the llama.cpp fixtures end to end on the build host: a real
 * llama-server built from the pinned release, serving a generated Llama 3
 * model quantized to Q4_0, behind an API key.
 *
 * The first run compiles llama.cpp (minutes on 2 cores); later runs reuse the
 * cached build and model.
 */
import { buildLlamaCpp, LlamaCppBuild } from '../support/llama-cpp-build';
import { ensureLlamaCppSource, LlamaCppSource } from '../support/llama-cpp-source';
import { RunningLlamaServer, startLlamaServer } from '../support/llama-server';
import { readGgufHeader } from '../support/gguf/gguf-reader';
import { GgmlType, ggmlTypeName } from '../support/gguf/gguf-types';
import { ensureTinyModel, GeneratedFile, quantizedPath, quantizeModel } from '../support/tiny-model';

const SETUP_TIMEOUT_MS = 60 * 60 * 1000;
const API_KEY = 'test-key-0123456789abcdef';

interface ChatCompletion {
  object: string;
  choices: { message: { role: string; content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

interface ChatCompletionChunk {
  object: string;
  choices: { delta: { content?: string } }[];
  usage?: ChatCompletion['usage'];
}

const chatRequest = (stream: boolean) => ({
  model: 'tiny',
  messages: [{ role: 'user', content: 'Say hello.' }],
  max_tokens: 8,
  temperature: 0,
  seed: 42,
  stream,
  ...(stream ? { stream_options: { include_usage: true } } : {}),
});

/** Parses a text/event-stream body into its `data:` payloads. */
function sseData(body: string): string[] {
  return body
    .split(/\r?\n\r?\n/)
    .flatMap((event) => event.split(/\r?\n/))
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice('data:'.length).trim());
}

describe('llama.cpp test fixtures (native build)', () => {
  let source: LlamaCppSource;
  let build: LlamaCppBuild;
  let f32: GeneratedFile;
  let q4: GeneratedFile;
  let server: RunningLlamaServer | undefined;

  beforeAll(async () => {
    source = await ensureLlamaCppSource();
    build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server', 'llama-quantize'] });
    f32 = await ensureTinyModel({ source });
    q4 = await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', {
      llamaQuantize: build.binaries['llama-quantize'],
    });
    server = await startLlamaServer({
      binary: build.binaries['llama-server'],
      model: q4.path,
      apiKey: API_KEY,
      metrics: true,
      parallel: 2,
      ctxSize: 2048,
      threads: 2,
    });
    console.log(
      [
        `llama.cpp ${source.tag}`,
        `native build: ${build.cached ? 'cached' : `${build.seconds.toFixed(1)} s`}`,
        `F32 model: ${(f32.bytes / 1e6).toFixed(1)} MB (${f32.cached ? 'cached' : `generated in ${f32.seconds.toFixed(1)} s`})`,
        `Q4_0 model: ${(q4.bytes / 1e6).toFixed(1)} MB (${q4.cached ? 'cached' : `quantized in ${q4.seconds.toFixed(1)} s`})`,
        `llama-server healthy after ${server.startupSeconds.toFixed(2)} s`,
      ].join('\n'),
    );
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop();
  });

  const authed = { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' };

  test('llama-quantize wrote Q4_0 weights', () => {
    const header = readGgufHeader(q4.path);
    const matrices = header.tensors.filter((t) => t.dims.length === 2);
    const norms = header.tensors.filter((t) => t.dims.length === 1);
    // llama-quantize keeps the output matrix at a higher precision on
    // purpose (Q6_K, or Q8_0 when rows are too short for K-quants); every
    // other matrix takes the requested type. Norm vectors stay F32.
    const output = matrices.find((t) => t.name === 'output.weight');
    console.log(`output.weight quantized as ${output ? ggmlTypeName(output.type) : '(absent)'}`);
    const weights = matrices.filter((t) => t.name !== 'output.weight');
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.map((t) => [t.name, ggmlTypeName(t.type)])).toEqual(weights.map((t) => [t.name, 'Q4_0']));
    expect(output).toBeDefined();
    expect(output!.type).not.toBe(GgmlType.F32);
    expect(new Set(norms.map((t) => ggmlTypeName(t.type)))).toEqual(new Set(['F32']));
  });

  test('/health answers 200', async () => {
    const res = await fetch(`${server!.url}/health`);
    expect(res.status).toBe(200);
  });

  test('non-streamed chat completion returns content and usage', async () => {
    const res = await fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: authed,
      body: JSON.stringify(chatRequest(false)),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ChatCompletion;
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message.role).toBe('assistant');
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  test('streamed chat completion sends chat.completion.chunk events', async () => {
    const res = await fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      // llama-server closes the connection after a stream without saying so;
      // pooled, it would fail the next test's request (tools/bench/request.ts).
      headers: { ...authed, Connection: 'close' },
      body: JSON.stringify(chatRequest(true)),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const data = sseData(await res.text());
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as ChatCompletionChunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(new Set(chunks.map((c) => c.object))).toEqual(new Set(['chat.completion.chunk']));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    expect(chunks.some((c) => c.usage && c.usage.completion_tokens > 0)).toBe(true);
  });

  test('a wrong API key gets 401', async () => {
    const res = await fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: 'Bearer not-the-key', 'Content-Type': 'application/json' },
      body: JSON.stringify(chatRequest(false)),
    });
    expect(res.status).toBe(401);
  });

  test('a missing API key gets 401', async () => {
    const res = await fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(chatRequest(false)),
    });
    expect(res.status).toBe(401);
  });
});
