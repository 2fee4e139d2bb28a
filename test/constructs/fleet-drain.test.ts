/**
 * The fleet's side of the drain: its instances are told their target group
 * (GLLM_TARGET_GROUP_ARN), and its role may deregister targets from that
 * group and no other (IAM evaluated on the synthesized policies). The Spot
 * deregistration delay fits the watcher's budget inside the notice.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AL2023_ARM64_AMI_PARAMETER } from '../../lib/catalogs/amazon-linux';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { InferenceFleet } from '../../lib/constructs/inference-fleet';
import { SPOT_DEREGISTRATION_DELAY_SECONDS } from '../../lib/constructs/spot-drain';
import { GravitonInstanceType } from '../../lib/instances/graviton-instance-type';
import { LlamaModel } from '../../lib/models/llama-model';
import { DRAIN_BUDGET_SECONDS, NOTICE_POLL_MS, SPOT_NOTICE_SECONDS } from '../../runtime/boot/drain/budget';
import { allows, resolveIntrinsics } from '../support/iam-eval';
import { constructTestApp } from '../support/synth';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const OWN_TG = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/team-llm/0123456789abcdef`;
const OTHER_TG = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/other/fedcba9876543210`;

function synth() {
  const app = constructTestApp({ [`ssm:account=${ACCOUNT}:parameterName=${AL2023_ARM64_AMI_PARAMETER}:region=${REGION}`]: 'ami-0fedcba9876543210' });
  const stack = new Stack(app, 'Fleet', { env: { account: ACCOUNT, region: REGION } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, 'Targets', { vpc, port: 8080, protocol: elbv2.ApplicationProtocol.HTTP, targetType: elbv2.TargetType.INSTANCE });
  const fleet = new InferenceFleet(stack, 'Fleet', {
    endpointName: 'team-llm', signalStackName: 'Fleet', vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    instanceType: GravitonInstanceType.of('c7g.xlarge'), model: LlamaModel.LLAMA_3_2_1B_INSTRUCT_Q4_0,
    llamaCppRef: LLAMA_CPP_DEFAULT_REF, llamaCppCommit: LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF],
    port: 8080, parallelSlots: 4, contextTokensPerSlot: 4096, promptCacheMiB: 1024, minCapacity: 1, maxCapacity: 3,
    bootTimeout: Duration.minutes(40), rootVolumeGiB: 30, rootVolumeThroughputMiBps: 250, logRetention: logs.RetentionDays.ONE_MONTH,
    updateMinHealthyPercent: 100, updateBakeTime: Duration.minutes(15), warmPoolSize: 0,
    artifactBucket: new s3.Bucket(stack, 'Cache', { enforceSSL: true }), apiKeyParameterName: '/team/llm/key',
    apiKeyParameterArn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/team/llm/key`, targetGroup,
  });
  const t = Template.fromStack(stack);
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
