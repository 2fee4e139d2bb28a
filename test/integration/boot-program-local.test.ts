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
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

import { bundleBootProgram } from '../../lib/boot/boot-bundle';
import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { localBootEnvironment, stopLocalServer } from '../../lib/boot/local-boot';
import { parseLocalBootArgs } from '../../lib/boot/local-boot-options';
import { cacheRoot, ensureLlamaCppSource, type LlamaCppSource } from '../support/llama-cpp-source';
import { ensureTinyModel } from '../support/tiny-model';
import { freePort } from '../support/llama-server';

jest.setTimeout(60 * 60 * 1000);

const API_KEY = 'boot-program-test-key-0123456789';


let tmp: string;
let workDir: string;
let source: LlamaCppSource;
let modelHost: http.Server;
let port: number;
let run: { code: number; stdout: string; stderr: string; log: string };

beforeAll(async () => {
  source = await ensureLlamaCppSource();
  const model = await ensureTinyModel({ source });
  const modelBytes = statSync(model.path).size;
  const modelSha = createHash('sha256').update(readFileSync(model.path)).digest('hex');

  mkdirSync(cacheRoot(), { recursive: true });
  tmp = mkdtempSync(path.join(cacheRoot(), 'boot-program-test-'));
  workDir = path.join(tmp, 'work');
  const cacheDir = path.join(tmp, 'cache');
  const keyFile = path.join(tmp, 'api-key');
  writeFileSync(keyFile, `${API_KEY}\n`, { mode: 0o600 });

  modelHost = http.createServer((req, res) => {
    if (req.url !== '/tiny.gguf') return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': modelBytes });
    createReadStream(model.path).pipe(res);
  });
  await new Promise<void>((resolve) => modelHost.listen(0, '127.0.0.1', resolve));
  const modelUrl = `http://127.0.0.1:${(modelHost.address() as net.AddressInfo).port}/tiny.gguf`;

  port = await freePort();
  const parsed = parseLocalBootArgs([
    '--work-dir', workDir, '--cache-dir', cacheDir, '--llama-src', source.dir, '--llama-ref', source.tag,
    '--api-key-file', keyFile, '--model-url', modelUrl, '--model-file', 'tiny-f32.gguf',
    '--sha256', modelSha, '--size-bytes', String(modelBytes),
    '--port', String(port), '--slots', '2', '--ctx-per-slot', '1024', '--health-timeout', '120',
  ]);
  if (!('options' in parsed)) throw new Error(`local boot options: ${JSON.stringify(parsed)}`);
  mkdirSync(workDir, { recursive: true });
  const envFile = path.join(workDir, 'boot.env');
  writeFileSync(envFile, renderBootEnvironment(localBootEnvironment(parsed.options, keyFile)), { mode: 0o600 });

  const bundle = path.join(tmp, 'boot.js');
  bundleBootProgram(bundle);
  // The bundle runs from a directory without node_modules, as on an instance.
  const child = spawn(process.execPath, [bundle, envFile], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  const logFile = path.join(workDir, 'logs', 'boot.log');
  run = { code, stdout, stderr, log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '' };
});

afterAll(async () => {
  if (workDir) stopLocalServer(workDir);
  if (modelHost) await new Promise<void>((resolve) => modelHost.close(() => resolve()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the bundled boot builds llama-server, fetches and verifies the model, caches both, and serves it', () => {
  if (run.code !== 0) console.log(`${run.stdout}\n${run.stderr}`);
  expect(run.code).toBe(0);
  expect(run.stdout.trimEnd().split('\n').pop()).toBe('GLLM_BOOT_RESULT=SUCCESS');
  for (const step of ['deps', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health']) {
    expect(run.log).toMatch(new RegExp(`\\[${step}\\] done in [\\d.]+ s`));
  }
  expect(run.log).toMatch(/compiled llama-server in [\d.]+ s/);
  expect(run.log).toMatch(/cached builds\/[0-9a-f]{32}\.tar\.gz/);
  expect(run.log).toMatch(/model verified: \d+ bytes, sha256 [0-9a-f]{64}/);
  expect(run.log).toMatch(/cached models\/[0-9a-f]{64}\.gguf/);
  expect(run.log).toMatch(/boot succeeded in [\d.]+ s; serving tiny-f32.gguf/);
  expect(run.stdout).not.toContain(API_KEY);
  expect(run.log).not.toContain(API_KEY);
  expect(statSync(path.join(workDir, 'secrets', 'api-key')).mode & 0o777).toBe(0o600);
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
