/**
 * The model's source over https (plain http too, which only a local boot's
 * configuration accepts).
 * DOWNLOAD_ATTEMPTS tries with the retry's backoff between them, each
 * resuming where the last one was cut (an HTTP Range request), redirects
 * followed (Hugging Face answers with one to its CDN), a transfer slower
 * than 1 KiB/s for a minute given up, and nothing past the boot's time limit.
 *
 * Node's own http/https rather than curl: the bearer token stays in the
 * boot's memory (curl would need it in a root-only header file to keep it out
 * of argv), a local boot needs no curl, and the outcome is a typed one
 * instead of curl's exit status.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../core/clock';
import type { Deadline } from '../core/deadline';
import { retryDelayMs } from '../core/retry';
import type { DownloadOutcome, DownloadRequest, ModelDownload } from '../ports';

/** Tries of one download. */
export const DOWNLOAD_ATTEMPTS = 4;

/** Redirects followed in one try. */
const MAX_REDIRECTS = 10;

export interface HttpsDownloadOptions {
  /** GLLM_MODEL_SOURCE: an https:// (or, locally, http://) URL. */
  readonly source: string;
  readonly clock: Clock;
  /** The boot's deadline: no try runs past its time limit, and no wait is begun that would leave less than a second. */
  readonly deadline: Pick<Deadline, 'seconds' | 'secondsLeft' | 'timeLimitMs'>;
  /** In [0, 1), as Math.random: the backoff's jitter. */
  readonly random: () => number;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** How long the connection and the response's headers may take (curl --connect-timeout 20). @default 20000 */
  readonly connectTimeoutMs?: number;
  /** A try that receives less than 1 KiB a second over this long is given up (curl --speed-limit 1024 --speed-time 60). @default 60000 */
  readonly stallMs?: number;
}

/** One try's failure, for the log and the reason. */
class TryFailure extends Error {}

export class HttpsDownload implements ModelDownload {
  readonly takesToken = true;
  readonly source: string;

  constructor(private readonly opts: HttpsDownloadOptions) {
    this.source = opts.source;
  }

  async download(dest: string, request: DownloadRequest): Promise<DownloadOutcome> {
    const { source, log, deadline } = this.opts;
    const expected = request.expectedSizeBytes;
    for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
      const have = await sizeOf(dest);
      if (have >= expected) break;
      log(`downloading ${source} (attempt ${attempt}/${DOWNLOAD_ATTEMPTS}${have > 0 ? `, resuming at ${have} bytes` : ''})`);
      let detail: string;
      try {
        await this.once(dest, have, request.bearerToken);
        return { ok: true };
      } catch (e) {
        detail = e instanceof Error ? e.message : String(e);
      }
      log(`download failed: ${detail}`);
      const got = `got ${await sizeOf(dest)} of ${expected} bytes`;
      if (attempt === DOWNLOAD_ATTEMPTS) {
        return { ok: false, reason: `model download from ${source} failed after ${DOWNLOAD_ATTEMPTS} attempts (last error: ${detail}); ${got}` };
      }
      const delay = retryDelayMs(attempt, this.opts.random);
      if (Math.floor(delay / 1000) + 1 >= deadline.secondsLeft()) {
        return { ok: false, reason: `model download from ${source} did not finish within the boot deadline of ${deadline.seconds} s (last error: ${detail}); ${got}` };
      }
      await this.opts.clock.sleep(delay);
    }
    return { ok: true };
  }

  /** One try: fetches from byte `offset` on (the whole file for 0), following redirects; throws a TryFailure saying why it stopped. */
  private async once(dest: string, offset: number, token: string | undefined): Promise<void> {
    const left = this.opts.deadline.timeLimitMs() - this.opts.clock.now();
    if (left <= 0) throw new TryFailure('no time left before the boot\'s time limit');
    const controller = new AbortController();
    const stopAt = setTimeout(() => controller.abort(new TryFailure('stopped at the boot\'s time limit')), left);
    try {
      let url = new URL(this.opts.source);
      const origin = url.origin;
      for (let redirects = 0; ; redirects++) {
        // The token is for the source's own host: a redirect elsewhere (a CDN's signed URL) goes without it, as curl does.
        const headers: Record<string, string> = {};
        if (token !== undefined && url.origin === origin) headers.authorization = `Bearer ${token}`;
        if (offset > 0) headers.range = `bytes=${offset}-`;
        const res = await this.get(url, headers, controller.signal);
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location !== undefined) {
          res.resume();
          if (redirects === MAX_REDIRECTS) throw new TryFailure(`more than ${MAX_REDIRECTS} redirects`);
          url = new URL(res.headers.location, url);
          if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TryFailure(`redirected to a ${url.protocol} URL`);
          continue;
        }
        if (status !== 200 && status !== 206) {
          res.resume();
          throw new TryFailure(`HTTP ${status}`);
        }
        let from = 0;
        if (status === 206) {
          from = Number(/^bytes (\d+)-/.exec(res.headers['content-range'] ?? '')?.[1] ?? NaN);
          if (from !== offset) {
            res.resume();
            throw new TryFailure(`asked for bytes from ${offset}, got ${res.headers['content-range'] ?? 'no Content-Range'}`);
          }
        }
        // A 200 to a Range request is the whole file again: it is written from the start (curl -C - would give up).
        await this.receive(res, dest, from, controller);
        return;
      }
    } catch (e) {
      if (controller.signal.aborted && controller.signal.reason instanceof TryFailure) throw controller.signal.reason;
      throw e instanceof TryFailure ? e : new TryFailure((e as Error).message);
    } finally {
      clearTimeout(stopAt);
      controller.abort();
    }
  }

  /** Sends the GET; resolves with the response's headers, within the connect timeout. */
  private get(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
    const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
    if (send === undefined) return Promise.reject(new TryFailure(`not an http(s) URL: ${url.protocol}`));
    return new Promise((resolve, reject) => {
      const req = send(url, { headers, signal });
      const timer = setTimeout(() => req.destroy(new TryFailure(`no response within ${(this.opts.connectTimeoutMs ?? 20_000) / 1000} s`)), this.opts.connectTimeoutMs ?? 20_000);
      req.on('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end();
    });
  }

  /** Writes the body to `dest` from byte `from` on; fails on a cut connection or a stalled transfer. */
  private receive(res: IncomingMessage, dest: string, from: number, controller: AbortController): Promise<void> {
    const stallMs = this.opts.stallMs ?? 60_000;
    const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    return new Promise((resolve, reject) => {
      const file = createWriteStream(dest, from > 0 ? { flags: 'r+', start: from } : { flags: 'w' });
      let received = 0;
      let windowStart = 0;
      let failed: Error | undefined;
      const fail = (e: Error) => {
        if (failed !== undefined) return;
        failed = e;
        res.destroy();
        file.end();
      };
      const stall = setInterval(() => {
        if (received - windowStart < (1024 * stallMs) / 1000) fail(new TryFailure(`less than 1 KiB/s for ${stallMs / 1000} s`));
        windowStart = received;
      }, stallMs);
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (!file.write(chunk)) {
          res.pause();
          file.once('drain', () => res.resume());
        }
      });
      res.on('end', () => {
        if (length !== undefined && received !== length) fail(new TryFailure(`connection closed after ${received} of ${length} bytes`));
        else file.end();
      });
      res.on('aborted', () => fail(new TryFailure(`connection closed after ${received} bytes`)));
      res.on('error', (e) => fail(e.message === 'aborted' ? new TryFailure(`connection closed after ${received} bytes`) : e));
      const onAbort = () => fail(controller.signal.reason instanceof Error ? controller.signal.reason : new TryFailure('aborted'));
      controller.signal.addEventListener('abort', onAbort);
      file.on('error', (e) => fail(e));
      file.on('close', () => {
        clearInterval(stall);
        controller.signal.removeEventListener('abort', onAbort);
        if (failed !== undefined) reject(failed);
        else resolve();
      });
    });
  }
}

/** The size of `file`, 0 where there is none. */
async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
