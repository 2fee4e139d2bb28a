import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DOWNLOAD_ATTEMPTS, HttpsDownload } from '../../../../runtime/boot/adapters/https-download';
import { FakeClock } from '../support/fake-clock';

const dir = mkdtempSync(path.join(tmpdir(), 'gllm-https-download-'));
const MODEL = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i % 251));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local HTTP server whose requests (path, Range and Authorization headers) are recorded. */
async function serve(handler: Handler): Promise<{ url: (p: string) => string; requests: { path: string; range?: string; auth?: string }[]; server: Server }> {
  const requests: { path: string; range?: string; auth?: string }[] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { url: (p) => `http://127.0.0.1:${port}${p}`, requests, server };
}
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** Serves MODEL whole, or from a Range's first byte with 206. */
function serveModel(req: IncomingMessage, res: ServerResponse): void {
  const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  const body = MODEL.subarray(from);
  res.writeHead(from > 0 ? 206 : 200, { 'content-length': body.length, ...(from > 0 ? { 'content-range': `bytes ${from}-${MODEL.length - 1}/${MODEL.length}` } : {}) });
  res.end(body);
}

let n = 0;
function setup(source: string, overrides: { secondsLeft?: number; stallMs?: number; limitInMs?: number } = {}) {
  const clock = new FakeClock();
  const limit = clock.now() + (overrides.limitInMs ?? 600_000);
  const lines: string[] = [];
  const download = new HttpsDownload({
    source,
    clock,
    deadline: { seconds: 600, secondsLeft: () => overrides.secondsLeft ?? Math.max(0, Math.trunc((limit - clock.now()) / 1000)), timeLimitMs: () => limit },
    random: () => 0.5,
    log: (m) => lines.push(m),
    ...(overrides.stallMs !== undefined ? { stallMs: overrides.stallMs } : {}),
  });
  return { download, clock, lines, dest: path.join(dir, `model-${++n}.gguf`) };
}

test('a source is fetched whole in one try', async () => {
  const s = await serve(serveModel);
  const { download, lines, dest, clock } = setup(s.url('/model.gguf'));
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length })).resolves.toEqual({ ok: true });
  expect(readFileSync(dest)).toEqual(MODEL);
  expect(lines).toEqual([`downloading ${s.url('/model.gguf')} (attempt 1/${DOWNLOAD_ATTEMPTS})`]);
  expect(clock.sleeps).toEqual([]);
  expect(s.requests).toEqual([{ path: '/model.gguf' }]);
});

test('a cut connection is resumed where it stopped, with a Range request, after a backoff', async () => {
  let first = true;
  const cutAt = 20_000;
  const s = await serve((req, res) => {
    if (!first) return serveModel(req, res);
    first = false;
    // Promises the whole file, sends part of it, and drops the connection.
    res.writeHead(200, { 'content-length': MODEL.length });
    res.write(MODEL.subarray(0, cutAt), () => setTimeout(() => res.socket?.destroy(), 20));
  });
  const { download, lines, dest, clock } = setup(s.url('/m'));
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length })).resolves.toEqual({ ok: true });
  expect(readFileSync(dest)).toEqual(MODEL);
  expect(s.requests).toEqual([{ path: '/m' }, { path: '/m', range: `bytes=${cutAt}-` }]);
  expect(lines[1]).toBe('download failed: connection closed after 20000 bytes');
  expect(lines[2]).toBe(`downloading ${s.url('/m')} (attempt 2/${DOWNLOAD_ATTEMPTS}, resuming at ${cutAt} bytes)`);
  // retryDelayMs(1) with random 0.5: between 500 and 1000 ms.
  expect(clock.sleeps).toEqual([750]);
});

test('a server that ignores the Range sends the whole file again, which replaces the part', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': MODEL.length });
    res.end(MODEL);
  });
  const { download, dest } = setup(s.url('/m'));
  writeFileSync(dest, MODEL.subarray(0, 100));
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length })).resolves.toEqual({ ok: true });
  expect(s.requests).toEqual([{ path: '/m', range: 'bytes=100-' }]);
  expect(readFileSync(dest)).toEqual(MODEL);
});

test('a partial file as long as the source is not fetched again', async () => {
  const s = await serve(serveModel);
  const { download, dest } = setup(s.url('/m'));
  writeFileSync(dest, MODEL);
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length })).resolves.toEqual({ ok: true });
  expect(s.requests).toEqual([]);
});

test('an HTTP error on every try fails after DOWNLOAD_ATTEMPTS, saying what was got', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(404);
    res.end('no such model');
  });
  const { download, dest, clock, lines } = setup(s.url('/absent'));
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length })).resolves.toEqual({
    ok: false,
    reason: `model download from ${s.url('/absent')} failed after ${DOWNLOAD_ATTEMPTS} attempts (last error: HTTP 404); got 0 of ${MODEL.length} bytes`,
  });
  expect(s.requests).toHaveLength(DOWNLOAD_ATTEMPTS);
  expect(clock.sleeps).toHaveLength(DOWNLOAD_ATTEMPTS - 1);
  expect(lines.filter((l) => l === 'download failed: HTTP 404')).toHaveLength(DOWNLOAD_ATTEMPTS);
  expect(existsSync(dest)).toBe(false);
});

test('no wait is begun that the deadline would not leave a second after: the reason names the deadline', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(503);
    res.end();
  });
  const { download, dest, clock } = setup(s.url('/busy'), { secondsLeft: 1 });
  await expect(download.download(dest, { expectedSizeBytes: 10 })).resolves.toEqual({
    ok: false,
    reason: `model download from ${s.url('/busy')} did not finish within the boot deadline of 600 s (last error: HTTP 503); got 0 of 10 bytes`,
  });
  expect(clock.sleeps).toEqual([]);
});

test('redirects are followed; the token goes to the source\'s own host only, never to a CDN it redirects to', async () => {
  const cdn = await serve(serveModel);
  const origin = await serve((req, res) => {
    if (req.url === '/resolve') {
      res.writeHead(302, { location: '/moved' });
      res.end();
    } else {
      res.writeHead(302, { location: cdn.url('/signed?x=1') });
      res.end();
    }
  });
  const { download, dest } = setup(origin.url('/resolve'));
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length, bearerToken: 'hf_secret' })).resolves.toEqual({ ok: true });
  expect(readFileSync(dest)).toEqual(MODEL);
  expect(origin.requests).toEqual([{ path: '/resolve', auth: 'Bearer hf_secret' }, { path: '/moved', auth: 'Bearer hf_secret' }]);
  expect(cdn.requests).toEqual([{ path: '/signed?x=1' }]);
});

test('a transfer that stalls is given up and retried', async () => {
  let first = true;
  const s = await serve((req, res) => {
    if (!first) return serveModel(req, res);
    first = false;
    res.writeHead(200, { 'content-length': MODEL.length });
    res.write(MODEL.subarray(0, 10));
    // ... and nothing more until the client gives up.
  });
  const { download, dest, lines } = setup(s.url('/slow'), { stallMs: 100 });
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length })).resolves.toEqual({ ok: true });
  expect(lines).toContain('download failed: less than 1 KiB/s for 0.1 s');
  expect(readFileSync(dest)).toEqual(MODEL);
});

test('a 206 from another byte than asked for is not appended: the try fails, and the file keeps what it had', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(206, { 'content-length': 10, 'content-range': `bytes 0-9/${MODEL.length}` });
    res.end(MODEL.subarray(0, 10));
  });
  const { download, dest, lines } = setup(s.url('/m'));
  writeFileSync(dest, MODEL.subarray(0, 100));
  const got = await download.download(dest, { expectedSizeBytes: MODEL.length });
  expect(got.ok).toBe(false);
  expect(lines).toContain(`download failed: asked for bytes from 100, got bytes 0-9/${MODEL.length}`);
  expect(readFileSync(dest)).toEqual(MODEL.subarray(0, 100));
});

test('a try is stopped at the boot\'s time limit, and the reason names the deadline', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': MODEL.length });
    res.write(MODEL.subarray(0, 10));
  });
  // 200 ms of (real) time left; the fake clock does not move, so no wait fits before the limit's second.
  const { download, dest, lines } = setup(s.url('/m'), { limitInMs: 200 });
  await expect(download.download(dest, { expectedSizeBytes: MODEL.length })).resolves.toEqual({
    ok: false,
    reason: `model download from ${s.url('/m')} did not finish within the boot deadline of 600 s (last error: stopped at the boot's time limit); got 10 of ${MODEL.length} bytes`,
  });
  expect(lines).toContain('download failed: stopped at the boot\'s time limit');
});
