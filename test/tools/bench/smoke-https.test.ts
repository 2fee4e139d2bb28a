/**
 * The smoke command against an HTTPS endpoint whose certificate comes from a
 * private CA (a throwaway one, made with openssl), as an internal endpoint's
 * ACM Private CA certificate would: run as `npm run smoke` runs it, in a
 * process of its own, since NODE_EXTRA_CA_CERTS is read only when Node starts.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

import { REPO_ROOT } from '../../support/synth';
import { makeTestCertificates, type TestCertificates } from '../../support/test-ca';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-sse-server';

let certs: TestCertificates;
let server: ScriptedServer;

beforeAll(async () => {
  certs = makeTestCertificates(['localhost']);
  server = await startScriptedServer({ ttftMs: 5, gapMs: 5, tokens: 4, promptTokens: 4 }, { tls: { key: certs.key, cert: certs.cert } });
});
afterAll(async () => {
  await server?.close();
  certs?.dispose();
});

/** Runs the smoke CLI; resolves with its exit code and output (it exits 1 on a failed check). */
function smoke(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const args = [path.join(REPO_ROOT, 'tools', 'bench', 'smoke-cli.ts'),
    '--url', `https://localhost:${server.port}/ok/v1`, '--requests', '2', '--output-tokens', '4', '--target-tpot-ms', '10000', '--timeout-s', '20'];
  return new Promise((resolve) => {
    execFile(tsx, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GRAVITON_LLM_API_KEY: 'k', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, output: `${stdout}${stderr}` }));
  });
}

test('passes over HTTPS once the CA is trusted through NODE_EXTRA_CA_CERTS', async () => {
  const r = await smoke({ NODE_EXTRA_CA_CERTS: certs.caFile });
  expect(r.output).toMatch(/^smoke test PASSED: 2\/2 requests/m);
  expect(r.code).toBe(0);
});

test('fails, calling it a refused certificate, when the CA is not trusted', async () => {
  const r = await smoke({});
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/^smoke test FAILED: 2 of 2 requests failed, first with tls: certificate refused: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify)/m);
});
