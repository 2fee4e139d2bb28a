/**
 * tools/dev/lint-templates.py: cfn-lint with one false positive of older
 * releases set aside, and nothing else. Runs the real cfn-lint.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { synthWith } from '../../support/synth';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const lintTest = cfnLint.status === 0 ? test : test.skip;
if (cfnLint.status !== 0) console.log('cfn-lint is not installed: skipping the template lint wrapper\'s tests');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-lint-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(template: any, name: string) {
  const file = path.join(dir, `${name}.template.json`);
  writeFileSync(file, JSON.stringify(template));
  const r = spawnSync('python3', [path.join(ROOT, 'tools', 'dev', 'lint-templates.py'), file], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const groupOf = (template: any) => Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::AutoScaling::AutoScalingGroup');

lintTest('the default stack lints clean, the group carrying no cfn-lint ignore of its own', () => {
  const template = synthWith({}, { bundle: false }).template.toJSON();
  expect(groupOf(template).Metadata?.['cfn-lint']).toBeUndefined();
  const r = lint(template, 'default');
  expect(r.out.split('\n').filter((l) => l && !l.startsWith('set aside (cfn-lint before #4656'))).toEqual([]);
  expect(r.status).toBe(0);
}, 120_000);

lintTest('any other error in the update policy still fails, naming rule, message and path', () => {
  const template = synthWith({}, { bundle: false }).template.toJSON();
  groupOf(template).UpdatePolicy.AutoScalingScheduledAction = { IgnoreUnmodifiedGroupSizeProperties: 'sometimes' };
  const r = lint(template, 'broken');
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/E3016 .*'sometimes'.*\(Resources\/FleetGroup\w+\/UpdatePolicy\/AutoScalingScheduledAction\/IgnoreUnmodifiedGroupSizeProperties\)/);
}, 120_000);
