import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSecrets } from '../../../../runtime/boot/adapters/file-secrets';
import { apiKeyPhase, type ApiKeyPhaseInput } from '../../../../runtime/boot/phases/api-key';
import type { SecretReadOutcome, Secrets } from '../../../../runtime/boot/ports';
import { failureOf as phaseFailureOf } from '../support/phase-failure';

const root = mkdtempSync(path.join(tmpdir(), 'gllm-api-key-phase-'));

/** SSM parameters in memory: a missing one is not found, one named "flaky" could not be read. */
class FakeSsm implements Secrets {
  constructor(private readonly values: Record<string, string>) {}
  describe(name: string): string {
    return `SSM parameter ${name}`;
  }
  async readToFile(name: string, dest: string): Promise<SecretReadOutcome> {
    if (name === 'flaky') return { kind: 'failed', detail: 'ThrottlingException' };
    const value = this.values[name];
    if (value === undefined) return { kind: 'not-found', detail: 'ParameterNotFound' };
    await writeFile(dest, value, { mode: 0o600 });
    return { kind: 'read' };
  }
}

let n = 0;
function setup(secret: string, secrets: Secrets) {
  const dir = path.join(root, `m${++n}`);
  const layout = { secretDir: path.join(dir, 'secrets'), apiKeyFile: path.join(dir, 'secrets', 'api-key') };
  const lines: string[] = [];
  const events: string[] = [];
  const input: ApiKeyPhaseInput = { secret, secrets, layout, log: (m) => lines.push(m), record: (e, d) => events.push(`${e} ${d}`) };
  return { input, layout, lines, events };
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

const failureOf = (p: Promise<unknown>) => phaseFailureOf(p, 'api-key');

test('the key is installed readable by the boot\'s user only (0600), in a directory of its own (0700)', async () => {
  const s = setup('/gllm/api-key', new FakeSsm({ '/gllm/api-key': 'sk-key\n' }));
  await expect(apiKeyPhase.run(s.input)).resolves.toEqual({ apiKeyFile: s.layout.apiKeyFile });
  expect(readFileSync(s.layout.apiKeyFile, 'utf8')).toBe('sk-key\n');
  expect(mode(s.layout.apiKeyFile)).toBe('600');
  expect(statSync(s.layout.apiKeyFile).uid).toBe(process.getuid?.());
  expect(mode(s.layout.secretDir)).toBe('700');
  expect(readdirSync(s.layout.secretDir)).toEqual(['api-key']);
  expect(s.lines).toEqual([`API key installed in ${s.layout.apiKeyFile} (0600)`]);
  expect(s.lines.join('\n')).not.toContain('sk-key');
  expect(s.events).toEqual([`api-key-installed ${s.layout.apiKeyFile}`]);
});

test('an existing secret directory open to others is closed; a key installed before is replaced', async () => {
  const s = setup('/gllm/api-key', new FakeSsm({ '/gllm/api-key': 'new-key' }));
  mkdirSync(s.layout.secretDir, { recursive: true });
  chmodSync(s.layout.secretDir, 0o755);
  writeFileSync(s.layout.apiKeyFile, 'old-key', { mode: 0o644 });
  await apiKeyPhase.run(s.input);
  expect(readFileSync(s.layout.apiKeyFile, 'utf8')).toBe('new-key');
  expect(mode(s.layout.apiKeyFile)).toBe('600');
  expect(mode(s.layout.secretDir)).toBe('700');
});

test.each([
  ['missing', '/gllm/absent', 'ParameterNotFound'],
  ['unreadable after the adapter\'s retries', 'flaky', 'ThrottlingException'],
])('a key %s fails the boot, naming where it was looked for; no file is left', async (_, name, detail) => {
  const s = setup(name, new FakeSsm({}));
  const f = await failureOf(apiKeyPhase.run(s.input));
  expect(f.reason).toBe(`could not read the API key from SSM parameter ${name}`);
  expect(s.lines).toEqual([`read of SSM parameter ${name} failed: ${detail}`]);
  expect(readdirSync(s.layout.secretDir)).toEqual([]);
});

test('an empty (or blank) key fails the boot, and the old key stays', async () => {
  const s = setup('/gllm/blank', new FakeSsm({ '/gllm/blank': ' \n\t' }));
  mkdirSync(s.layout.secretDir, { recursive: true });
  writeFileSync(s.layout.apiKeyFile, 'old-key', { mode: 0o600 });
  const f = await failureOf(apiKeyPhase.run(s.input));
  expect(f.reason).toBe('the API key is empty');
  expect(readdirSync(s.layout.secretDir)).toEqual(['api-key']);
  expect(readFileSync(s.layout.apiKeyFile, 'utf8')).toBe('old-key');
});

test('locally, the developer\'s key file (FileSecrets) is copied in the same way', async () => {
  const keyFile = path.join(root, 'dev-key');
  writeFileSync(keyFile, 'local-key', { mode: 0o644 });
  const s = setup(keyFile, new FileSecrets());
  await apiKeyPhase.run(s.input);
  expect(readFileSync(s.layout.apiKeyFile, 'utf8')).toBe('local-key');
  expect(mode(s.layout.apiKeyFile)).toBe('600');

  const missing = setup(path.join(root, 'no-such-key'), new FileSecrets());
  const f = await failureOf(apiKeyPhase.run(missing.input));
  expect(f.reason).toBe(`could not read the API key from ${path.join(root, 'no-such-key')}`);
});
