/**
 * SsmSecrets with a stand-in `aws` (a real SSM runs in aws.moto.test.ts):
 * access denied is retried (a new instance role can take seconds to apply),
 * and what lands on disk is the value alone, its owner's alone, or nothing.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsCli } from '../../../../runtime/boot/adapters/aws-cli';
import { SsmSecrets } from '../../../../runtime/boot/adapters/ssm-secrets';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { Exec } from '../../../../runtime/boot/core/exec';
import { FakeClock } from '../support/fake-clock';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gllm-ssm-secrets-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** SsmSecrets over an `aws` that answers the Nth call with `answers[N-1]` (the last one after that). */
function secretsWith(answers: readonly string[]) {
  const program = join(dir, 'aws');
  answers.forEach((a, i) => writeFileSync(join(dir, `answer.${i + 1}`), `${a}\n`));
  writeFileSync(program, `#!/bin/bash\necho "$*" >>${dir}/calls\nn=$(wc -l <${dir}/calls)\nf=${dir}/answer.$n; [[ -f $f ]] || f=${dir}/answer.${answers.length}\nsource $f\n`);
  chmodSync(program, 0o755);
  const clock = new FakeClock();
  const deadline = new Deadline(clock.now(), 600, clock);
  const lines: string[] = [];
  const cli = new AwsCli({ program, region: 'eu-west-1', exec: new Exec({ clock }), clock, random: () => 0.5, deadline: () => deadline, log: (m) => lines.push(m) });
  return { secrets: new SsmSecrets(cli), lines };
}
const DENIED = `echo 'An error occurred (AccessDeniedException) when calling the GetParameter operation: not authorized' >&2; exit 254`;

test('names the parameter as people read it', () => {
  expect(secretsWith(['exit 0']).secrets.describe('/graviton-llm/x/api-key')).toBe('SSM parameter /graviton-llm/x/api-key');
});

test('access denied is retried until the role applies; the value then lands whole, 0600, over a stale temporary file', async () => {
  const { secrets, lines } = secretsWith([DENIED, 'echo secret-value']);
  const dest = join(dir, 'api-key');
  // A temporary name left by a boot that died, readable by all: not reused as it is.
  writeFileSync(`${dest}.tmp.${process.pid}`, 'stale', { mode: 0o644 });
  await expect(secrets.readToFile('/graviton-llm/api-key', dest)).resolves.toEqual({ kind: 'read' });
  expect(readFileSync(dest, 'utf8')).toBe('secret-value\n');
  expect(statSync(dest).mode & 0o777).toBe(0o600);
  expect(readdirSync(dir).filter((n) => n.startsWith('api-key'))).toEqual(['api-key']);
  expect(lines.join('\n')).not.toContain('secret-value');
});

test('a read that keeps failing is failed and writes nothing', async () => {
  const { secrets } = secretsWith([DENIED]);
  const dest = join(dir, 'api-key');
  await expect(secrets.readToFile('/graviton-llm/api-key', dest)).resolves.toMatchObject({ kind: 'failed', detail: expect.stringContaining('AccessDeniedException') });
  expect(readdirSync(dir).filter((n) => n.startsWith('api-key'))).toEqual([]);
});
