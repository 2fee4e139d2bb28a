/**
 * The pipeline's smoke-test function, run for real against a local scripted
 * endpoint (fetch, the SSE stream and the canary's probe are all real); only
 * SSM is mocked. What it returns is what the pipeline step judges.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { format } from 'node:util';

import { handler, type SmokeTestResult } from '../../../runtime/smoke-test/handler';
import { type ScriptedServer, startScriptedServer } from '../../tools/support/scripted-sse-server';

const PARAMETER = '/graviton-llm/smoke-test/api-key';
const API_KEY = 'smoke-test-key-0123456789abcdef';
const ssmMock = mockClient(SSMClient);
const savedEnv = { ...process.env };
let server: ScriptedServer;
let logged: string[];

/** Lambda's context with this much time left. */
const context = (remainingMs = 60_000) => ({ getRemainingTimeInMillis: () => remainingMs });

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

beforeAll(async () => {
  // 5 tokens 30 ms apart: every request's TPOT is at least 30 ms, so a 5 ms target cannot be met.
  server = await startScriptedServer({ ttftMs: 20, gapMs: 30, tokens: 5, promptTokens: 7 });
});

afterAll(async () => {
  ssmMock.restore();
  process.env = savedEnv;
  await server.close();
});

beforeEach(() => {
  ssmMock.reset();
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: PARAMETER, Type: 'SecureString', Value: API_KEY } });
  server.bodies.length = 0;
  setEnv({ AWS_REGION: 'us-east-1', ENDPOINT_URL: server.base('ok'), API_KEY_PARAMETER: PARAMETER, REQUESTS: '3', TARGET_TPOT_MS: '1000', MAX_TOKENS: undefined, REQUEST_TIMEOUT_MS: undefined, PROMPT: undefined });
  logged = [];
  for (const method of ['log', 'warn', 'error'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(format(...args)));
  }
});

afterEach(() => {
  // The key never reaches the log or the pipeline.
  for (const line of logged) expect(line).not.toContain(API_KEY);
  jest.restoreAllMocks();
});

test('a healthy endpoint within the target passes: every request streamed, the key read once, decrypted', async () => {
  const result = await handler({}, context());
  expect(result).toMatchObject({ passed: true, reasons: [], requests: 3, succeeded: 3, errors: {}, outputTokens: 15, targetTpotMs: 1000, endpoint: server.base('ok') });
  expect(result.p90TpotMs).toBeGreaterThan(0);
  expect(result.p90TtftMs).toBeGreaterThan(0);
  expect(result.line).toMatch(/^smoke test PASSED: 3\/3 requests, p90 TTFT [\d.]+ ms, p90 TPOT [\d.]+ ms\/token \(target 1000 ms\)$/);
  expect(ssmMock.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: PARAMETER, WithDecryption: true }]);
  expect(server.bodies).toHaveLength(3);
  expect(server.bodies[0]).toMatchObject({ max_tokens: 32, stream: true, temperature: 0 });
  // The verdict is in the function's log too, for whoever looks from the stage's account.
  expect(logged.some((l) => l.includes('"smokeTest":"passed"'))).toBe(true);
});

test('a time per output token above the target fails, naming both', async () => {
  setEnv({ TARGET_TPOT_MS: '5' });
  const result = await handler({}, context());
  expect(result.passed).toBe(false);
  expect(result.succeeded).toBe(3);
  expect(result.reasons).toEqual([expect.stringMatching(/^p90 time per output token [\d.]+ ms is above the 5 ms target$/)]);
  expect(result.line).toBe(`smoke test FAILED: ${result.reasons[0]}`);
});

test.each([
  ['busy', 'http_5xx', 'HTTP 503: busy'],
  ['unauthorized', 'http_401', 'HTTP 401'],
  ['garbage', 'bad_stream', 'event is not JSON'],
  ['empty', 'empty', 'stream completed without any content'],
])('an endpoint answering %s fails with %s', async (script, reason, detail) => {
  setEnv({ ENDPOINT_URL: server.base(script) });
  const result: SmokeTestResult = await handler({}, context());
  expect(result).toMatchObject({ passed: false, requests: 3, succeeded: 0, errors: { [reason]: 3 }, firstError: { reason } });
  expect(result.reasons[0]).toContain(`3 of 3 requests failed, first with ${reason}: `);
  expect(result.reasons[0]).toContain(detail);
  expect(result.reasons).toContain('no output tokens came back');
});

test('a stalled stream ends at the request timeout as a failure, not a hung function', async () => {
  setEnv({ ENDPOINT_URL: server.base('stall'), REQUESTS: '1', REQUEST_TIMEOUT_MS: '200' });
  await expect(handler({}, context())).resolves.toMatchObject({ passed: false, errors: { timeout: 1 } });
});

test('requests the function has no time left for count as failed, so a slow run cannot pass by running out the clock', async () => {
  // 5 s left is exactly the margin kept for returning: nothing may be sent.
  const result = await handler({}, context(5_000));
  expect(result).toMatchObject({ passed: false, requests: 3, succeeded: 0, errors: { timeout: 3 } });
  expect(result.reasons[0]).toContain("not sent: the function's deadline was reached");
  expect(server.bodies).toHaveLength(0);
});

test('an unreadable key fails without sending a request, and says which parameter', async () => {
  ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('User is not authorized to perform ssm:GetParameter'), { name: 'AccessDeniedException' }));
  const result = await handler({}, context());
  expect(result).toMatchObject({ passed: false, requests: 0 });
  expect(result.line).toBe(`smoke test FAILED: could not read the API key ${PARAMETER}: AccessDeniedException: User is not authorized to perform ssm:GetParameter`);
  expect(server.bodies).toHaveLength(0);
});

test('a misconfigured function fails, naming every bad setting', async () => {
  setEnv({ ENDPOINT_URL: undefined, TARGET_TPOT_MS: undefined, REQUESTS: '0' });
  const result = await handler({}, context());
  expect(result.passed).toBe(false);
  expect(result.line).toBe('smoke test FAILED: the smoke-test function is misconfigured: ENDPOINT_URL is not set; REQUESTS must be an integer from 1 to 50, got "0"; TARGET_TPOT_MS is not set');
  expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(0);
});
