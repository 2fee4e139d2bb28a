/**
 * The user-data trampoline for the TypeScript boot program
 * (lib/boot/trampoline.sh, rendered by lib/boot/trampoline.ts). What it does
 * on an instance is the instance box's (test/integration/instance-box.test.ts);
 * here: its rendering, its size, that bash and shellcheck take it, and how it
 * reads boot.env, run with stand-ins for node, the AWS CLI and IMDS.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { renderTrampoline, TRAMPOLINE_TEMPLATE, TrampolineValues } from '../../lib/boot/trampoline';

const VALUES: TrampolineValues = {
  BOOT_ENV: '/etc/graviton-llm/boot.env',
  BUNDLE: '/opt/graviton-llm/boot.js',
  RESULT: '/var/lib/graviton-llm/boot-result.json',
  LOG_DIR: '/var/log/graviton-llm',
  BUNDLE_URL: 's3://${Token[TOKEN.123]}/0123abcd.js',
  BUNDLE_SHA256: 'a'.repeat(64),
};

test('every value is filled in where the template names it, and nothing else changes', () => {
  const text = renderTrampoline(VALUES);
  expect(text).not.toMatch(/@[A-Z0-9_]+@/);
  expect(text).toContain('BOOT_ENV=/etc/graviton-llm/boot.env BUNDLE=/opt/graviton-llm/boot.js RESULT=/var/lib/graviton-llm/boot-result.json LOG_DIR=/var/log/graviton-llm\n');
  expect(text).toContain(`echo "${'a'.repeat(64)}  $BUNDLE" | sha256sum --check --strict --quiet`);
  expect(text).toContain("'s3://${Token[TOKEN.123]}/0123abcd.js' \"$BUNDLE\"");
  expect(text.split('\n')).toHaveLength(readFileSync(TRAMPOLINE_TEMPLATE, 'utf8').split('\n').length);
});

test('a value the shell would read as syntax is refused, naming it', () => {
  expect(() => renderTrampoline({ ...VALUES, BUNDLE: '/opt/x y' })).toThrow('trampoline value BUNDLE="/opt/x y" has characters that need quoting');
  expect(() => renderTrampoline({ ...VALUES, BUNDLE_URL: "s3://b/k'; rm -rf /" })).toThrow('BUNDLE_URL');
});

test('it stays a trampoline: under 80 lines with the user data\'s five around it', () => {
  expect(renderTrampoline(VALUES).trimEnd().split('\n').length + 5).toBeLessThan(80);
});

test('bash parses it', () => {
  const r = spawnSync('bash', ['-n'], { input: renderTrampoline(VALUES), encoding: 'utf8' });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
});

const shellcheck = spawnSync('sh', ['-c', 'command -v shellcheck']).status === 0;
(shellcheck ? test : test.skip)('shellcheck finds nothing in it', () => {
  // As CloudFormation resolves it (an unresolved token's `${` would read as an expansion).
  const deployed = renderTrampoline({ ...VALUES, BUNDLE_URL: 's3://cdk-hnb659fds-assets-123456789012-us-east-1/0123abcd.js' });
  const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: deployed, encoding: 'utf8' });
  expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: '' });
});

describe('boot.env is read as data, never run', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gllm-trampoline-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function stub(name: string, body: string): void {
    writeFileSync(join(dir, 'bin', name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  }

  test('a value with & and ~ (a URL query) runs nothing and expands nothing; the failure report reads the values whole', () => {
    spawnSync('mkdir', ['-p', join(dir, 'bin')]);
    const bundle = join(dir, 'boot.js');
    writeFileSync(bundle, '// the bundle\n');
    const env = join(dir, 'boot.env');
    writeFileSync(env, [
      'GLLM_REGION=eu-west-1', 'GLLM_BOOT_FAILURE_METRIC=BootFailure', 'GLLM_METRIC_NAMESPACE=GravitonLlm',
      'GLLM_AUTOSCALING_GROUP=the-group', 'GLLM_LIFECYCLE_HOOK=graviton-llm-launch,graviton-llm-boot',
      'GLLM_STACK_NAME=the-stack', 'GLLM_SIGNAL_RESOURCE=Fleet',
      // Sourced, `&gllm-planted` would run that program and `~root` would become root's home.
      'GLLM_MODEL_SOURCE=https://models.example/m.gguf?a=1&gllm-planted&b=~root',
      'NOT_OURS=1', '',
    ].join('\n'));
    const calls = join(dir, 'calls');
    stub('gllm-planted', `touch ${join(dir, 'planted')}`);
    // A Node that runs the bundle but writes no result (as a program refusing its configuration).
    stub('node', `[ "$1" = -p ] && { echo 18; exit 0; }; echo "node $*" >>${calls}; exit 2`);
    stub('aws', `echo "aws $*" >>${calls}`);
    stub('curl', 'case "$*" in *api/token*) echo token ;; *instance-id*) echo i-0123 ;; esac');
    const script = renderTrampoline({
      BOOT_ENV: env, BUNDLE: bundle, RESULT: join(dir, 'boot-result.json'), LOG_DIR: join(dir, 'log'), BUNDLE_URL: 's3://bucket/key.js',
      BUNDLE_SHA256: createHash('sha256').update(readFileSync(bundle)).digest('hex'),
    });
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, HOME: dir } });
    expect(r.status).toBe(1);
    expect(existsSync(join(dir, 'planted'))).toBe(false);
    expect(r.stderr).toContain(`the boot program (${join(dir, 'bin', 'node')} ${bundle}) exited with status 2 without writing ${join(dir, 'boot-result.json')}; reporting the failure`);
    const region = '--cli-connect-timeout 10 --cli-read-timeout 30 --region eu-west-1';
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      `node ${bundle} ${env}`,
      `aws ${region} cloudwatch put-metric-data --namespace GravitonLlm --metric-name BootFailure --dimensions AutoScalingGroupName=the-group --value 1 --unit Count`,
      `aws ${region} autoscaling complete-lifecycle-action --auto-scaling-group-name the-group --lifecycle-hook-name graviton-llm-launch --instance-id i-0123 --lifecycle-action-result ABANDON`,
      `aws ${region} autoscaling complete-lifecycle-action --auto-scaling-group-name the-group --lifecycle-hook-name graviton-llm-boot --instance-id i-0123 --lifecycle-action-result ABANDON`,
      `aws ${region} cloudformation signal-resource --stack-name the-stack --logical-resource-id Fleet --unique-id i-0123 --status FAILURE`,
    ]);
  });
});
