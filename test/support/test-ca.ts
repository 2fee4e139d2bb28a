/**
 * A throwaway certificate authority and a server certificate it signed, made
 * with the openssl CLI in a temporary directory, for tests that speak real
 * TLS: the client must be told to trust the CA, as a Lambda function would
 * have to be for an ACM Private CA certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestCertificates {
  /** The CA's certificate (PEM): what a client must trust. */
  readonly caPem: string;
  /** The same, as a file (for NODE_EXTRA_CA_CERTS). */
  readonly caFile: string;
  /** The server's private key and certificate (PEM), signed by the CA. */
  readonly key: string;
  readonly cert: string;
  /** Deletes the directory. */
  dispose(): void;
}

/** A CA and a server certificate for `names` (DNS subject alternative names), valid for two days. */
export function makeTestCertificates(names: readonly string[]): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-ca-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=graviton-llm throwaway test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${names[0]}`);
  writeFileSync(file('server.ext'), [
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
  ].join('\n'));
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'server.ext', '-out', 'server.pem');
  return {
    caPem: readFileSync(file('ca.pem'), 'utf8'),
    caFile: file('ca.pem'),
    key: readFileSync(file('server.key'), 'utf8'),
    cert: readFileSync(file('server.pem'), 'utf8'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
