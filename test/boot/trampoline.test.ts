/**
 * The user-data trampoline for the TypeScript boot program
 * (lib/boot/trampoline.sh, rendered by lib/boot/trampoline.ts). What it does
 * on an instance is the instance box's (test/integration/instance-box.test.ts);
 * here: its rendering, its size, and that bash and shellcheck take it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { renderTrampoline, TRAMPOLINE_TEMPLATE, TrampolineValues } from '../../lib/boot/trampoline';

const VALUES: TrampolineValues = {
  BOOT_ENV: '/etc/graviton-llm/boot.env',
  BUNDLE: '/opt/graviton-llm/boot.js',
  RESULT: '/var/lib/graviton-llm/boot-result.json',
  BUNDLE_URL: 's3://${Token[TOKEN.123]}/0123abcd.js',
  BUNDLE_SHA256: 'a'.repeat(64),
};

test('every value is filled in where the template names it, and nothing else changes', () => {
  const text = renderTrampoline(VALUES);
  expect(text).not.toMatch(/@[A-Z0-9_]+@/);
  expect(text).toContain('BOOT_ENV=/etc/graviton-llm/boot.env BUNDLE=/opt/graviton-llm/boot.js RESULT=/var/lib/graviton-llm/boot-result.json\n');
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
