/**
 * AwsReporter's choices that need no AWS: cfn-signal where installed (a
 * stand-in script records its arguments), no instance id, nothing to report
 * to. The calls themselves run against moto in aws.moto.test.ts.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsCli } from '../../../../runtime/boot/adapters/aws-cli';
import { AwsReporter, type AwsReporterOptions, SIGNAL_REASON_MAX_CHARS } from '../../../../runtime/boot/adapters/aws-reporter';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { Exec } from '../../../../runtime/boot/core/exec';
import type { InstanceIdOutcome } from '../../../../runtime/boot/ports';
import { FakeClock } from '../support/fake-clock';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gllm-aws-reporter-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A program that records its arguments, one per line, then a blank line, and runs `then`. */
function recorder(name: string, then = 'exit 0'): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >>${dir}/${name}.calls\necho >>${dir}/${name}.calls\n${then}\n`);
  chmodSync(p, 0o755);
  return p;
}
const callsOf = (name: string): string[][] =>
  readFileSync(join(dir, `${name}.calls`), 'utf8').split('\n\n').filter((c) => c.trim() !== '').map((c) => c.trim().split('\n'));

function reporter(overrides: Partial<AwsReporterOptions> = {}, instanceId: InstanceIdOutcome = { ok: true, instanceId: 'i-0abc' }) {
  const clock = new FakeClock();
  const deadline = new Deadline(clock.now(), 600, clock);
  const lines: string[] = [];
  let idReads = 0;
  const cli = new AwsCli({ program: recorder('aws'), region: 'eu-west-1', exec: new Exec({ clock }), clock, random: () => 0.5, deadline: () => deadline, log: (m) => lines.push(m) });
  const r = new AwsReporter({
    cli, platform: { instanceId: async () => (idReads++, instanceId) }, autoScalingGroup: 'Stack-fleet', lifecycleHooks: ['launch'],
    stackName: 'Stack', signalResource: 'Fleet', metricNamespace: 'GravitonLlm', bootFailureMetric: 'BootFailure',
    cfnSignal: join(dir, 'no-cfn-signal'), log: (m) => lines.push(m), ...overrides,
  });
  return { r, lines, idReads: () => idReads };
}

test('with cfn-signal installed, the signal goes through it: exit code, the reason cut to 250 characters, stack, resource, region', async () => {
  const cfn = recorder('cfn-signal');
  const { r, lines, idReads } = reporter({ cfnSignal: cfn });
  const reason = `step model: ${'é'.repeat(300)}`;
  await expect(r.signal('FAILURE', reason)).resolves.toEqual({ kind: 'done' });
  expect(callsOf('cfn-signal')).toEqual([['-e', '1', '--reason', Array.from(reason).slice(0, SIGNAL_REASON_MAX_CHARS).join(''), '--stack', 'Stack', '--resource', 'Fleet', '--region', 'eu-west-1']]);
  expect(Array.from(callsOf('cfn-signal')[0][3])).toHaveLength(250);
  expect(lines).toEqual(['signalled FAILURE to Stack/Fleet']);
  // cfn-signal finds the instance itself.
  expect(idReads()).toBe(0);
});

test('cfn-signal\'s ValidationError (the stack waits for no signal) is final and no warning', async () => {
  const cfn = recorder('cfn-signal', 'echo "ValidationError: Resource Fleet is in CREATE_COMPLETE state and cannot be signaled" >&2; exit 1');
  const { r, lines } = reporter({ cfnSignal: cfn });
  await expect(r.signal('SUCCESS', 'llama-server healthy')).resolves.toMatchObject({ kind: 'refused' });
  expect(callsOf('cfn-signal')).toHaveLength(1);
  expect(lines).toEqual(['the stack takes no signal now (it is not being created); SUCCESS not signalled']);
});

test('without an instance id, the lifecycle action and the API signal are not sent, with a warning each', async () => {
  const { r, lines } = reporter({}, { ok: false, detail: 'no instance metadata service here' });
  const noId = { kind: 'failed', detail: 'no instance id: no instance metadata service here' };
  // For the boot's result: the group's own hook failed, the others were not tried.
  await expect(r.completeLifecycleAction('ABANDON')).resolves.toEqual({ ...noId, hooks: [{ hook: 'launch', outcome: noId, atMs: expect.any(Number) }] });
  await expect(r.signal('FAILURE', 'x')).resolves.toMatchObject({ kind: 'failed' });
  expect(lines).toEqual([
    'WARNING: could not complete lifecycle action launch with ABANDON: no instance id from the metadata service',
    'WARNING: could not signal FAILURE: no instance id from the metadata service',
  ]);
});

test('the instance id is read once for both reports', async () => {
  const { r, idReads } = reporter();
  await r.completeLifecycleAction('CONTINUE');
  await r.signal('SUCCESS', 'llama-server healthy');
  expect(idReads()).toBe(1);
  expect(callsOf('aws').map((c) => c.slice(4, 6))).toEqual([['autoscaling', 'complete-lifecycle-action'], ['cloudformation', 'signal-resource']]);
});

test('no hook and no metric: nothing to report to, no call', async () => {
  const { r, lines } = reporter({ lifecycleHooks: [], bootFailureMetric: '' });
  await expect(r.completeLifecycleAction('CONTINUE')).resolves.toEqual({ kind: 'skipped', hooks: [] });
  await expect(r.countFailure()).resolves.toEqual({ kind: 'skipped' });
  expect(lines).toEqual([]);
  expect(() => readFileSync(join(dir, 'aws.calls'))).toThrow();
});

test('a hook of an earlier version that fails for another reason than AWS\'s refusal is a warning, not "holds no action"', async () => {
  const { r, lines } = reporter({ lifecycleHooks: ['launch', 'launch-v1'] });
  // The stand-in takes the group's hook and answers the earlier one with a usage error (not retried).
  writeFileSync(join(dir, 'aws'), `#!/bin/sh\ncase "$*" in *launch-v1*) echo "aws: error: argument --instance-id: expected one argument" >&2; exit 2 ;; esac\nexit 0\n`);
  await expect(r.completeLifecycleAction('CONTINUE')).resolves.toEqual({
    kind: 'done',
    hooks: [
      { hook: 'launch', outcome: { kind: 'done' }, atMs: expect.any(Number) },
      { hook: 'launch-v1', outcome: { kind: 'failed', detail: 'exit 2: aws: error: argument --instance-id: expected one argument' }, atMs: expect.any(Number) },
    ],
  });
  expect(lines).toEqual([
    'lifecycle action launch completed with CONTINUE',
    'complete-lifecycle-action launch-v1 CONTINUE failed (exit 2: aws: error: argument --instance-id: expected one argument); not retried: no retry would change it',
    'WARNING: could not complete lifecycle action launch-v1 of an earlier kit version with CONTINUE (exit 2: aws: error: argument --instance-id: expected one argument)',
  ]);
});
