/**
 * The drain watcher's ServerLoad on an instance: GET /metrics of the local
 * llama-server, with the API key as its bearer token (every endpoint but
 * /health takes the key, as the CloudWatch agent's scrape does), read from
 * the key file the boot installed (root only; the watcher runs as root).
 */
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { LoadOutcome } from '../drain/watch';
import { requestsInFlight } from '../server/metrics';

/** How long one read may take: a server busy with every stream can be slow to answer. */
const METRICS_TIMEOUT_MS = 2_000;

export interface ServerMetricsOptions {
  /** GLLM_PORT. */
  readonly port: number;
  /** The installed API key (layout.ts apiKeyFile). */
  readonly apiKeyFile: string;
  /** @default "127.0.0.1" */
  readonly host?: string;
}

export class ServerMetrics {
  constructor(private readonly opts: ServerMetricsOptions) {}

  async read(): Promise<LoadOutcome> {
    let key: string;
    try {
      key = (await readFile(this.opts.apiKeyFile, 'utf8')).trim();
    } catch (e) {
      return { ok: false, detail: `cannot read the API key file: ${(e as Error).message}` };
    }
    const answer = await get(this.opts.host ?? '127.0.0.1', this.opts.port, key);
    if (!answer.ok) return answer;
    if (answer.status !== 200) return { ok: false, detail: `GET /metrics: HTTP ${answer.status}` };
    const inFlight = requestsInFlight(answer.body);
    return inFlight === undefined ? { ok: false, detail: 'GET /metrics: no llamacpp:requests_processing and requests_deferred' } : { ok: true, inFlight };
  }
}

function get(host: string, port: number, key: string): Promise<{ ok: true; status: number; body: string } | { ok: false; detail: string }> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/metrics', method: 'GET', agent: false, headers: { Authorization: `Bearer ${key}` }, timeout: METRICS_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => resolve({ ok: false, detail: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${METRICS_TIMEOUT_MS / 1000} s`)));
    req.on('error', (e) => resolve({ ok: false, detail: `GET /metrics: ${e.message}` }));
    req.end();
  });
}
