/**
 * The smoke command end to end: against a real llama-server (native build of
 * the pinned release, the tiny generated model, an API key enforced; set up
 * as bench.test.ts does) it passes; against a port with nothing listening,
 * a server answering HTTP 500 and a scripted stream far slower than the
 * target it fails with exit code 1 and says why. The slow case uses a gap
 * twelve times the target, so no timing can make it flaky.
 */
import { mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { main, type SmokeReport } from '../../tools/bench/smoke-cli';
import { type RunningLlamaServer } from '../support/llama-server';
import { startTinyLlamaServer } from '../support/tiny-llama-server';
import { startScriptedServer, type ScriptedServer } from '../tools/support/scripted-sse-server';

const SETUP_TIMEOUT_MS = 60 * 60 * 1000;
const API_KEY = 'smoke-test-key-0123456789abcdef';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'smoke-it-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the command's main() with its own environment; returns the exit code and what it printed. */
async function smoke(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string; last: string }> {
  const out: string[] = [];
  const err: string[] = [];
  // Recorded rather than printed; the verdict line is echoed below so it shows in the test log.
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  let code: number;
  try {
    code = await main(argv, env);
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  const last = [...out, ...err].find((l) => l.startsWith('smoke test ')) ?? '';
  process.stdout.write(`smoke ${argv.join(' ')} -> exit ${code}: ${last}\n`);
  return { code, out: out.join('\n'), err: err.join('\n'), last };
}

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as SmokeReport;

describe('against llama-server with the tiny model', () => {
  let server: RunningLlamaServer;

  beforeAll(async () => {
    server = await startTinyLlamaServer(API_KEY);
    await fs.writeFile(path.join(dir, 'key'), `${API_KEY}\n`);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop();
  });

  // Targets far above what the tiny model needs even on a loaded CI machine (tens of ms per token
  // at worst): these tests check the command, and a slow endpoint's verdict is tested below.
  test('passes with the URL from $GLLM_ENDPOINT_URL: exit 0, a PASSED line, the verdict as JSON', async () => {
    const json = path.join(dir, 'out', 'smoke.json');
    const r = await smoke(['--api-key-file', path.join(dir, 'key'), '--output-tokens', '16', '--target-tpot-ms', '10000', '--json-out', json], {
      GLLM_ENDPOINT_URL: `${server.url}/v1`,
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^smoke test PASSED: 4\/4 requests, p90 TTFT \d+\.\d ms, p90 TPOT \d+\.\d ms\/token \(target 10000 ms\)$/m);
    expect(r.err).toBe(`smoke: 4 requests of 16 output tokens, 1 at a time, to ${server.url}/v1/chat/completions`);

    const report = readReport(json);
    expect(report).toMatchObject({ tool: 'graviton-llm smoke', passed: true, reasons: [], line: r.last });
    expect(report.settings).toMatchObject({ requests: 4, concurrency: 1, outputTokens: 16, targetTpotMs: 10000 });
    // ignore_eos: the random model produces exactly max_tokens.
    expect(report.figures).toMatchObject({ requests: 4, succeeded: 4, outputTokens: 64, errors: {} });
    expect(report.figures!.summary.outputTokens).toMatchObject({ min: 16, max: 16 });
    expect(report.figures!.p90TpotMs).toBeGreaterThan(0);
    expect(readFileSync(json, 'utf8')).not.toContain(API_KEY);
  });

  test('two at a time with a TTFT target also passes', async () => {
    const r = await smoke(['--url', server.url, '--api-key-file', path.join(dir, 'key'), '--concurrency', '2', '--output-tokens', '8', '--target-tpot-ms', '10000', '--target-ttft-ms', '60000']);
    expect(r.code).toBe(0);
    expect(r.last).toMatch(/^smoke test PASSED: 4\/4 requests, p90 TTFT \S+ ms \(target 60000 ms\), p90 TPOT \S+ ms\/token \(target 10000 ms\)$/);
  });

  test('a wrong key fails every request with HTTP 401', async () => {
    const r = await smoke(['--url', server.url, '--requests', '2'], { GRAVITON_LLM_API_KEY: 'not-the-key' });
    expect(r.code).toBe(1);
    expect(r.last).toMatch(/^smoke test FAILED: 2 of 2 requests failed, first with http_401: HTTP 401: .*; no output tokens came back$/);
  });
});

describe('against failing endpoints', () => {
  test('nothing listening: exit 1, the connection refused', async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));

    const json = path.join(dir, 'refused.json');
    const r = await smoke(['--url', `http://127.0.0.1:${port}/v1`, '--timeout-s', '10', '--json-out', json]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.last).toMatch(/^smoke test FAILED: 4 of 4 requests failed, first with network: .*ECONNREFUSED.*; no output tokens came back$/);
    expect(readReport(json)).toMatchObject({ passed: false, figures: { requests: 4, succeeded: 0, errors: { network: 4 } } });
  });

  test('a server answering HTTP 500: exit 1, the status and the body', async () => {
    const http500: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":500,"message":"model failed to load"}}');
      });
    });
    await new Promise<void>((r) => http500.listen(0, '127.0.0.1', r));
    try {
      const { port } = http500.address() as AddressInfo;
      const r = await smoke(['--url', `http://127.0.0.1:${port}/v1`, '--requests', '2']);
      expect(r.code).toBe(1);
      expect(r.last).toBe(
        'smoke test FAILED: 2 of 2 requests failed, first with http_5xx: HTTP 500: {"error":{"code":500,"message":"model failed to load"}}; no output tokens came back',
      );
    } finally {
      http500.closeAllConnections();
      await new Promise((r) => http500.close(r));
    }
  });

  describe('a stream slower than the target', () => {
    let slow: ScriptedServer;
    beforeAll(async () => {
      slow = await startScriptedServer({ ttftMs: 5, gapMs: 60, tokens: 4, promptTokens: 5 });
    });
    afterAll(() => slow?.close());

    test('60 ms between tokens against a 5 ms target: exit 1, measured vs target', async () => {
      const json = path.join(dir, 'slow.json');
      const r = await smoke(['--url', slow.base('ok'), '--target-tpot-ms', '5', '--requests', '2', '--output-tokens', '4', '--json-out', json]);
      expect(r.code).toBe(1);
      expect(r.last).toMatch(/^smoke test FAILED: p90 time per output token \d+\.\d ms is above the 5 ms target$/);
      const report = readReport(json);
      expect(report.figures).toMatchObject({ requests: 2, succeeded: 2, outputTokens: 8 });
      expect(report.figures!.p90TpotMs).toBeGreaterThan(5);
    });

    test('the same stream passes a target above its gap, so the failure above is the target, not the stream', async () => {
      const r = await smoke(['--url', slow.base('ok'), '--target-tpot-ms', '5000', '--requests', '2', '--output-tokens', '4']);
      expect(r.code).toBe(0);
      expect(r.last).toMatch(/^smoke test PASSED: 2\/2 requests, .*\(target 5000 ms\)$/);
    });
  });
});
