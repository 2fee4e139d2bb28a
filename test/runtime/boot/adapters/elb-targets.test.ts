import type { AwsCliCall, AwsCliOutcome } from '../../../../runtime/boot/adapters/aws-cli';
import { ElbTargets } from '../../../../runtime/boot/adapters/elb-targets';

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/team-llm/0123456789abcdef';

function targets(outcome: AwsCliOutcome) {
  const calls: { call: AwsCliCall; untilMs: number }[] = [];
  const t = new ElbTargets({ cli: (untilMs) => ({ call: async (call) => { calls.push({ call, untilMs }); return outcome; } }), targetGroupArn: ARN, port: 8080 });
  return { t, calls };
}

test('deregisters the instance on its port from the target group, bounded by the drain\'s end', async () => {
  const { t, calls } = targets({ kind: 'done', stdout: '' });
  await expect(t.deregister('i-0123456789abcdef0', 1234)).resolves.toEqual({ ok: true });
  expect(calls).toHaveLength(1);
  expect(calls[0].untilMs).toBe(1234);
  expect(calls[0].call.args).toEqual(['elbv2', 'deregister-targets', '--target-group-arn', ARN, '--targets', 'Id=i-0123456789abcdef0,Port=8080']);
  expect(calls[0].call.refusals).toEqual(expect.arrayContaining(['TargetGroupNotFound', 'InvalidTarget']));
});

test('a refusal or a failure is not ok, and says why', async () => {
  await expect(targets({ kind: 'refused', code: 'InvalidTarget', detail: 'exit 254' }).t.deregister('i-1', 0)).resolves.toEqual({ ok: false, detail: 'InvalidTarget: exit 254' });
  await expect(targets({ kind: 'failed', detail: 'AccessDenied' }).t.deregister('i-1', 0)).resolves.toEqual({ ok: false, detail: 'AccessDenied' });
});
