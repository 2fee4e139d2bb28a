/**
 * The canary handler end to end against a real llama-server (native build of
 * the pinned release, tiny generated Llama 3 model, API key enforced), plus
 * local stand-ins for the failures a load balancer can produce. SSM is
 * mocked; everything else, fetch and the SSE stream included, is real.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { format } from 'node:util';

import { CANARY_METRICS, ENDPOINT_DIMENSION } from '../../lib/monitoring/metric-definitions';
import { type CanaryResult, handler, resetApiKeyCache } from '../../runtime/canary/handler';
import { buildLlamaCpp, type LlamaCppBuild } from '../support/llama-cpp-build';
import { ensureLlamaCppSource } from '../support/llama-cpp-source';
import { type RunningLlamaServer, startLlamaServer } from '../support/llama-server';
import { ensureTinyModel, quantizedPath, quantizeModel } from '../support/tiny-model';

const SETUP_TIMEOUT_MS = 60 * 60 * 1000;
const PARAMETER = '/graviton-llm/canary-test/api-key';
const API_KEY = 'canary-test-key-0123456789abcdef';
const WRONG_KEY = 'canary-wrong-key-fedcba9876543210';
const TIMEOUT_MS = 20_000;

const ssmMock = mockClient(SSMClient);
const keyResponse = (value: string) => ({ Parameter: { Name: PARAMETER, Type: 'SecureString' as const, Value: value } });

let build: LlamaCppBuild;
let model: string;
let llama: RunningLlamaServer;
/** Answers by path prefix: /500, /garbage, /empty, /html, /stall. */
let fake: HttpServer;
let fakeUrl: string;
let lastFakeRequest: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string } | undefined;
/** Accepts connections and never answers. */
let silent: NetServer;
let silentUrl: string;
const silentSockets = new Set<Socket>();

let emf: Record<string, unknown>[];
let logged: string[];
const savedEnv = { ...process.env };

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/** Runs the handler, checking the invariants every invocation must keep. */
async function invoke(): Promise<CanaryResult> {
  const before = emf.length;
  const result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
  expect(emf.length).toBe(before + 1);
  const record = emf[emf.length - 1];
  expect(record[ENDPOINT_DIMENSION]).toBe('canary-test');
  expect(record[CANARY_METRICS.success.name]).toBe(result.ok ? 1 : 0);
  expect(record[CANARY_METRICS.failure.name]).toBe(result.ok ? 0 : 1);
  expect(record.reason).toBe(result.ok ? undefined : result.reason);
  return result;
}

const getParameterCalls = () => ssmMock.commandCalls(GetParameterCommand);

beforeAll(async () => {
  const source = await ensureLlamaCppSource();
  build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server', 'llama-quantize'] });
  const f32 = await ensureTinyModel({ source });
  model = (
    await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', {
      llamaQuantize: build.binaries['llama-quantize'],
    })
  ).path;
  llama = await startLlamaServer({
    binary: build.binaries['llama-server'],
    model,
    apiKey: API_KEY,
    parallel: 1,
    ctxSize: 2048,
    // One thread: with two on a busy two-core runner, llama.cpp's spinning
    // thread barriers stall whenever a thread is descheduled, and per-token
    // time jumps from ~2 ms to ~200 ms (observed while other jobs were running).
    threads: 1,
  });

  fake = createHttpServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => respond(req, res, Buffer.concat(body).toString('utf8')));
  });
  const respond = (req: IncomingMessage, res: ServerResponse, body: string) => {
    lastFakeRequest = { method: req.method, url: req.url, headers: req.headers, body };
    const route = req.url?.split('/')[1];
    if (route === '500') {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 500, message: 'simulated failure', type: 'server_error' } }));
    } else if (route === 'garbage') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end('data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: {not json\n\n');
    } else if (route === 'empty') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end('data: {"choices":[{"delta":{"role":"assistant"}}]}\n\ndata: [DONE]\n\n');
    } else if (route === 'stall') {
      // Headers and the role chunk, then silence: a wedged generation.
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n');
    } else if (route === 'html') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html><body>Welcome to nginx!</body></html>');
    } else {
      res.writeHead(404).end();
    }
  };
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;

  silent = createNetServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  ssmMock.restore();
  process.env = savedEnv;
  await llama?.stop();
  fake?.closeAllConnections();
  await new Promise((resolve) => (fake ? fake.close(resolve) : resolve(undefined)));
  for (const s of silentSockets) s.destroy();
  await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
});

beforeEach(() => {
  ssmMock.reset();
  ssmMock.on(GetParameterCommand).resolves(keyResponse(API_KEY));
  resetApiKeyCache();
  setEnv({
    AWS_REGION: 'us-east-1',
    ENDPOINT_URL: `${llama.url}/v1`,
    API_KEY_PARAMETER: PARAMETER,
    ENDPOINT_NAME: 'canary-test',
    TIMEOUT_MS: String(TIMEOUT_MS),
    MAX_TOKENS: '16',
    PROMPT: undefined,
  });

  emf = [];
  logged = [];
  const write = process.stdout.write.bind(process.stdout);
  jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('{"_aws"')) {
      // One record, one line: anything else would not be extracted.
      expect(text.endsWith('\n') && text.indexOf('\n') === text.length - 1).toBe(true);
      emf.push(JSON.parse(text) as Record<string, unknown>);
      logged.push(text);
      return true;
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  for (const method of ['warn', 'error', 'info', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(format(...args)));
  }
});

afterEach(() => {
  // Neither key may leak into any output, whatever the test did.
  for (const line of logged) {
    expect(line).not.toContain(API_KEY);
    expect(line).not.toContain(WRONG_KEY);
  }
  jest.restoreAllMocks();
});

describe('canary against a real llama-server', () => {
  test('reports a streamed answer with plausible TTFT, TPOT and token count', async () => {
    const result = await invoke();
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.ttftMs).toBeGreaterThan(0);
    expect(result.ttftMs).toBeLessThan(TIMEOUT_MS);
    expect(result.totalMs).toBeGreaterThanOrEqual(result.ttftMs);
    expect(result.totalMs).toBeLessThan(TIMEOUT_MS);
    expect(result.outputTokens).toBeGreaterThan(0);
    expect(result.outputTokens).toBeLessThanOrEqual(16);
    expect(result.tpotMs).toBeGreaterThan(0);
    expect(result.tpotMs!).toBeLessThan(result.totalMs);

    const record = emf[0];
    expect(record[CANARY_METRICS.timeToFirstToken.name]).toBe(result.ttftMs);
    expect(record[CANARY_METRICS.timePerOutputToken.name]).toBe(result.tpotMs);
    expect(record[CANARY_METRICS.totalTime.name]).toBe(result.totalMs);
    expect(record[CANARY_METRICS.outputTokens.name]).toBe(result.outputTokens);

    expect(getParameterCalls().map((c) => c.args[0].input)).toEqual([{ Name: PARAMETER, WithDecryption: true }]);
  });

  test('reuses the cached key on later invocations (and prints a warm measurement)', async () => {
    const runs: CanaryResult[] = [];
    for (let i = 0; i < 3; i++) runs.push(await invoke());
    expect(runs.every((r) => r.ok)).toBe(true);
    expect(getParameterCalls()).toHaveLength(1);
    const last = runs[runs.length - 1];
    if (last.ok) {
      // Shown in CI output: what the canary measures on this runner.
      console.log(
        `canary vs llama-server (tiny Llama 3 Q4_0, native build, 1 thread): ` +
          `TTFT ${last.ttftMs} ms, TPOT ${last.tpotMs} ms/token, total ${last.totalMs} ms, ${last.outputTokens} output tokens`,
      );
    }
  });

  test('a wrong key: HTTP 401, after reading the key exactly once more', async () => {
    ssmMock.on(GetParameterCommand).resolves(keyResponse(WRONG_KEY));
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'http_401' });
    expect(getParameterCalls()).toHaveLength(2);
    expect(getParameterCalls().every((c) => c.args[0].input.WithDecryption === true)).toBe(true);
    expect(logged.some((l) => /"reason":"http_401"/.test(l) && /HTTP 401/.test(l))).toBe(true);
  });

  test('a rotated key: the stale cached key gets a 401, the re-read key succeeds', async () => {
    // Cache the old key through an invocation that never reaches the real server.
    ssmMock.on(GetParameterCommand).resolves(keyResponse(WRONG_KEY));
    setEnv({ ENDPOINT_URL: `${fakeUrl}/500/v1` });
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'http_5xx' });
    expect(getParameterCalls()).toHaveLength(1);

    ssmMock.on(GetParameterCommand).resolves(keyResponse(API_KEY));
    setEnv({ ENDPOINT_URL: `${llama.url}/v1` });
    await expect(invoke()).resolves.toMatchObject({ ok: true });
    expect(getParameterCalls()).toHaveLength(2);
    // And the fresh key is what stays cached.
    await expect(invoke()).resolves.toMatchObject({ ok: true });
    expect(getParameterCalls()).toHaveLength(2);
  });

  test('a stopped server: connection refused is a network failure', async () => {
    const doomed = await startLlamaServer({ binary: build.binaries['llama-server'], model, apiKey: API_KEY, threads: 1, ctxSize: 512 });
    await doomed.stop();
    setEnv({ ENDPOINT_URL: `${doomed.url}/v1` });
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'network' });
    expect(logged.some((l) => l.includes('ECONNREFUSED'))).toBe(true);
  });

  test('a server answering 500 is http_5xx', async () => {
    setEnv({ ENDPOINT_URL: `${fakeUrl}/500/v1/`, PROMPT: 'Say hi.' });
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'http_5xx' });
    // The request the load balancer would have seen.
    expect(lastFakeRequest).toMatchObject({
      method: 'POST',
      url: '/500/v1/chat/completions',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', connection: 'close' },
    });
    expect(JSON.parse(lastFakeRequest!.body)).toEqual({
      messages: [{ role: 'user', content: 'Say hi.' }],
      max_tokens: 16,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(logged.some((l) => l.includes('simulated failure'))).toBe(true);
    // A 5xx is not a key problem: no second read.
    expect(getParameterCalls()).toHaveLength(1);
  });

  test('a server that never answers times out within TIMEOUT_MS', async () => {
    setEnv({ ENDPOINT_URL: `${silentUrl}/v1`, TIMEOUT_MS: '300' });
    const started = Date.now();
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'timeout' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(5000);
  });

  test('a stream that stalls after the headers times out too', async () => {
    setEnv({ ENDPOINT_URL: `${fakeUrl}/stall/v1`, TIMEOUT_MS: '300' });
    const started = Date.now();
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test.each([
    ['garbage', 'bad_stream'],
    ['html', 'bad_stream'],
    ['empty', 'empty'],
  ])('a 200 with a %s body is %s', async (route, reason) => {
    setEnv({ ENDPOINT_URL: `${fakeUrl}/${route}/v1` });
    await expect(invoke()).resolves.toEqual({ ok: false, reason });
  });

  test('an SSM error is reported as ssm, without a request', async () => {
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('User is not authorized to perform ssm:GetParameter'), { name: 'AccessDeniedException' }));
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'ssm' });
    expect(logged.some((l) => l.includes('AccessDeniedException'))).toBe(true);
  });

  test('a misconfigured function still publishes a failure', async () => {
    setEnv({ ENDPOINT_URL: undefined, MAX_TOKENS: 'lots' });
    await expect(invoke()).resolves.toEqual({ ok: false, reason: 'config' });
    expect(getParameterCalls()).toHaveLength(0);
    expect(logged.some((l) => l.includes('ENDPOINT_URL is not set') && l.includes('MAX_TOKENS'))).toBe(true);
  });
});
