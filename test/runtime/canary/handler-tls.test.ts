/**
 * The canary handler against a local HTTPS endpoint whose certificate covers
 * llm.internal.example only, reached at 127.0.0.1 as the deployed canary
 * reaches an internal load balancer by its own DNS name, with
 * ENDPOINT_TLS_SERVER_NAME set as the stack sets it.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';

import { handler, resetApiKeyCache } from '../../../runtime/canary/handler';
import { REPO_ROOT } from '../../support/synth';
import { makeTestCertificates, type TestCertificates } from '../../support/test-ca';
import { startScriptedServer, type ScriptedServer } from '../../tools/support/scripted-sse-server';

const DOMAIN = 'llm.internal.example';
const KEY = 'handler-tls-key-0123456789';
let certs: TestCertificates;
let server: ScriptedServer;
const savedEnv = { ...process.env };

const canaryEnv = (): Record<string, string> => ({
  AWS_REGION: 'us-east-1',
  ENDPOINT_URL: server.base('ok'),
  ENDPOINT_TLS_SERVER_NAME: DOMAIN,
  ENDPOINT_NAME: 'tls-test',
  API_KEY_PARAMETER: '/graviton-llm/tls-test/api-key',
  TIMEOUT_MS: '10000',
  MAX_TOKENS: '3',
});

beforeAll(async () => {
  certs = makeTestCertificates([DOMAIN]);
  server = await startScriptedServer({ ttftMs: 5, gapMs: 5, tokens: 3, promptTokens: 4 }, { tls: { key: certs.key, cert: certs.cert } });
});
afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  certs?.dispose();
});

describe('in this process (Node\'s public roots only)', () => {
  const ssm = mockClient(SSMClient);
  let warnings: string[];
  beforeEach(() => {
    ssm.reset();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: KEY } });
    resetApiKeyCache();
    Object.assign(process.env, canaryEnv());
    warnings = [];
    jest.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void warnings.push(a.join(' ')));
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => ssm.restore());

  test('a certificate from a CA Lambda does not trust is a tls failure that says so; nothing is sent', async () => {
    const before = server.bodies.length;
    await expect(handler({})).resolves.toEqual({ ok: false, reason: 'tls' });
    expect(warnings.join('\n')).toContain(`the endpoint's certificate was refused for ${DOMAIN}`);
    expect(warnings.join('\n')).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(server.bodies.length).toBe(before);
  });

  test.each([
    [{ ENDPOINT_TLS_SERVER_NAME: 'not a name' }, 'ENDPOINT_TLS_SERVER_NAME must be a DNS name'],
    [{ ENDPOINT_URL: 'http://127.0.0.1:1/v1' }, 'ENDPOINT_TLS_SERVER_NAME needs an https:// ENDPOINT_URL'],
  ])('a bad TLS setting is a config failure: %p', async (vars, says) => {
    Object.assign(process.env, vars);
    await expect(handler({})).resolves.toEqual({ ok: false, reason: 'config' });
    expect(warnings.join('\n')).toContain(says);
  });
});

describe('in a process of its own, with the CA in NODE_EXTRA_CA_CERTS', () => {
  const run = async (env: Record<string, string>) => {
    const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
    const script = path.join(__dirname, 'support', 'invoke-handler.ts');
    const { stdout } = await promisify(execFile)(tsx, [script], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_EXTRA_CA_CERTS: certs.caFile, KEY, ...env },
      timeout: 60_000,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`no result; stdout: ${stdout}`);
    return { result: JSON.parse(line.slice('RESULT '.length)), stdout };
  };

  test('the probe succeeds; the endpoint saw the domain in SNI and Host', async () => {
    const before = server.names.length;
    const { result, stdout } = await run(canaryEnv());
    expect(result).toMatchObject({ ok: true, outputTokens: 3 });
    expect(server.names.slice(before)).toEqual([{ host: `${DOMAIN}:${server.port}`, serverName: DOMAIN }]);
    // The EMF record went out, with the success.
    expect(stdout).toMatch(/^\{"_aws".*"CanarySuccess":1/m);
  });

  test('the CA is trusted, but a domain the certificate does not cover is still refused', async () => {
    const { result } = await run({ ...canaryEnv(), ENDPOINT_TLS_SERVER_NAME: 'other.internal.example' });
    expect(result).toEqual({ ok: false, reason: 'tls' });
  });
});
