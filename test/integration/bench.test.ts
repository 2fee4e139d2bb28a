/**
 * The bench command end to end against a real llama-server (native build of
 * the pinned release, the tiny generated model, an API key enforced): a
 * short sweep whose every request succeeds with the token counts asked for,
 * and the three result files. Kept to a few requests: it checks the tool,
 * it does not benchmark anything.
 */
import { mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { main } from '../../tools/bench/cli';
import type { BenchReport } from '../../tools/bench/run';
import { type RunningLlamaServer } from '../support/llama-server';
import { startTinyLlamaServer } from '../support/tiny-llama-server';

const SETUP_TIMEOUT_MS = 60 * 60 * 1000;
const API_KEY = 'bench-test-key-0123456789abcdef';

let server: RunningLlamaServer;
let dir: string;

beforeAll(async () => {
  server = await startTinyLlamaServer(API_KEY);
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-it-'));
  await fs.writeFile(path.join(dir, 'key'), `${API_KEY}\n`);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a short concurrency sweep against llama-server: all succeed, exact output lengths, reports written', async () => {
  const out = path.join(dir, 'out');
  const code = await main([
    '--url', `${server.url}/v1`,
    '--api-key-file', path.join(dir, 'key'),
    '--concurrency', '1,2',
    '--requests', '3',
    '--warmup', '1',
    '--input-tokens', '16-32',
    '--output-tokens', '8',
    '--progress', 'lines',
    '--out', out,
    '--label', 'integration',
  ]);
  expect(code).toBe(0);
  const report = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as BenchReport;
  expect(report.warmup).toMatchObject({ requests: 1, failed: 0 });
  expect(report.levels.map((l) => [l.level.value, l.requests, l.succeeded])).toEqual([[1, 3, 3], [2, 3, 3]]);
  for (const l of report.levels) {
    expect(l.errors).toEqual({});
    // ignore_eos: the random model still produces exactly max_tokens.
    expect(l.outputTokens).toMatchObject({ min: 8, max: 8 });
    // The chat template adds a header, so prompt tokens exceed the words sent.
    expect(l.inputTokens.min).toBeGreaterThanOrEqual(16);
    expect(l.ttftMs.count).toBe(3);
    expect(l.tpotMs.count).toBe(3);
    expect(l.itlMs.count).toBeGreaterThan(0);
    expect(l.outputTokensPerS).toBeGreaterThan(0);
  }
  expect(readFileSync(path.join(out, 'results.md'), 'utf8')).toContain('| concurrency 2 | 3 / 3 |');
  expect(readFileSync(path.join(out, 'chart.html'), 'utf8')).toContain('<svg');
  // The key never reaches the results.
  for (const f of ['results.json', 'results.md', 'chart.html']) expect(readFileSync(path.join(out, f), 'utf8')).not.toContain(API_KEY);
});

test('a wrong key stops the run after the warm-up with exit code 1', async () => {
  await fs.writeFile(path.join(dir, 'wrong'), 'not-the-key\n');
  const code = await main(['--url', server.url, '--api-key-file', path.join(dir, 'wrong'), '--warmup', '1', '--progress', 'off', '--out', path.join(dir, 'never')]);
  expect(code).toBe(1);
  await expect(fs.stat(path.join(dir, 'never'))).rejects.toThrow();
});
