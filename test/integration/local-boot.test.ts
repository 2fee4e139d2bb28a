/**
 * `npm run local` end to end: lib/boot/local-boot.ts running the boot
 * program's bundle in local mode, with real processes: a model served over
 * HTTP from this test, llama.cpp built by the boot itself (with ccache),
 * llama-server started by it behind an API key.
 *
 * Order matters and jest keeps it: the cold boot fills the cache that the warm
 * boot and the failure cases then reuse, so only the first compiles.
 *
 * What a boot did is asserted on its result (boot-result.json, parsed with its
 * schema), on the files it left and on the server's answers; the boot log only
 * where a test is about what it tells a person.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { stopLocalServer } from '../../lib/boot/local-boot';
import { BOOT_RESULT_PATHS, BootResult, parseBootResult } from '../../runtime/boot/result';
import { buildLlamaCpp } from '../support/llama-cpp-build';
import { cacheRoot, ensureLlamaCppSource, LlamaCppSource } from '../support/llama-cpp-source';
import { ensureTinyModel, GeneratedFile, quantizedPath, quantizeModel } from '../support/tiny-model';
import { freePort } from '../support/llama-server';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const LOCAL_BOOT = path.join(ROOT, 'lib', 'boot', 'local-boot.ts');
const API_KEY = 'local-boot-test-key-0123456789';
// A cold boot compiles llama-server on however few cores the machine has.
const BUILD_TIMEOUT_MS = 60 * 60 * 1000;
const BOOT_TIMEOUT_MS = 5 * 60 * 1000;

interface ModelFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

interface BootRun {
  readonly code: number;
  readonly output: string;
  readonly lastLine: string;
  readonly log: string;
  /** The boot's result; every run must leave a valid one. */
  readonly result: BootResult;
  readonly seconds: number;
  readonly workDir: string;
  readonly port: number;
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A build tarball as the boot packs one: manifest.txt and bin/llama-server (here a script). */
function tarWith(manifest: string, llamaServer: string): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-tar-'));
  try {
    mkdirSync(path.join(dir, 'bin'));
    writeFileSync(path.join(dir, 'manifest.txt'), `${manifest}\n`);
    writeFileSync(path.join(dir, 'bin', 'llama-server'), llamaServer, { mode: 0o755 });
    const r = spawnSync('tar', ['-czf', '-', '-C', dir, '.'], { maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/**
 * Serves the test models the way a download host would: `/model.gguf` with
 * Range support (curl resumes with it); `/truncated.gguf` promises the whole
 * file but closes the connection halfway, every time.
 */
class ModelHost {
  readonly requests: string[] = [];
  /** Each request's Range header, in order ('' for none). */
  readonly ranges: string[] = [];
  private server?: http.Server;
  port = 0;

  constructor(private readonly files: Record<string, ModelFile>) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.port}/${name}`;
  }

  count(name: string): number {
    return this.requests.filter((r) => r === `/${name}`).length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const name = (req.url ?? '').split('?')[0];
    this.requests.push(name);
    this.ranges.push(req.headers.range ?? '');
    if (name === '/truncated.gguf') {
      const file = this.files['model.gguf'];
      res.writeHead(200, { 'Content-Length': file.bytes, 'Content-Type': 'application/octet-stream' });
      const half = createReadStream(file.path, { start: 0, end: Math.floor(file.bytes / 2) - 1 });
      half.pipe(res, { end: false });
      half.on('end', () => res.destroy());
      return;
    }
    const file = this.files[name.slice(1)];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= file.bytes) {
      res.writeHead(416, { 'Content-Range': `bytes */${file.bytes}` }).end();
      return;
    }
    res.writeHead(range ? 206 : 200, {
      'Content-Length': file.bytes - start,
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${file.bytes - 1}/${file.bytes}` } : {}),
    });
    createReadStream(file.path, { start }).pipe(res);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('npm run local: the boot program in local mode', () => {
  let source: LlamaCppSource;
  let q4: GeneratedFile;
  let model: ModelFile;
  let f32Model: ModelFile;
  let host: ModelHost;
  let tmp: string;
  let cacheDir: string;
  let keyFile: string;
  const workDirs: string[] = [];
  let cold: BootRun;
  let warm: BootRun;

  /** Runs `npx tsx lib/boot/local-boot.ts` with a fresh work dir (or the given one) and the shared cache. */
  async function boot(
    name: string,
    opts: {
      modelUrl?: string;
      sha256?: string;
      sizeBytes?: number;
      quantizeTo?: string;
      workDir?: string;
      port?: number;
      cacheDir?: string;
    } = {},
  ): Promise<BootRun> {
    const workDir = opts.workDir ?? path.join(tmp, name);
    if (!workDirs.includes(workDir)) workDirs.push(workDir);
    const port = opts.port ?? (await freePort());
    const args = [
      LOCAL_BOOT,
      '--work-dir', workDir,
      '--cache-dir', opts.cacheDir ?? cacheDir,
      '--llama-src', source.dir,
      '--llama-ref', source.tag,
      '--api-key-file', keyFile,
      '--model-url', opts.modelUrl ?? host.url('model.gguf'),
      '--model-file', 'tiny-q4_0.gguf',
      '--sha256', opts.sha256 ?? model.sha256,
      '--size-bytes', String(opts.sizeBytes ?? model.bytes),
      ...(opts.quantizeTo ? ['--quantize-to', opts.quantizeTo] : []),
      '--port', String(port),
      '--slots', '2',
      '--ctx-per-slot', '1024',
      '--health-timeout', '60',
    ];
    const started = Date.now();
    const child = spawn(TSX, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    const seconds = (Date.now() - started) / 1000;
    const logFile = path.join(workDir, 'logs', 'boot.log');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const lines = output.trimEnd().split('\n');
    const result = parseBootResult(readFileSync(BOOT_RESULT_PATHS.local(workDir), 'utf8'));
    return { code, output, lastLine: lines[lines.length - 1], log, result, seconds, workDir, port };
  }

  const chatRequest = (stream: boolean) => ({
    model: 'tiny',
    messages: [{ role: 'user', content: 'Say hello.' }],
    max_tokens: 8,
    temperature: 0,
    stream,
  });

  function chat(port: number, stream: boolean, key: string | undefined): Promise<Response> {
    return fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        // llama-server closes the connection after a stream without saying so;
        // pooled, it would fail the next test's request (tools/bench/request.ts).
        ...(stream ? { Connection: 'close' } : {}),
      },
      body: JSON.stringify(chatRequest(stream)),
    });
  }

  function cacheFiles(root = cacheDir): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      if (!existsSync(d)) return;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(path.relative(root, p));
      }
    };
    walk(root);
    return out.sort();
  }

  /**
   * A cache holding the cold boot's build but no model: a failure case must
   * reach the download (the shared cache would answer it), and should not
   * compile again.
   */
  function buildOnlyCache(name: string): string {
    const dir = path.join(tmp, `${name}-cache`);
    cpSync(path.join(cacheDir, 'builds'), path.join(dir, 'builds'), { recursive: true });
    return dir;
  }

  /** Nothing half-written anywhere, and no model in the cache or in place. */
  function expectNoPartialModel(run: BootRun, cache: string): void {
    const modelDir = path.join(run.workDir, 'models');
    expect(existsSync(modelDir) ? readdirSync(modelDir) : []).toEqual([]);
    expect(cacheFiles(cache).filter((f) => !f.startsWith('builds/'))).toEqual([]);
    expect(cacheFiles(cache).filter((f) => f.startsWith('builds/'))).toHaveLength(1);
    expect(run.result.build?.from).toBe('cache');
    expect(run.result.cacheWrites).toEqual([]);
  }

  /** How long a phase of a boot took, in seconds, for the console. */
  const phaseSeconds = (run: BootRun, name: string) => {
    const p = run.result.phases.find((x) => x.name === name);
    return p ? ((p.endedAtMs - p.startedAtMs) / 1000).toFixed(1) : '?';
  };

  beforeAll(async () => {
    source = await ensureLlamaCppSource();
    const f32 = await ensureTinyModel({ source });
    // The fixtures' own build makes the Q4_0 model; the boot builds its own llama-server.
    const tools = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-quantize'] });
    q4 = await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', {
      llamaQuantize: tools.binaries['llama-quantize'],
    });
    model = { path: q4.path, bytes: statSync(q4.path).size, sha256: sha256File(q4.path) };
    f32Model = { path: f32.path, bytes: statSync(f32.path).size, sha256: sha256File(f32.path) };
    host = new ModelHost({ 'model.gguf': model, 'f32.gguf': f32Model });
    await host.start();
    mkdirSync(cacheRoot(), { recursive: true });
    tmp = mkdtempSync(path.join(cacheRoot(), 'local-boot-test-'));
    cacheDir = path.join(tmp, 'cache');
    keyFile = path.join(tmp, 'api-key');
    writeFileSync(keyFile, `${API_KEY}\n`, { mode: 0o600 });
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    for (const dir of workDirs) stopLocalServer(dir);
    await host?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('a cold boot builds llama.cpp, fetches and verifies the model and serves it', async () => {
    cold = await boot('cold');
    console.log(`cold boot: ${cold.seconds.toFixed(1)} s (build phase, the compile in it: ${phaseSeconds(cold, 'build')} s)`);
    expect({ code: cold.code, failure: cold.result.failure }).toEqual({ code: 0, failure: null });
    // The caller's last line says so too.
    expect(cold.lastLine).toBe('GLLM_BOOT_RESULT=SUCCESS');
    expect(cold.result.phases.map((p) => `${p.name} ${p.outcome}`))
      .toEqual(['config', 'deps', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health'].map((p) => `${p} ok`));
    expect(cold.result.build).toMatchObject({ from: 'compile', discarded: [] });
    expect(cold.result.model).toEqual({ source: 'download', quantized: null });
    // The file in place is the one the configuration names.
    expect(sha256File(path.join(cold.workDir, 'models', 'tiny-q4_0.gguf'))).toBe(model.sha256);
    expect(cold.result.cacheWrites).toEqual([
      { object: `builds/${cold.result.build!.key}.tar.gz`, outcome: 'written' },
      { object: `models/${model.sha256}.gguf`, outcome: 'written' },
    ]);
    // A person reading the log sees every step's duration.
    for (const step of ['deps', 'cpu', 'build', 'model', 'api-key', 'serve', 'health']) {
      expect(cold.log).toMatch(new RegExp(`\\[${step}\\] done in [\\d.]+ s`));
    }
    expect(cold.log).not.toContain(API_KEY);
    expect(cold.output).not.toContain(API_KEY);
    expect(cacheFiles()).toEqual(expect.arrayContaining([`models/${model.sha256}.gguf`]));
    expect(cacheFiles().filter((f) => f.startsWith('builds/'))).toHaveLength(1);
    expect(statSync(path.join(cold.workDir, 'secrets', 'api-key')).mode & 0o777).toBe(0o600);
  }, BUILD_TIMEOUT_MS);

  test('/health answers 200 without a key', async () => {
    const res = await fetch(`http://127.0.0.1:${cold.port}/health`);
    expect(res.status).toBe(200);
  });

  test('a non-streamed chat completion with the key returns tokens', async () => {
    const res = await chat(cold.port, false, API_KEY);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
  });

  test('a streamed chat completion with the key sends chunks', async () => {
    const res = await chat(cold.port, true, API_KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const data = (await res.text())
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim());
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { object: string; choices: { delta: { content?: string } }[] });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('').length).toBeGreaterThan(0);
  });

  test('a missing or wrong key gets 401', async () => {
    expect((await chat(cold.port, false, undefined)).status).toBe(401);
    expect((await chat(cold.port, false, 'not-the-key')).status).toBe(401);
  });

  test('an idle connection stays open past cpp-httplib\'s 5 s default, for the load balancer to reuse', async () => {
    // One raw connection: two requests 7 s apart. With the stock keep-alive
    // the server closes it after 5 s idle, and the second request is lost.
    const socket = net.connect(cold.port, '127.0.0.1');
    let received = '';
    let closedAfterMs: number | undefined;
    const opened = Date.now();
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    socket.on('close', () => (closedAfterMs = Date.now() - opened));
    socket.on('error', () => undefined);
    const answers = () => (received.match(/HTTP\/1\.1 200 /g) ?? []).length;
    const ask = () => socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 100 && !done() && closedAfterMs === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    };
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    ask();
    await until(() => answers() === 1);
    expect(answers()).toBe(1);
    await new Promise((r) => setTimeout(r, 7000));
    expect(closedAfterMs).toBeUndefined();
    ask();
    await until(() => answers() === 2);
    socket.destroy();
    expect(answers()).toBe(2);
  }, 30_000);

  test('/health answers within the target group\'s 5 s timeout while four times the slots stream', async () => {
    // node:http without an agent: a connection per request, as each client and
    // the load balancer's health checker have (fetch would pool them).
    const request = (pathName: string, opts: { body?: string; timeoutMs?: number; signal?: AbortSignal } = {}) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        const req = http.request(`http://127.0.0.1:${cold.port}${pathName}`, {
          method: opts.body ? 'POST' : 'GET', agent: false, timeout: opts.timeoutMs, signal: opts.signal,
          headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
        }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve({ status: 0, body: '' }));
        req.end(opts.body);
      });
    const metric = (text: string, name: string) => Number(new RegExp(`^llamacpp:${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    const slots = 2;
    const load = new AbortController();
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: 900, ignore_eos: true, stream: true });
    const streams = Array.from({ length: 4 * slots }, () => request('/v1/chat/completions', { body, signal: load.signal }));
    try {
      let admitted = 0;
      for (let i = 0; i < 100 && admitted < 4 * slots; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const m = (await request('/metrics', { timeoutMs: 5000 })).body;
        admitted = metric(m, 'requests_processing') + metric(m, 'requests_deferred');
      }
      expect(admitted).toBe(4 * slots);
      const probes: number[] = [];
      for (let i = 0; i < 3; i++) probes.push((await request('/health', { timeoutMs: 5000 })).status);
      const busy = metric((await request('/metrics', { timeoutMs: 5000 })).body, 'requests_processing');
      console.log(`/health under ${4 * slots} streams on ${slots} slots: ${probes.join(', ')}; ${busy} slots still generating`);
      // The load must still be running, or the probes measured an idle server.
      expect(busy).toBe(slots);
      expect(probes).toEqual([200, 200, 200]);
    } finally {
      load.abort();
      await Promise.all(streams);
    }
  }, 120_000);

  test('a warm boot on a fresh machine takes the build and the model from the cache, compiling nothing', async () => {
    const downloads = host.count('model.gguf');
    warm = await boot('warm');
    console.log(`cold boot: ${cold.seconds.toFixed(1)} s; warm boot: ${warm.seconds.toFixed(1)} s`);
    expect(warm.result).toMatchObject({
      failure: null, build: { key: cold.result.build!.key, from: 'cache' }, model: { source: 'cache', quantized: null }, cacheWrites: [],
    });
    expect(existsSync(path.join(warm.workDir, 'logs', 'build.log'))).toBe(false);
    expect(host.count('model.gguf')).toBe(downloads);
    expect((await chat(warm.port, false, API_KEY)).status).toBe(200);
  }, BOOT_TIMEOUT_MS);

  test('re-running on a booted machine reuses everything and restarts the server', async () => {
    const pidFile = path.join(warm.workDir, 'state', 'llama-server.pid');
    const before = readFileSync(pidFile, 'utf8').trim();
    const again = await boot('warm', { workDir: warm.workDir, port: warm.port });
    console.log(`re-run on a booted machine: ${again.seconds.toFixed(1)} s`);
    expect(again.result).toMatchObject({ failure: null, build: { from: 'installed' }, model: { source: 'installed', quantized: null }, cacheWrites: [] });
    // The server it started before is gone (a zombie's command line is empty), and another serves.
    const commandLine = (pid: string) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    expect(commandLine(before)).not.toContain('llama-server');
    expect(readFileSync(pidFile, 'utf8').trim()).not.toBe(before);
    expect((await chat(warm.port, false, API_KEY)).status).toBe(200);
  }, BOOT_TIMEOUT_MS);

  test.each([
    ['not a tar.gz', () => Buffer.from('truncated upload'), /not a readable tar\.gz/],
    // A well-formed tarball whose llama-server cannot run (a damaged or foreign binary).
    ['a build whose llama-server does not run', (material: string) => tarWith(material, '#!/bin/sh\nexit 127\n'), /its llama-server --version exits 127/],
  ])('a cached build that is %s is discarded, rebuilt and replaced in the cache', async (name, content, why) => {
    const cache = buildOnlyCache(`bad-build-${name.replace(/\W+/g, '-')}`);
    const [entry] = cacheFiles(cache);
    const manifest = readFileSync(path.join(warm.workDir, 'llama.cpp', entry.slice('builds/'.length, -'.tar.gz'.length), 'manifest.txt'), 'utf8');
    writeFileSync(path.join(cache, entry), content(manifest.trimEnd()));
    const run = await boot(`bad-build-${name.replace(/\W+/g, '-')}`, { cacheDir: cache });
    expect(run.result.failure).toBeNull();
    expect(run.result.build).toMatchObject({ from: 'compile', discarded: [{ version: 'local', problem: expect.stringMatching(why) }] });
    expect(run.result.cacheWrites).toEqual(expect.arrayContaining([{ object: entry, outcome: 'written' }]));
    // The replacement is a build the next boot takes without compiling.
    const next = await boot(`bad-build-${name.replace(/\W+/g, '-')}-next`, { cacheDir: cache });
    expect(next.result).toMatchObject({ failure: null, build: { from: 'cache', discarded: [] } });
    expect(`builds/${next.result.build!.key}.tar.gz`).toBe(entry);
  }, BUILD_TIMEOUT_MS);

  test('a wrong sha256 fails, names expected and actual, serves nothing and caches nothing', async () => {
    const wrong = 'f'.repeat(64);
    const cache = buildOnlyCache('wrong-sha');
    const run = await boot('wrong-sha', { sha256: wrong, cacheDir: cache });
    console.log(`${run.workDir.split('/').pop()}: ${run.lastLine}`);
    expect(run.code).toBe(1);
    expect(run.result.failure).toEqual({ phase: 'model', reason: `model from ${host.url('model.gguf')}: sha256 mismatch: expected ${wrong}, got ${model.sha256}` });
    // The caller's last line carries the same reason.
    expect(run.lastLine).toBe(`GLLM_BOOT_RESULT=FAILURE reason=${run.result.failure!.reason}`);
    expect(await portIsClosed(run.port)).toBe(true);
    expectNoPartialModel(run, cache);
  }, BOOT_TIMEOUT_MS);

  test('an unreachable source fails after its retries and serves nothing', async () => {
    const deadPort = await freePort();
    const cache = buildOnlyCache('unreachable');
    const run = await boot('unreachable', { modelUrl: `http://127.0.0.1:${deadPort}/model.gguf`, cacheDir: cache });
    console.log(`${run.workDir.split('/').pop()}: ${run.lastLine}`);
    expect(run.code).toBe(1);
    expect(run.result.failure).toEqual({
      // The boot downloads with Node's own http (no curl): the reason quotes the connection's error.
      phase: 'model', reason: expect.stringMatching(/^model download from http:\/\/127\.0\.0\.1:\d+\/model\.gguf failed after 4 attempts \(last error: connect ECONNREFUSED 127\.0\.0\.1:\d+\); got 0 of \d+ bytes$/),
    });
    expect(await portIsClosed(run.port)).toBe(true);
    expectNoPartialModel(run, cache);
  }, BOOT_TIMEOUT_MS);

  test('a download the server cuts short fails, leaves no partial file and serves nothing', async () => {
    const cache = buildOnlyCache('truncated');
    const first = host.requests.length;
    const run = await boot('truncated', { modelUrl: host.url('truncated.gguf'), cacheDir: cache });
    console.log(`${run.workDir.split('/').pop()}: ${run.lastLine}`);
    expect(run.code).toBe(1);
    expect(run.result.failure).toEqual({ phase: 'model', reason: expect.stringMatching(/^model download from .*truncated\.gguf failed after 4 attempts/) });
    expect(run.result.failure!.reason).toMatch(new RegExp(`got \\d+ of ${model.bytes} bytes`));
    // Each try after the first resumes where the last one stopped: a Range from the bytes it has.
    const ranges = host.ranges.slice(first).filter((_, i) => host.requests[first + i] === '/truncated.gguf');
    expect(ranges).toHaveLength(4);
    expect(ranges.slice(1).every((r) => /^bytes=[1-9]\d*-$/.test(r))).toBe(true);
    expect(await portIsClosed(run.port)).toBe(true);
    expectNoPartialModel(run, cache);
  }, BOOT_TIMEOUT_MS);

  test('on-instance quantization: an F32 source is quantized, served, and the result cached', async () => {
    const opts = { modelUrl: host.url('f32.gguf'), sha256: f32Model.sha256, sizeBytes: f32Model.bytes, quantizeTo: 'Q4_0' };
    const run = await boot('quantize', opts);
    console.log(`quantizing boot: ${run.seconds.toFixed(1)} s (build phase, compiling llama-quantize too: ${phaseSeconds(run, 'build')} s; model phase ${phaseSeconds(run, 'model')} s)`);
    expect(run.result).toMatchObject({ failure: null, build: { from: 'compile' }, model: { source: 'download', quantized: 'quantize' } });
    expect((await chat(run.port, false, API_KEY)).status).toBe(200);
    // Named by the llama.cpp release that quantized it, its SHA-256 beside it.
    const quantized = cacheFiles().find((f) => f.startsWith(`quantized/${f32Model.sha256}-Q4_0-llama.cpp-`) && f.endsWith('.gguf'))!;
    expect(cacheFiles()).toEqual(expect.arrayContaining([`models/${f32Model.sha256}.gguf`, quantized, `${quantized}.sha256`]));
    // The served file is the quantized one; the F32 source is not kept beside it.
    expect(readdirSync(path.join(run.workDir, 'models')).sort()).toEqual(['tiny-q4_0.gguf', 'tiny-q4_0.gguf.verified']);

    const downloads = host.count('f32.gguf');
    const again = await boot('quantize-warm', opts);
    console.log(`quantizing boot, warm: ${again.seconds.toFixed(1)} s`);
    expect(again.result).toMatchObject({ failure: null, build: { from: 'cache' }, model: { source: null, quantized: 'cache' }, cacheWrites: [] });
    expect(host.count('f32.gguf')).toBe(downloads);
  }, BUILD_TIMEOUT_MS);
});
