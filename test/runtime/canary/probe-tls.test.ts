/**
 * The canary's client over real TLS: a local HTTPS server with a certificate
 * for llm.internal.example from a throwaway CA, reached at 127.0.0.1 as the
 * canary reaches an internal load balancer by its own DNS name. The name
 * sent (SNI and Host) and verified is the domain; verification is never off.
 */
import { probeOnce, type ProbeOutcome } from '../../../runtime/canary/probe';
import { makeTestCertificates, type TestCertificates } from '../../support/test-ca';
import { startScriptedServer, type ScriptedServer } from '../../tools/support/scripted-sse-server';

const DOMAIN = 'llm.internal.example';
let certs: TestCertificates;
let other: TestCertificates;
let server: ScriptedServer;

beforeAll(async () => {
  certs = makeTestCertificates([DOMAIN]);
  // Another CA, with a certificate for the same name: a chain the client was not told to trust.
  other = makeTestCertificates([DOMAIN]);
  server = await startScriptedServer({ ttftMs: 5, gapMs: 5, tokens: 3, promptTokens: 4 }, { tls: { key: certs.key, cert: certs.cert } });
});
afterAll(async () => {
  await server?.close();
  certs?.dispose();
  other?.dispose();
});

const probe = (extra: { tlsServerName?: string; ca?: string; endpointUrl?: string }): Promise<ProbeOutcome> =>
  probeOnce({
    endpointUrl: extra.endpointUrl ?? server.base('ok'),
    apiKey: 'tls-test-key',
    maxTokens: 3,
    prompt: 'hi',
    signal: AbortSignal.timeout(10_000),
    ...extra,
  });

const failure = (o: ProbeOutcome) => {
  if (o.ok) throw new Error('expected a failure');
  return o;
};

test('at the address, with the domain as server name and the CA trusted: the stream is measured', async () => {
  const before = server.names.length;
  const outcome = await probe({ tlsServerName: DOMAIN, ca: certs.caPem });
  if (!outcome.ok) throw new Error(`${outcome.reason}: ${outcome.detail}`);
  expect(outcome.measurement.outputTokens).toBe(3);
  // The server saw the domain, not the address, both in the handshake and in the request.
  expect(server.names.slice(before)).toEqual([{ host: `${DOMAIN}:${server.port}`, serverName: DOMAIN }]);
});

test('without a server name, the address is what the certificate is checked against, and it is refused (the old canary)', async () => {
  const f = failure(await probe({ ca: certs.caPem }));
  expect(f.reason).toBe('tls');
  expect(f.detail).toContain("the endpoint's certificate was refused for 127.0.0.1");
  expect(f.detail).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
});

test('a name the certificate does not cover is refused, naming both', async () => {
  const f = failure(await probe({ tlsServerName: 'other.internal.example', ca: certs.caPem }));
  expect(f.reason).toBe('tls');
  expect(f.detail).toContain('refused for other.internal.example');
  expect(f.detail).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  expect(f.detail).toContain(`DNS:${DOMAIN}`);
});

test('a certificate from a CA the client does not trust is refused', async () => {
  const f = failure(await probe({ tlsServerName: DOMAIN, ca: other.caPem }));
  expect(f.reason).toBe('tls');
  expect(f.detail).toContain(`refused for ${DOMAIN}`);
  expect(f.detail).toMatch(/unable to verify|self.signed|local issuer/i);
});

test('with Node\'s public roots only (no CA given), a private CA\'s certificate is refused', async () => {
  const f = failure(await probe({ tlsServerName: DOMAIN }));
  expect(f.reason).toBe('tls');
  expect(f.detail).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
});

test('a server name with a plain-HTTP URL is a configuration mistake, not a silent downgrade', async () => {
  const f = failure(await probe({ tlsServerName: DOMAIN, endpointUrl: server.base('ok').replace('https:', 'http:') }));
  expect(f.reason).toBe('network');
  expect(f.detail).toContain('needs an https URL');
});
