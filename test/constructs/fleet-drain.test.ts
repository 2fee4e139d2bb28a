/**
 * The fleet's side of the drain: its instances are told their target group
 * (GLLM_TARGET_GROUP_ARN), and its role may deregister targets from that
 * group and no other (IAM evaluated on the synthesized policies). The Spot
 * deregistration delay fits the watcher's budget inside the notice.
 */
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { SPOT_DEREGISTRATION_DELAY_SECONDS } from '../../lib/constructs/spot-drain';
import { DRAIN_BUDGET_SECONDS, NOTICE_POLL_MS, SPOT_NOTICE_SECONDS } from '../../runtime/boot/drain/budget';
import { DRAIN_METRICS, METRIC_NAMESPACE } from '../../lib/monitoring/metric-definitions';
import { ACCOUNT, REGION, build } from '../support/fleet-alone';
import { allows, resolveIntrinsics } from '../support/iam-eval';

const OWN_TG = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/team-llm/0123456789abcdef`;
const OTHER_TG = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/other/fedcba9876543210`;

function synth() {
  const { stack, fleet, targetGroup, t } = build({ account: ACCOUNT, region: REGION });
  const tgId = stack.getLogicalId(targetGroup.node.defaultChild as elbv2.CfnTargetGroup);
  const roleId = stack.getLogicalId(fleet.role.node.defaultChild as any);
  return { t, tgId, roleId };
}

const s = synth();


test('the boot environment names the fleet\'s own target group', () => {
  const lt = Object.values(s.t.findResources('AWS::EC2::LaunchTemplate'))[0];
  const userData = resolveIntrinsics(lt.Properties.LaunchTemplateData.UserData['Fn::Base64'], { account: ACCOUNT, region: REGION, refs: { [s.tgId]: OWN_TG } }) as string;
  expect(userData.split('\n')).toContain(`GLLM_TARGET_GROUP_ARN=${OWN_TG}`);
});

test('the boot environment names the drain metric, which the fleet role may publish in the kit\'s namespace only', () => {
  const lt = Object.values(s.t.findResources('AWS::EC2::LaunchTemplate'))[0];
  const userData = resolveIntrinsics(lt.Properties.LaunchTemplateData.UserData['Fn::Base64'], { account: ACCOUNT, region: REGION, refs: { [s.tgId]: OWN_TG } }) as string;
  expect(userData.split('\n')).toContain(`GLLM_DRAIN_METRIC=${DRAIN_METRICS.drains.name}`);
  expect(userData.split('\n')).toContain(`GLLM_METRIC_NAMESPACE=${METRIC_NAMESPACE}`);
  const statements = Object.values(s.t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: s.roleId }]))
    .flatMap((p) => resolveIntrinsics(p.Properties.PolicyDocument, { account: ACCOUNT, region: REGION, refs: { [s.tgId]: OWN_TG } }).Statement);
  // PutMetricData has no resource-level permissions; the namespace is its condition key
  // (Service Authorization Reference, "Actions, resources, and condition keys for Amazon CloudWatch",
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
  const put = (namespace: string) => allows(statements, { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': namespace } });
  expect(put(METRIC_NAMESPACE)).toBe(true);
  expect(put('Other')).toBe(false);
});

test('the fleet role may deregister targets from its own target group only, and do nothing else to it', () => {
  const statements = Object.values(s.t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: s.roleId }]))
    .flatMap((p) => resolveIntrinsics(p.Properties.PolicyDocument, { account: ACCOUNT, region: REGION, refs: { [s.tgId]: OWN_TG } }).Statement);
  expect(allows(statements, { action: 'elasticloadbalancing:DeregisterTargets', resource: OWN_TG })).toBe(true);
  expect(allows(statements, { action: 'elasticloadbalancing:DeregisterTargets', resource: OTHER_TG })).toBe(false);
  expect(allows(statements, { action: 'elasticloadbalancing:RegisterTargets', resource: OWN_TG })).toBe(false);
  expect(allows(statements, { action: 'elasticloadbalancing:DeleteTargetGroup', resource: OWN_TG })).toBe(false);
});

test('the Spot deregistration delay is the watcher\'s budget, which a notice seen a poll late still fits', () => {
  expect(SPOT_DEREGISTRATION_DELAY_SECONDS).toBe(DRAIN_BUDGET_SECONDS);
  expect(NOTICE_POLL_MS / 1000 + SPOT_DEREGISTRATION_DELAY_SECONDS).toBeLessThan(SPOT_NOTICE_SECONDS);
});
