/**
 * The TypeScript boot program end to end, in local mode, as one bundled file
 * run by Node: the environment file rendered as `npm run local` renders it
 * (lib/boot/local-boot.ts), the tests' tiny model fetched over HTTP from this
 * test, llama-server started behind the API key, /health and a completion
 * answered, then the server stopped.
 *
 * The boot compiles llama-server itself from the tests' llama.cpp source
 * (GRAVITON_LLM_CACHE, warm at /work/cache), with ccache where installed:
 * about a minute on a 2-core machine with a warm ccache; a cold one takes far
 * longer, hence the limit.
 *
 * What a boot did is asserted on its result (boot-result.json, parsed with
 * result.ts's schema). Then the bundle boots further scenarios (from the
 * cache the first boot filled; again on the same work directory; a CPU check
 * that fails; a model that does not verify), each in a work directory and a
 * copy of that cache of its own. (The bash boot of earlier versions booted
 * the same scenarios beside it, field by field the same results; both are
 * recorded in the assertions.)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

import { bundleBootProgram } from '../../lib/boot/boot-bundle';
import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { localBootEnvironment, stopLocalServer } from '../../lib/boot/local-boot';
import { parseLocalBootArgs } from '../../lib/boot/local-boot-options';
import type { BootEnvironment } from '../../runtime/boot/contract';
import { BOOT_RESULT_PATHS, type BootResult, parseBootResult } from '../../runtime/boot/result';
import { cacheRoot, ensureLlamaCppSource, type LlamaCppSource } from '../support/llama-cpp-source';
import { ensureTinyModel } from '../support/tiny-model';
import { freePort } from '../support/llama-server';

jest.setTimeout(60 * 60 * 1000);

const API_KEY = 'boot-program-test-key-0123456789';

let tmp: string;
let workDir: string;
let cacheDir: string;
let keyFile: string;
let bundle: string;
let modelUrl: string;
let modelSha: string;
let modelBytes: number;
let source: LlamaCppSource;
let modelHost: http.Server;
let port: number;
let run: BootRun;
/** Work directories whose servers are stopped at the end. */
const workDirs: string[] = [];

interface BootRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly log: string;
  /** The boot's result: every boot must leave one the schema takes. */
  readonly result: BootResult;
}

/** The environment file for a local boot in `work`, rendered as `npm run local` renders it, with `edit` applied. */
function envFile(work: string, cache: string, bootPort: number, edit: Partial<BootEnvironment> = {}): string {
  const parsed = parseLocalBootArgs([
    '--work-dir', work, '--cache-dir', cache, '--llama-src', source.dir, '--llama-ref', source.tag,
    '--api-key-file', keyFile, '--model-url', modelUrl, '--model-file', 'tiny-f32.gguf',
    '--sha256', modelSha, '--size-bytes', String(modelBytes),
    '--port', String(bootPort), '--slots', '2', '--ctx-per-slot', '1024', '--health-timeout', '120',
  ]);
  if (!('options' in parsed)) throw new Error(`local boot options: ${JSON.stringify(parsed)}`);
  mkdirSync(work, { recursive: true });
  const file = path.join(work, 'boot.env');
  writeFileSync(file, renderBootEnvironment({ ...localBootEnvironment(parsed.options, keyFile), ...edit }), { mode: 0o600 });
  return file;
}

/** Runs `program args` to its end, then reads the boot's log and result in `work`. */
async function runBoot(program: string, args: readonly string[], work: string): Promise<BootRun> {
  if (!workDirs.includes(work)) workDirs.push(work);
  const child = spawn(program, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  const logFile = path.join(work, 'logs', 'boot.log');
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  const resultFile = BOOT_RESULT_PATHS.local(work);
  if (!existsSync(resultFile)) throw new Error(`${program} ${args.join(' ')} left no result (exit ${code}):\n${stdout}\n${stderr}`);
  return { code, stdout, stderr, log, result: parseBootResult(readFileSync(resultFile, 'utf8')) };
}

/** The bundled TypeScript boot, run by Node from a directory without node_modules, as on an instance. */
const bundleBoot = (env: string, work: string) => runBoot(process.execPath, [bundle, env], work);

beforeAll(async () => {
  source = await ensureLlamaCppSource();
  const model = await ensureTinyModel({ source });
  modelBytes = statSync(model.path).size;
  modelSha = createHash('sha256').update(readFileSync(model.path)).digest('hex');

  mkdirSync(cacheRoot(), { recursive: true });
  tmp = mkdtempSync(path.join(cacheRoot(), 'boot-program-test-'));
  workDir = path.join(tmp, 'work');
  cacheDir = path.join(tmp, 'cache');
  keyFile = path.join(tmp, 'api-key');
  writeFileSync(keyFile, `${API_KEY}\n`, { mode: 0o600 });

  modelHost = http.createServer((req, res) => {
    if (req.url !== '/tiny.gguf') return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': modelBytes });
    createReadStream(model.path).pipe(res);
  });
  await new Promise<void>((resolve) => modelHost.listen(0, '127.0.0.1', resolve));
  modelUrl = `http://127.0.0.1:${(modelHost.address() as net.AddressInfo).port}/tiny.gguf`;

  port = await freePort();
  const env = envFile(workDir, cacheDir, port);
  bundle = path.join(tmp, 'boot.js');
  bundleBootProgram(bundle);
  run = await bundleBoot(env, workDir);
});

afterAll(async () => {
  for (const dir of workDirs) stopLocalServer(dir);
  if (modelHost) await new Promise<void>((resolve) => modelHost.close(() => resolve()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the bundled boot builds llama-server, fetches and verifies the model, caches both, and serves it', () => {
  if (run.code !== 0) console.log(`${run.stdout}\n${run.stderr}`);
  expect(run.code).toBe(0);
  expect(run.stdout.trimEnd().split('\n').pop()).toBe('GLLM_BOOT_RESULT=SUCCESS');
  const { result } = run;
  expect(result.phases.map((p) => [p.name, p.outcome])).toEqual(
    ['config', 'deps', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health'].map((n) => [n, 'ok']),
  );
  expect(result).toMatchObject({
    mode: 'local', failure: null, report: null,
    build: { from: 'compile', cacheVersion: null, discarded: [] },
    model: { source: 'download', quantized: null },
  });
  expect(result.cacheWrites).toEqual([
    { object: `builds/${result.build!.key}.tar.gz`, outcome: 'written' },
    { object: `models/${modelSha}.gguf`, outcome: 'written' },
  ]);
  // A person's line, not the result's: the log still says how the boot went.
  expect(run.log).toMatch(/boot succeeded in [\d.]+ s; serving tiny-f32.gguf/);
  expect(run.stdout).not.toContain(API_KEY);
  expect(run.log).not.toContain(API_KEY);
  expect(statSync(path.join(workDir, 'secrets', 'api-key')).mode & 0o777).toBe(0o600);
  expect(statSync(BOOT_RESULT_PATHS.local(workDir)).mode & 0o777).toBe(0o600);
});

test('/health answers 200 without a key', async () => {
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
});

test('a completion with the API key returns tokens; without it, 401', async () => {
  const body = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8, temperature: 0 });
  const headers = { 'Content-Type': 'application/json' };
  const denied = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers, body });
  expect(denied.status).toBe(401);
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { ...headers, Authorization: `Bearer ${API_KEY}` }, body });
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { usage: { completion_tokens: number } };
  expect(answer.usage.completion_tokens).toBeGreaterThan(0);
});

const portClosed = () => new Promise<boolean>((resolve) => {
  const socket = net.connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(false); });
  socket.once('error', () => resolve(true));
});

test('npm run local --stop stops the server the TypeScript boot started (its pid file, its llama-server)', async () => {
  expect(stopLocalServer(workDir)).toBe(true);
  // SIGTERM: the server finishes what it is doing first.
  let closed = false;
  for (let i = 0; i < 100 && !closed; i++) {
    closed = await portClosed();
    if (!closed) await new Promise((r) => setTimeout(r, 100));
  }
  expect(closed).toBe(true);
});

describe('the bundle in further scenarios', () => {
  /** A work directory and a copy of the first boot's cache, so that no scenario sees what another wrote. */
  function scenario(name: string): { work: string; cache: string } {
    const cache = path.join(tmp, `${name}-cache`);
    cpSync(cacheDir, cache, { recursive: true });
    return { work: path.join(tmp, name), cache };
  }

  async function boot(s: ReturnType<typeof scenario>, edits: Partial<BootEnvironment> = {}): Promise<BootRun> {
    const r = await bundleBoot(envFile(s.work, s.cache, await freePort(), { GLLM_BOOT_DEADLINE_SECONDS: '3600', ...edits }), s.work);
    // Local mode's deadline counts from the boot's own start (3600 s here); the phases follow one another.
    expect(r.result.deadlineAtMs! - r.result.startedAtMs).toBeGreaterThanOrEqual(3600_000);
    expect(r.result.deadlineAtMs! - r.result.startedAtMs).toBeLessThan(3600_000 + 5_000);
    expect(r.result.phases.every((p, i) => p.startedAtMs <= p.endedAtMs && (i === 0 || r.result.phases[i - 1].endedAtMs <= p.startedAtMs))).toBe(true);
    expect(r.result).toMatchObject({ mode: 'local', report: null });
    return r;
  }

  let warmDirs: ReturnType<typeof scenario>;

  test('from the cache the first boot filled: the build and the model from the cache, nothing written, serving', async () => {
    warmDirs = scenario('warm');
    const r = await boot(warmDirs);
    expect(r.code).toBe(0);
    expect(r.result.phases.map((p) => `${p.name} ${p.outcome}`)).toEqual(['config', 'deps', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health'].map((p) => `${p} ok`));
    expect(r.result).toMatchObject({
      failure: null, build: { key: run.result.build!.key, from: 'cache', cacheVersion: { id: 'local', position: 1, of: 1 }, discarded: [] },
      model: { source: 'cache', quantized: null }, cacheWrites: [],
    });
  });

  test('again on the same work directories: the installed build and the verified model', async () => {
    const r = await boot(warmDirs);
    expect(r.code).toBe(0);
    expect(r.result).toMatchObject({ failure: null, build: { from: 'installed', cacheVersion: null }, model: { source: 'installed', quantized: null }, cacheWrites: [] });
  });

  test('a CPU check that fails: config and deps ok, cpu failed naming what the CPU lacks, nothing after it', async () => {
    const cpuinfo = path.join(tmp, 'cpuinfo-nothing');
    writeFileSync(cpuinfo, 'processor\t: 0\n');
    const r = await boot(scenario('cpu'), { GLLM_CPUINFO_PATH: cpuinfo });
    expect(r.code).toBe(1);
    expect(r.result.phases.map((p) => [p.name, p.outcome])).toEqual([['config', 'ok'], ['deps', 'ok'], ['cpu', 'failed']]);
    // A CPU that is neither the configured Graviton (no CPU part) nor ggml's x86 baseline (no flags).
    expect(r.result.failure).toEqual({ phase: 'cpu', reason: expect.stringMatching(/^(this x86_64 CPU lacks sse4_2|no 'CPU part' line in )/) });
    expect(r.result).toMatchObject({ build: null, model: null, cacheWrites: [] });
  });

  test('a model that does not verify: downloaded (the cache has no such model), failed in model, nothing cached', async () => {
    const wrong = 'b'.repeat(64);
    const r = await boot(scenario('bad-model'), { GLLM_MODEL_SHA256: wrong });
    expect(r.code).toBe(1);
    expect(r.result).toMatchObject({
      failure: { phase: 'model', reason: `model from ${modelUrl}: sha256 mismatch: expected ${wrong}, got ${modelSha}` },
      build: { from: 'cache' }, model: { source: 'download', quantized: null }, cacheWrites: [],
    });
  });
});
