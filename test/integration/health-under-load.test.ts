/**
 * The load balancer's health check must still get an answer from a busy
 * instance: a target that misses it for 3 checks is taken out of service and
 * Auto Scaling replaces the instance, mid-stream. The server runs here with
 * the kit's own arguments (boot.sh's server_args: 4 slots, the kit's HTTP
 * settings) on the tiny model, loaded with twice and four times as many long
 * streamed completions as it has slots, and /health is asked meanwhile, with
 * the target group's 5 s timeout.
 *
 * llama-server v0.5.0 serves HTTP from n_threads_http fixed threads plus up to
 * 1024 more made on demand (tools/server/server-http.cpp, cpp-httplib #2368),
 * so queued completions do not starve /health; this test is what says so for
 * the release the kit pins.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { localBootEnvironment } from '../../lib/boot/local-boot';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { buildLlamaCpp } from '../support/llama-cpp-build';
import { ensureLlamaCppSource } from '../support/llama-cpp-source';
import { ensureTinyQ4Model } from '../support/tiny-model';

const SCRIPT = path.resolve(__dirname, '..', '..', 'lib', 'boot', 'boot.sh');
const SLOTS = 4;
const KEY = 'health-under-load-key';
/** The target group's health check timeout (lib/constructs/inference-endpoint.ts). */
const HEALTH_CHECK_TIMEOUT_MS = 5000;

let dir: string;
let server: ChildProcess | undefined;
let url: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The kit's llama-server argument vector, as boot.sh renders it for SLOTS slots. */
function kitArguments(model: string, llamaServer: string, port: number): string[] {
  const env = renderBootEnvironment({
    ...localBootEnvironment({
      modelUrl: 'http://127.0.0.1:9/m.gguf', sha256: 'a'.repeat(64), sizeBytes: 1, workDir: path.join(dir, 'work'),
      cacheDir: path.join(dir, 'cache'), llamaRef: LLAMA_CPP_DEFAULT_REF, llamaCommit: LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF],
      port, slots: SLOTS, ctxPerSlot: 4096, healthTimeoutSeconds: 60, bootTimeoutSeconds: 600, modelFile: 'm.gguf', quantizeTo: '',
      generation: 3,
    }, path.join(dir, 'key')),
    GLLM_INSTANCE_TYPE: 'c7g.xlarge',
  });
  writeFileSync(path.join(dir, 'boot.env'), env);
  const r = spawnSync('bash', ['-c',
    `source "$0"; exec 3>&1; parse_env "$1"; set_layout; LLAMA_SERVER="$2"; MODEL_PATH="$3"; LOCK_ARGS=(); server_args "$4" "$(listen_host)"; printf '%s\\n' "\${SERVER_ARGS[@]}"`,
    SCRIPT, path.join(dir, 'boot.env'), llamaServer, model, path.join(dir, 'key')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`server_args: ${r.stdout}${r.stderr}`);
  return r.stdout.trimEnd().split('\n');
}

/**
 * One request on a connection of its own (node:http, no agent), as the load
 * balancer's health checker and each client have their own: Node's fetch
 * pools connections per origin, which would measure the client's pool.
 */
function request(pathName: string, options: { body?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, body = '') => resolve({ status, ms: performance.now() - started, body });
    const req = http.request(`${url}${pathName}`, {
      method: options.body ? 'POST' : 'GET',
      agent: false,
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      timeout: options.timeoutMs,
      signal: options.signal,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => done(res.statusCode ?? 0, body));
      res.on('error', () => done(res.statusCode ?? 0, body));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
    req.end(options.body);
  });
}

const health = () => request('/health', { timeoutMs: HEALTH_CHECK_TIMEOUT_MS });

beforeAll(async () => {
  const source = await ensureLlamaCppSource();
  const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server', 'llama-quantize'] });
  const model = await ensureTinyQ4Model(source);
  dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-health-load-'));
  writeFileSync(path.join(dir, 'key'), `${KEY}\n`);
  const port = await freePort();
  const argv = kitArguments(model.path, build.binaries['llama-server'], port);
  expect(argv).toEqual(expect.arrayContaining(['--parallel', String(SLOTS)]));
  server = spawn(build.binaries['llama-server'], argv, { stdio: 'ignore' });
  url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && (await health()).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
}, 60 * 60 * 1000);

afterAll(() => {
  server?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test.each([2, 4])('/health answers within the target group\'s timeout with %dx the slots in long streamed completions', async (factor) => {
  const load = new AbortController();
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: 3500, ignore_eos: true, stream: true });
  const streams = Array.from({ length: factor * SLOTS }, () => request('/v1/chat/completions', { body, signal: load.signal }));
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const probes: { status: number; ms: number }[] = [];
    for (let i = 0; i < 5; i++) {
      probes.push(await health());
      await new Promise((r) => setTimeout(r, 500));
    }
    // The load must still be running, or the probes measured an idle server.
    const slots = (await request('/metrics')).body;
    const busy = Number(/^llamacpp:requests_processing (\d+)/m.exec(slots)?.[1] ?? 0);
    const queued = Number(/^llamacpp:requests_deferred (\d+)/m.exec(slots)?.[1] ?? 0);
    console.log(`${factor * SLOTS} streams on ${SLOTS} slots (${busy} processing, ${queued} deferred): /health took ${probes.map((p) => `${p.ms.toFixed(0)} ms`).join(', ')}`);
    expect({ busy, queued }).toEqual({ busy: SLOTS, queued: (factor - 1) * SLOTS });
    expect(probes.map((p) => p.status)).toEqual([200, 200, 200, 200, 200]);
  } finally {
    load.abort();
    await Promise.all(streams);
  }
}, 5 * 60 * 1000);
