/**
 * The smoke-test function against an internal HTTPS endpoint, as the stage
 * deploys it: it calls the load balancer's own address (127.0.0.1 here), whose
 * certificate names only the endpoint's domain, and must ask for and verify
 * that domain (ENDPOINT_TLS_SERVER_NAME), as the canary does.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { REPO_ROOT } from '../../support/synth';
import { makeTestCertificates, type TestCertificates } from '../../support/test-ca';
import { startScriptedServer, type ScriptedServer } from '../../tools/support/scripted-sse-server';

const DOMAIN = 'llm.internal.example';
const KEY = 'smoke-tls-key-0123456789';
let certs: TestCertificates;
let server: ScriptedServer;

beforeAll(async () => {
  certs = makeTestCertificates([DOMAIN]);
  server = await startScriptedServer({ ttftMs: 5, gapMs: 5, tokens: 3, promptTokens: 4 }, { tls: { key: certs.key, cert: certs.cert } });
});

afterAll(async () => {
  await server?.close();
  certs?.dispose();
});

async function run(env: Record<string, string>): Promise<any> {
  const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const { stdout } = await promisify(execFile)(tsx, [path.join(__dirname, 'support', 'invoke-handler.ts')], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_EXTRA_CA_CERTS: certs.caFile, KEY,
      AWS_REGION: 'us-east-1', ENDPOINT_URL: server.base('ok'), API_KEY_PARAMETER: '/graviton-llm/tls/api-key',
      REQUESTS: '2', TARGET_TPOT_MS: '1000', ...env,
    },
    timeout: 60_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no result; stdout: ${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

test('with the domain as TLS server name, the smoke test passes; the endpoint saw the domain in SNI and Host', async () => {
  const before = server.names.length;
  const result = await run({ ENDPOINT_TLS_SERVER_NAME: DOMAIN });
  expect(result).toMatchObject({ passed: true, succeeded: 2 });
  expect(server.names.slice(before)).toEqual(Array(2).fill({ host: `${DOMAIN}:${server.port}`, serverName: DOMAIN }));
});

test('without it, the load balancer\'s own address is not a name the certificate covers: every request fails on TLS', async () => {
  const result = await run({});
  expect(result).toMatchObject({ passed: false, succeeded: 0, errors: { tls: 2 } });
});
