import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpsDownload } from '../../../../runtime/boot/adapters/https-download';
import { Exec } from '../../../../runtime/boot/core/exec';
import { modelPhase, type ModelPhaseInput } from '../../../../runtime/boot/phases/model';
import type { DownloadOutcome, DownloadRequest, ModelDownload, SecretReadOutcome, Secrets } from '../../../../runtime/boot/ports';
import { FakeCache, type FakeVersion } from '../support/fake-cache';
import { FakeClock } from '../support/fake-clock';
import { failureOf as phaseFailureOf } from '../support/phase-failure';

const root = mkdtempSync(path.join(tmpdir(), 'gllm-model-phase-'));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const SOURCE = 'https://huggingface.co/org/repo/resolve/main/model-f16.gguf';
const WEIGHTS = 'f16 weights of the model';
const SHA = sha256(WEIGHTS);
const COMMIT = 'a'.repeat(40);
const QUANTIZED_REL = `quantized/${SHA}-Q4_0-llama.cpp-${COMMIT}.gguf`;

/** A source that writes `content` (or fails with `reason`), recording each request. */
class FakeDownload implements ModelDownload {
  readonly requests: DownloadRequest[] = [];
  constructor(
    private readonly content: string,
    readonly takesToken = true,
    private readonly reason?: string,
    readonly source = SOURCE,
  ) {}
  async download(dest: string, request: DownloadRequest): Promise<DownloadOutcome> {
    this.requests.push(request);
    if (this.reason !== undefined) return { ok: false, reason: this.reason };
    await writeFile(dest, this.content);
    return { ok: true };
  }
}

/** SSM parameters in memory; a name without a value is not found. */
class FakeSecrets implements Secrets {
  readonly reads: string[] = [];
  constructor(private readonly values: Record<string, string> = {}) {}
  describe(name: string): string {
    return `SSM parameter ${name}`;
  }
  async readToFile(name: string, dest: string): Promise<SecretReadOutcome> {
    this.reads.push(name);
    const value = this.values[name];
    if (value === undefined) return { kind: 'not-found', detail: 'ParameterNotFound' };
    await writeFile(dest, value, { mode: 0o600 });
    return { kind: 'read' };
  }
}

let n = 0;
/** A fresh machine: directories, a build with a stand-in llama-quantize, and the phase's input. */
function machine(overrides: Partial<ModelPhaseInput> = {}, quantizeScript = '#!/bin/sh\n{ printf "quantized:"; cat "$1"; } >"$2"\necho "$@" >"$(dirname "$0")/args"\n') {
  const dir = path.join(root, `m${++n}`);
  const layout = { modelDir: path.join(dir, 'models'), stateDir: path.join(dir, 'state'), logDir: path.join(dir, 'logs'), secretDir: path.join(dir, 'secrets') };
  const buildDir = path.join(dir, 'build');
  mkdirSync(path.join(buildDir, 'bin'), { recursive: true });
  writeFileSync(path.join(buildDir, 'bin', 'llama-quantize'), quantizeScript, { mode: 0o755 });
  const clock = new FakeClock();
  const lines: string[] = [];
  const events: string[] = [];
  /** Where the model came from, as the boot's result reads it (core/log.ts BootEventData), in order. */
  const from: string[] = [];
  const cache = (overrides.cache as FakeCache | undefined) ?? new FakeCache();
  const download = (overrides.download as FakeDownload | undefined) ?? new FakeDownload(WEIGHTS);
  const secrets = (overrides.secrets as FakeSecrets | undefined) ?? new FakeSecrets();
  const input: ModelPhaseInput = {
    modelSha256: SHA,
    modelSizeBytes: WEIGHTS.length,
    modelFile: 'model.gguf',
    quantizeTo: '',
    llamaCppCommit: COMMIT,
    llamaCppRef: 'b1234',
    hfTokenParameter: '',
    bootDeadlineSeconds: 900,
    layout,
    buildDir,
    download,
    secrets,
    cache,
    exec: new Exec({ clock }),
    cpuCount: 4,
    clock,
    deadline: { timeLimitMs: () => clock.now() + 600_000 },
    log: (m) => lines.push(m),
    record: (event, detail, data) => {
      events.push(`${event} ${detail}`);
      if (data?.kind === 'model-source' || data?.kind === 'model-quantized') from.push(`${data.kind} ${data.from}`);
    },
    ...overrides,
  };
  const served = path.join(layout.modelDir, 'model.gguf');
  return { input, lines, events, from, cache, download, secrets, layout, buildDir, served, clock };
}

const failureOf = (p: Promise<unknown>) => phaseFailureOf(p, 'model');

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

describe('a source model', () => {
  test('on a cache miss it is downloaded, verified, put in place with its stamp, and cached', async () => {
    const m = machine();
    await expect(modelPhase.run(m.input)).resolves.toEqual({ modelPath: m.served });
    expect(readFileSync(m.served, 'utf8')).toBe(WEIGHTS);
    expect(mode(m.served)).toBe('644');
    expect(readFileSync(`${m.served}.verified`, 'utf8')).toBe(`${SHA} ${WEIGHTS.length}\n`);
    expect(m.lines).toEqual([
      `model: cache miss models/${SHA}.gguf`,
      `model verified: ${WEIGHTS.length} bytes, sha256 ${SHA}`,
      `cached models/${SHA}.gguf`,
    ]);
    expect(m.cache.puts).toEqual([{ rel: `models/${SHA}.gguf`, mode: 'always' }]);
    expect(m.events).toEqual([`cache-miss models/${SHA}.gguf`, `model-downloaded ${m.served}`, `cache-write models/${SHA}.gguf`]);
    expect(m.from).toEqual(['model-source download']);
    expect(m.download.requests).toEqual([{ expectedSizeBytes: WEIGHTS.length }]);
    expect(readdirSync(m.layout.modelDir).sort()).toEqual(['model.gguf', 'model.gguf.verified']);
  });

  test('a cached copy that verifies is used: nothing is downloaded or cached again', async () => {
    const m = machine({ cache: new FakeCache({ [`models/${SHA}.gguf`]: [{ id: 'v1', content: WEIGHTS }] }) });
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(WEIGHTS);
    expect(m.download.requests).toEqual([]);
    expect(m.cache.puts).toEqual([]);
    expect(m.lines).toEqual([`model: cache hit models/${SHA}.gguf`, `model verified: ${WEIGHTS.length} bytes, sha256 ${SHA}`]);
    expect(m.events).toEqual([`cache-hit models/${SHA}.gguf`, `model-from-cache ${m.served}`]);
    expect(m.from).toEqual(['model-source cache']);
  });

  test.each([
    ['of another size', 'short'],
    ['of the size but not the SHA-256', 'F16 WEIGHTS OF THE MODEL'],
  ])('a cached copy %s is dropped and the source downloaded instead', async (_, content) => {
    const m = machine({ cache: new FakeCache({ [`models/${SHA}.gguf`]: [{ id: 'v1', content }] }) });
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(WEIGHTS);
    expect(m.lines.slice(0, 3)).toEqual([
      `model: cache hit models/${SHA}.gguf`,
      'model: cached copy does not verify; downloading from the source instead',
      `model: cache miss models/${SHA}.gguf`,
    ]);
    expect(m.download.requests).toHaveLength(1);
    expect(m.cache.puts).toEqual([{ rel: `models/${SHA}.gguf`, mode: 'always' }]);
  });

  test('a cache read that fails is a miss, and said so', async () => {
    const m = machine({ cache: new FakeCache({ [`models/${SHA}.gguf`]: [{ id: 'v1', content: WEIGHTS, unreadable: true }] }) });
    await modelPhase.run(m.input);
    expect(m.lines[0]).toBe(`cache read of models/${SHA}.gguf failed; treating it as a miss`);
    expect(m.download.requests).toHaveLength(1);
  });

  test('a download of another size fails the boot with a size mismatch; nothing is left in place', async () => {
    const m = machine({ download: new FakeDownload('truncated') });
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe(`model from ${SOURCE}: size mismatch: expected ${WEIGHTS.length} bytes, got 9`);
    expect(readdirSync(m.layout.modelDir)).toEqual([]);
    expect(m.cache.puts).toEqual([]);
  });

  test('a download of the size but another SHA-256 fails the boot with a sha256 mismatch; nothing is left in place', async () => {
    const other = 'F16 WEIGHTS OF THE MODEL';
    const m = machine({ download: new FakeDownload(other) });
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe(`model from ${SOURCE}: sha256 mismatch: expected ${SHA}, got ${sha256(other)}`);
    expect(readdirSync(m.layout.modelDir)).toEqual([]);
  });

  test('a SHA-256 that cannot finish before the time limit fails the boot, naming the deadline', async () => {
    const clock = new FakeClock();
    const m = machine({ clock, deadline: { timeLimitMs: () => clock.now() } });
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe(`model from ${SOURCE}: its SHA-256 did not finish within the boot deadline of 900 s`);
  });

  test('a download that fails fails the boot with the source\'s reason; its partial file goes', async () => {
    const m = machine({ download: new FakeDownload('', true, `model download from ${SOURCE} failed after 4 attempts (last error: HTTP 503); got 0 of 24 bytes`) });
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe(`model download from ${SOURCE} failed after 4 attempts (last error: HTTP 503); got 0 of 24 bytes`);
    expect(readdirSync(m.layout.modelDir)).toEqual([]);
  });

  test('a model verified by an earlier boot is reused without another SHA-256', async () => {
    const m = machine();
    mkdirSync(m.layout.modelDir, { recursive: true });
    writeFileSync(m.served, 'not even hashed');
    writeFileSync(`${m.served}.verified`, `${SHA} ${WEIGHTS.length}\n`);
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe('not even hashed');
    expect(m.lines).toEqual([`model: ${m.served} already verified; reused`]);
    expect(m.events).toEqual([`model-reused ${m.served}`]);
    expect(m.from).toEqual(['model-source installed']);
    expect(m.download.requests).toEqual([]);
  });

  test('a stamp for another model is not reuse: the configured one is fetched over it', async () => {
    const m = machine();
    mkdirSync(m.layout.modelDir, { recursive: true });
    writeFileSync(m.served, 'the previous model');
    writeFileSync(`${m.served}.verified`, `${sha256('the previous model')} 18\n`);
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(WEIGHTS);
    expect(readFileSync(`${m.served}.verified`, 'utf8')).toBe(`${SHA} ${WEIGHTS.length}\n`);
  });
});

describe('the Hugging Face token', () => {
  test('is read from its secret when set, sent without its newline, and not left on disk', async () => {
    const secrets = new FakeSecrets({ '/gllm/hf-token': 'hf_abc\n' });
    const m = machine({ hfTokenParameter: '/gllm/hf-token', secrets });
    await modelPhase.run(m.input);
    expect(m.download.requests).toEqual([{ expectedSizeBytes: WEIGHTS.length, bearerToken: 'hf_abc' }]);
    expect(readdirSync(m.layout.secretDir)).toEqual([]);
    expect(m.lines.join('\n')).not.toContain('hf_abc');
  });

  test('is not read for a source that takes none (S3)', async () => {
    const secrets = new FakeSecrets({ '/gllm/hf-token': 'hf_abc' });
    const m = machine({ hfTokenParameter: '/gllm/hf-token', secrets, download: new FakeDownload(WEIGHTS, false) });
    await modelPhase.run(m.input);
    expect(secrets.reads).toEqual([]);
    expect(m.download.requests).toEqual([{ expectedSizeBytes: WEIGHTS.length }]);
  });

  test('is not read when the model comes from the cache', async () => {
    const secrets = new FakeSecrets({ '/gllm/hf-token': 'hf_abc' });
    const m = machine({ hfTokenParameter: '/gllm/hf-token', secrets, cache: new FakeCache({ [`models/${SHA}.gguf`]: [{ id: 'v1', content: WEIGHTS }] }) });
    await modelPhase.run(m.input);
    expect(secrets.reads).toEqual([]);
  });

  test('that cannot be read fails the boot, naming where it was looked for', async () => {
    const m = machine({ hfTokenParameter: '/gllm/absent' });
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe('could not read the Hugging Face token from SSM parameter /gllm/absent');
    expect(m.lines).toContain('read of SSM parameter /gllm/absent failed: ParameterNotFound');
    expect(m.download.requests).toEqual([]);
  });

  test('that is empty fails the boot', async () => {
    const m = machine({ hfTokenParameter: '/gllm/empty', secrets: new FakeSecrets({ '/gllm/empty': ' \n' }) });
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe('the Hugging Face token in SSM parameter /gllm/empty is empty');
    expect(readdirSync(m.layout.secretDir)).toEqual([]);
  });
});

describe('a model quantized on the machine', () => {
  const QUANTIZED = `quantized:${WEIGHTS}`;

  test('is quantized by the build\'s llama-quantize from the verified source, served with its stamp, and cached with its SHA-256; the source goes', async () => {
    const m = machine({ quantizeTo: 'Q4_0' });
    await expect(modelPhase.run(m.input)).resolves.toEqual({ modelPath: m.served });
    expect(readFileSync(m.served, 'utf8')).toBe(QUANTIZED);
    expect(mode(m.served)).toBe('644');
    expect(readFileSync(`${m.served}.verified`, 'utf8')).toBe(`quantized ${SHA} Q4_0\n`);
    const source = path.join(m.layout.modelDir, `source-${SHA}.gguf`);
    expect(readFileSync(path.join(m.buildDir, 'bin', 'args'), 'utf8').trim()).toBe(`${source} ${path.join(m.layout.stateDir, 'quantize', 'model.gguf')} Q4_0 4`);
    expect(readdirSync(m.layout.modelDir).sort()).toEqual(['model.gguf', 'model.gguf.verified']);
    expect(readdirSync(m.layout.stateDir)).toEqual([]);
    expect(m.cache.puts).toEqual([
      { rel: `models/${SHA}.gguf`, mode: 'always' },
      { rel: QUANTIZED_REL, mode: 'if-absent', sha256: sha256(QUANTIZED) },
    ]);
    expect(m.lines).toEqual([
      `model: cache miss ${QUANTIZED_REL}; quantizing`,
      `model: cache miss models/${SHA}.gguf`,
      `model verified: ${WEIGHTS.length} bytes, sha256 ${SHA}`,
      `cached models/${SHA}.gguf`,
      'quantizing to Q4_0',
      'quantized in 0.000 s',
      `cached ${QUANTIZED_REL}`,
    ]);
    expect(m.from).toEqual(['model-source download', 'model-quantized quantize']);
  });

  test('the quantized model in the cache with the SHA-256 it was cached with is served: no download, no quantizing', async () => {
    const cache = new FakeCache({ [QUANTIZED_REL]: [{ id: 'v1', content: QUANTIZED, sha256: sha256(QUANTIZED) }] });
    const m = machine({ quantizeTo: 'Q4_0', cache });
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(QUANTIZED);
    expect(readFileSync(`${m.served}.verified`, 'utf8')).toBe(`quantized ${SHA} Q4_0\n`);
    expect(m.download.requests).toEqual([]);
    expect(existsSync(path.join(m.buildDir, 'bin', 'args'))).toBe(false);
    expect(m.cache.puts).toEqual([]);
    expect(m.lines).toEqual([`model: cache hit ${QUANTIZED_REL}`]);
    // The published model was not needed.
    expect(m.from).toEqual(['model-quantized cache']);
  });

  test('the oldest good version is served, not one written later', async () => {
    const versions: FakeVersion[] = [
      { id: 'v1', content: QUANTIZED, sha256: sha256(QUANTIZED) },
      { id: 'v2', content: 'planted', sha256: sha256('planted') },
    ];
    const m = machine({ quantizeTo: 'Q4_0', cache: new FakeCache({ [QUANTIZED_REL]: versions }) });
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(QUANTIZED);
    expect(m.cache.reads).toEqual(['v1']);
    expect(m.lines[m.lines.length - 1]).toBe(`model: cache hit ${QUANTIZED_REL}, version v1 (written 1 of 2)`);
  });

  test.each([
    ['that does not have the SHA-256 it was cached with', { id: 'v1', content: 'damaged', sha256: sha256('intact') }, `its SHA-256 is ${sha256('damaged')}, not the ${sha256('intact')} it was cached with`],
    ['that records no SHA-256', { id: 'v1', content: QUANTIZED }, 'it records no SHA-256'],
  ])('a version %s is discarded; the boot quantizes and writes a replacement', async (_, version, problem) => {
    const m = machine({ quantizeTo: 'Q4_0', cache: new FakeCache({ [QUANTIZED_REL]: [version] }) });
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(QUANTIZED);
    expect(m.lines[0]).toBe(`model: discarding cached ${QUANTIZED_REL} version v1: ${problem}; quantizing a replacement`);
    expect(m.events[0]).toBe(`cache-discard ${QUANTIZED_REL} version v1: ${problem}`);
    expect(m.cache.puts[1]).toEqual({ rel: QUANTIZED_REL, mode: 'always', sha256: sha256(QUANTIZED) });
  });

  test('a model quantized by an earlier boot is reused by its stamp', async () => {
    const m = machine({ quantizeTo: 'Q4_0' });
    mkdirSync(m.layout.modelDir, { recursive: true });
    writeFileSync(m.served, QUANTIZED);
    writeFileSync(`${m.served}.verified`, `quantized ${SHA} Q4_0\n`);
    await modelPhase.run(m.input);
    expect(m.lines).toEqual([`model: ${m.served} already quantized from ${SHA}; reused`]);
    expect(m.from).toEqual(['model-quantized installed']);
    expect(m.cache.reads).toEqual([]);
  });

  test('a source stamp is not a quantized model\'s: a quantizing boot does not reuse it', async () => {
    const m = machine({ quantizeTo: 'Q4_0' });
    mkdirSync(m.layout.modelDir, { recursive: true });
    writeFileSync(m.served, WEIGHTS);
    writeFileSync(`${m.served}.verified`, `${SHA} ${WEIGHTS.length}\n`);
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(QUANTIZED);
  });

  test('llama-quantize runs as the service user, in a directory of its own; the boot\'s user owns the model it made, which the service user may only read', async () => {
    if (process.getuid?.() !== 0) return console.log('skipped: needs root (setpriv to the service user)');
    const nobody = { uid: 65534, gid: 65534 };
    const clock = new FakeClock();
    const m = machine({ quantizeTo: 'Q4_0', clock, exec: new Exec({ clock, serviceUser: '65534' }), serviceUser: nobody },
      '#!/bin/sh\n{ id -u; stat -c %u:%a "$(dirname "$2")"; cat "$1"; } >"$2"\n');
    // Every user may traverse to the build and the source model (an instance's directories are 0755).
    chmodSync(root, 0o755);
    chmodSync(path.dirname(m.buildDir), 0o755);
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(`65534\n65534:700\n${WEIGHTS}`);
    const st = statSync(m.served);
    expect(`${st.uid}:${st.gid} ${mode(m.served)}`).toBe('0:0 644');
    expect(readdirSync(m.layout.stateDir)).toEqual([]);
  });

  test('llama-quantize failing fails the boot with the last two lines of its log', async () => {
    const m = machine({ quantizeTo: 'Q4_0' }, '#!/bin/sh\necho loading >&2\necho "error: unknown type" >&2\necho "usage: llama-quantize" >&2\nexit 1\n');
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe('llama-quantize to Q4_0 failed: error: unknown type usage: llama-quantize');
    // Where it was being taken from when it failed, as the result records it.
    expect(m.from).toEqual(['model-source download', 'model-quantized quantize']);
    expect(readFileSync(path.join(m.layout.logDir, 'quantize.log'), 'utf8')).toContain('loading');
    expect(existsSync(m.served)).toBe(false);
  });

  test('llama-quantize is stopped at the time limit, and the boot says so', async () => {
    const clock = new FakeClock();
    const m = machine({ quantizeTo: 'Q4_0', clock, exec: new Exec({ clock, killGraceMs: 100 }), deadline: { timeLimitMs: () => clock.now() + 1500 } }, '#!/bin/sh\nexec sleep 600\n');
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe('llama-quantize to Q4_0 did not finish within the boot deadline of 900 s');
  });

  test('no time left to quantize fails before llama-quantize starts', async () => {
    const clock = new FakeClock();
    let limit = clock.now() + 600_000;
    const m = machine({ quantizeTo: 'Q4_0', clock, deadline: { timeLimitMs: () => limit } });
    // The source verifies within the time; then the time is gone.
    const cache = m.cache;
    cache.put = async (_src, rel, mode, sha) => {
      cache.puts.push({ rel, mode, ...(sha !== undefined ? { sha256: sha } : {}) });
      limit = clock.now() + 500;
      return { kind: 'written' };
    };
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe('no time left in the boot deadline of 900 s to quantize');
    expect(existsSync(path.join(m.buildDir, 'bin', 'args'))).toBe(false);
  });
});

describe('through the https adapter, against a local server', () => {
  let server: Server;
  let base = '';
  /** Per path: the body served, and whether the first request is cut after 10 bytes. */
  const files: Record<string, { body: string; cutFirst?: boolean }> = {
    '/model.gguf': { body: WEIGHTS },
    '/cut.gguf': { body: WEIGHTS, cutFirst: true },
    '/short.gguf': { body: 'truncated' },
    '/other.gguf': { body: 'F16 WEIGHTS OF THE MODEL' },
  };
  const ranges: (string | undefined)[] = [];
  beforeAll(async () => {
    const cut = new Set<string>();
    server = createServer((req, res) => {
      const file = files[req.url ?? ''];
      if (file === undefined) {
        res.writeHead(404);
        res.end();
        return;
      }
      ranges.push(req.headers.range);
      if (file.cutFirst && !cut.has(req.url!)) {
        cut.add(req.url!);
        res.writeHead(200, { 'content-length': file.body.length });
        res.write(file.body.slice(0, 10), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      const body = file.body.slice(from);
      res.writeHead(from > 0 ? 206 : 200, { 'content-length': body.length, ...(from > 0 ? { 'content-range': `bytes ${from}-${file.body.length - 1}/${file.body.length}` } : {}) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  function over(pathName: string) {
    const clock = new FakeClock();
    const lines: string[] = [];
    const deadline = { seconds: 900, secondsLeft: () => 600, timeLimitMs: () => clock.now() + 600_000 };
    const download = new HttpsDownload({ source: `${base}${pathName}`, clock, deadline, random: () => 0.5, log: (l) => lines.push(l) });
    const m = machine({ clock, deadline, download, log: (l) => lines.push(l) });
    return { ...m, lines };
  }

  test('the model is downloaded and served', async () => {
    const m = over('/model.gguf');
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(WEIGHTS);
    expect(m.lines).toContain(`downloading ${base}/model.gguf (attempt 1/4)`);
  });

  test('a cut connection is resumed with a Range request, and the whole model verifies', async () => {
    const m = over('/cut.gguf');
    ranges.length = 0;
    await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(WEIGHTS);
    expect(ranges).toEqual([undefined, 'bytes=10-']);
    expect(m.lines).toContain(`downloading ${base}/cut.gguf (attempt 2/4, resuming at 10 bytes)`);
    expect(m.lines).toContain(`model verified: ${WEIGHTS.length} bytes, sha256 ${SHA}`);
  });

  test('a source of another size fails with a size mismatch', async () => {
    const m = over('/short.gguf');
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe(`model from ${base}/short.gguf: size mismatch: expected ${WEIGHTS.length} bytes, got 9`);
    expect(readdirSync(m.layout.modelDir)).toEqual([]);
  });

  test('a source of another SHA-256 fails with a sha256 mismatch', async () => {
    const m = over('/other.gguf');
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe(`model from ${base}/other.gguf: sha256 mismatch: expected ${SHA}, got ${sha256('F16 WEIGHTS OF THE MODEL')}`);
    expect(readdirSync(m.layout.modelDir)).toEqual([]);
  });

  test('a source that is not there fails after the adapter\'s tries', async () => {
    const m = over('/absent.gguf');
    const f = await failureOf(modelPhase.run(m.input));
    expect(f.reason).toBe(`model download from ${base}/absent.gguf failed after 4 attempts (last error: HTTP 404); got 0 of ${WEIGHTS.length} bytes`);
  });
});

describe('whom the model is trusted from (the trusted builder)', () => {
  const PINS_FILE = '/etc/graviton-llm/pins.json';
  const KEY = '0123456789abcdef0123456789abcdef';
  const QUANTIZED = `quantized:${WEIGHTS}`;
  const pinsOf = (model: { object: string; versionId: string; sha256: string }) => ({
    version: 1 as const, buildKey: KEY, build: { object: `builds/${KEY}.tar.gz`, versionId: 'vb', sha256: 'b'.repeat(64) }, model,
  });
  /** A publisher that records what it is given and answers version `id`. */
  const publisherOf = (id = 'v9') => {
    const published: { rel: string; sha256: string; content: string }[] = [];
    return { published, publisher: { publish: async (src: string, rel: string, sha: string) => { published.push({ rel, sha256: sha, content: readFileSync(src, 'utf8') }); return { ok: true as const, versionId: id }; } } };
  };

  test('a pinned fleet instance serves exactly the pinned quantized version, never a later one: no download, no quantize, no write', async () => {
    const cache = new FakeCache({ [QUANTIZED_REL]: [{ id: 'v1', content: QUANTIZED }, { id: 'v2', content: 'planted', sha256: sha256('planted') }] });
    const pins = pinsOf({ object: QUANTIZED_REL, versionId: 'v1', sha256: sha256(QUANTIZED) });
    const m = machine({ cache, quantizeTo: 'Q4_0', trust: { kind: 'pinned', pinsFile: PINS_FILE, pins } }, '#!/bin/sh\nexit 99\n');
    await expect(modelPhase.run(m.input)).resolves.toEqual({ modelPath: m.served });
    expect(readFileSync(m.served, 'utf8')).toBe(QUANTIZED);
    expect(cache.reads).toEqual(['v1']);
    expect(cache.puts).toEqual([]);
    expect(m.download.requests).toEqual([]);
    expect(m.from).toEqual(['model-quantized pinned']);
  });

  test('a pinned source model serves the pinned version; a rewritten one fails at once naming the object and both digests', async () => {
    const rel = `models/${SHA}.gguf`;
    const good = machine({ cache: new FakeCache({ [rel]: [{ id: 'v1', content: WEIGHTS }] }), trust: { kind: 'pinned', pinsFile: PINS_FILE, pins: pinsOf({ object: rel, versionId: 'v1', sha256: SHA }) } });
    await modelPhase.run(good.input);
    expect(readFileSync(good.served, 'utf8')).toBe(WEIGHTS);
    const bad = machine({ cache: new FakeCache({ [rel]: [{ id: 'v1', content: 'rewritten' }] }), trust: { kind: 'pinned', pinsFile: PINS_FILE, pins: pinsOf({ object: rel, versionId: 'v1', sha256: SHA }) } });
    const failure = await failureOf(modelPhase.run(bad.input));
    expect(failure.reason).toBe(`pinned model ${rel} version v1 has SHA-256 ${sha256('rewritten')}, but the pins in ${PINS_FILE} expect ${SHA}; not using it`);
    expect(existsSync(bad.served)).toBe(false);
    expect(bad.download.requests).toEqual([]);
  });

  test('a deleted pinned version fails, naming it; pins of another model fail before anything is read', async () => {
    const m = machine({ quantizeTo: 'Q4_0', trust: { kind: 'pinned', pinsFile: PINS_FILE, pins: pinsOf({ object: QUANTIZED_REL, versionId: 'v1', sha256: sha256(QUANTIZED) }) } });
    expect((await failureOf(modelPhase.run(m.input))).reason).toMatch(new RegExp(`^pinned model ${QUANTIZED_REL} version v1 cannot be read`));
    const other = machine({ trust: { kind: 'pinned', pinsFile: PINS_FILE, pins: pinsOf({ object: QUANTIZED_REL, versionId: 'v1', sha256: SHA }) } });
    expect((await failureOf(modelPhase.run(other.input))).reason).toBe(`pins file ${PINS_FILE} pins the model ${QUANTIZED_REL}, but this configuration serves models/${SHA}.gguf`);
    expect(other.cache.reads).toEqual([]);
  });

  test('a builder quantizes even where the cache holds a quantized model, and publishes what it made', async () => {
    const cache = new FakeCache({ [QUANTIZED_REL]: [{ id: 'v1', content: 'planted', sha256: sha256('planted') }] });
    const { published, publisher } = publisherOf();
    const m = machine({ cache, quantizeTo: 'Q4_0', trust: { kind: 'builder', publisher } });
    const out = await modelPhase.run(m.input);
    expect(readFileSync(m.served, 'utf8')).toBe(QUANTIZED);
    expect(published).toEqual([{ rel: QUANTIZED_REL, sha256: sha256(QUANTIZED), content: QUANTIZED }]);
    expect(out.published).toEqual({ object: QUANTIZED_REL, versionId: 'v9', sha256: sha256(QUANTIZED) });
    // The source it downloaded is cached for the next builder; the quantized model only published.
    expect(cache.puts).toEqual([{ rel: `models/${SHA}.gguf`, mode: 'always' }]);
    expect(cache.reads).toEqual([]);
  });

  test('a builder serving the source as it is publishes it once, verified against the template', async () => {
    const { published, publisher } = publisherOf('v3');
    const m = machine({ trust: { kind: 'builder', publisher } });
    const out = await modelPhase.run(m.input);
    expect(published).toEqual([{ rel: `models/${SHA}.gguf`, sha256: SHA, content: WEIGHTS }]);
    expect(m.cache.puts).toEqual([]);
    expect(out.published).toEqual({ object: `models/${SHA}.gguf`, versionId: 'v3', sha256: SHA });
  });

  test('a builder whose publish fails fails the phase', async () => {
    const m = machine({ trust: { kind: 'builder', publisher: { publish: async () => ({ ok: false as const, detail: 'AccessDenied' }) } } });
    expect((await failureOf(modelPhase.run(m.input))).reason).toBe(`cannot publish the model models/${SHA}.gguf to s3://fake-bucket/cache: AccessDenied`);
  });
});
