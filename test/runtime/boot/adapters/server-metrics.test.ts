/** llama-server's load from its /metrics, from a stand-in server that takes the API key as llama-server does. */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServerMetrics } from '../../../../runtime/boot/adapters/server-metrics';
import { requestsInFlight } from '../../../../runtime/boot/server/metrics';

/** As llama-server writes it (tools/server: one HELP and TYPE line per metric). */
const metrics = (processing: number, deferred: number) => [
  '# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.',
  '# TYPE llamacpp:prompt_tokens_total counter',
  'llamacpp:prompt_tokens_total 120',
  '# HELP llamacpp:requests_processing Number of requests processing.',
  '# TYPE llamacpp:requests_processing gauge',
  `llamacpp:requests_processing ${processing}`,
  '# HELP llamacpp:requests_deferred Number of requests deferred.',
  '# TYPE llamacpp:requests_deferred gauge',
  `llamacpp:requests_deferred ${deferred}`,
  '',
].join('\n');

test('requests in flight are those generating and those waiting for a slot', () => {
  expect(requestsInFlight(metrics(2, 1))).toBe(3);
  expect(requestsInFlight(metrics(0, 0))).toBe(0);
  expect(requestsInFlight('llamacpp:requests_processing 1\n')).toBeUndefined();
  expect(requestsInFlight('<html>not metrics</html>')).toBeUndefined();
});

describe('from a stand-in server', () => {
  let server: Server;
  let port: number;
  let load = metrics(1, 0);
  const dir = mkdtempSync(path.join(tmpdir(), 'gllm-metrics-'));
  const keyFile = path.join(dir, 'api-key');
  writeFileSync(keyFile, 'secret-key\n');

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') res.writeHead(404).end();
      else if (req.headers.authorization !== 'Bearer secret-key') res.writeHead(401).end('{"error":"Invalid API Key"}');
      else res.writeHead(200).end(load);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('reads the load with the key file\'s key', async () => {
    load = metrics(1, 2);
    await expect(new ServerMetrics({ port, apiKeyFile: keyFile }).read()).resolves.toEqual({ ok: true, inFlight: 3 });
  });

  test('a refused key, a missing key file or no server: unknown, with why', async () => {
    const wrong = path.join(dir, 'wrong-key');
    writeFileSync(wrong, 'other');
    await expect(new ServerMetrics({ port, apiKeyFile: wrong }).read()).resolves.toEqual({ ok: false, detail: 'GET /metrics: HTTP 401' });
    await expect(new ServerMetrics({ port, apiKeyFile: path.join(dir, 'none') }).read()).resolves.toMatchObject({ ok: false });
    await expect(new ServerMetrics({ port: 1, apiKeyFile: keyFile }).read()).resolves.toMatchObject({ ok: false });
  });
});
