/**
 * A plain HTTP POST of JSON that waits as long as the caller says. fetch()
 * (undici) gives up after 300 s without response headers, and a server that
 * answers without streaming sends its headers only when the whole answer is
 * ready: several long prompts queued on a busy 2-core machine take longer.
 */
import * as http from 'node:http';

export interface JsonResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export function postJson(url: string, payload: unknown, timeoutMs: number): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(payload));
    const req = http.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': data.length, Connection: 'close' },
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}
