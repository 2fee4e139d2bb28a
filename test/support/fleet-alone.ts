/**
 * An InferenceFleet built alone in a fresh stack, beside a plain VPC, bucket
 * and target group, with the kit's checks: shared by the fleet's and its
 * builder's tests.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import { registerChecks } from '../../lib/app/checks';
import { AL2023_ARM64_AMI_PARAMETER } from '../../lib/catalogs/amazon-linux';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { InferenceFleet, InferenceFleetProps } from '../../lib/constructs/inference-fleet';
import { GravitonInstanceType } from '../../lib/instances/graviton-instance-type';
import { LlamaModel } from '../../lib/models/llama-model';
import { constructTestApp } from './synth';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const KEY_ARN = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/team/llm/key`;
export const RECORDED_AMI = 'ami-0fedcba9876543210';

/** An App with cdk.json's feature flags, no Lambda bundling, and the AMI lookup as cdk.context.json records it. */
export function newApp(context: Record<string, unknown> = {}): App {
  return constructTestApp({ ...context, [`ssm:account=${ACCOUNT}:parameterName=${AL2023_ARM64_AMI_PARAMETER}:region=${REGION}`]: RECORDED_AMI });
}

/** The test's own stand-ins are not under test: their findings are acknowledged on them alone, never on the part. */
export function fixture<T extends IConstruct>(construct: T, ...ids: string[]): T {
  ids.forEach((id) => Validations.of(construct).acknowledge({ id, reason: 'A test fixture standing in for the caller\'s own resource.' }));
  return construct;
}

export interface Built {
  readonly stack: Stack;
  readonly fleet: InferenceFleet;
  readonly bucket: s3.Bucket;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly t: Template;
}

/**
 * Builds an InferenceFleet alone in a fresh stack, beside a plain VPC, bucket and target group, with
 * the kit's checks (cdk-nag, CloudFormation Validate), and synthesizes it.
 */
export function build(env: { account?: string; region: string }, more: (stack: Stack) => Partial<InferenceFleetProps> = () => ({}), context: Record<string, unknown> = {}): Built {
  const app = newApp(context);
  registerChecks(app);
  const stack = new Stack(app, 'Fleet', { env });
  const vpc = fixture(new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }), 'AwsSolutions-VPC7');
  const bucket = fixture(new s3.Bucket(stack, 'Cache', { enforceSSL: true }), 'AwsSolutions-S1');
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, 'Targets', { vpc, port: 8080, protocol: elbv2.ApplicationProtocol.HTTP });
  const fleet = new InferenceFleet(stack, 'Fleet', {
    endpointName: 'team-llm',
    signalStackName: 'Fleet',
    vpc,
    subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    instanceType: GravitonInstanceType.of('c7g.xlarge'),
    model: LlamaModel.LLAMA_3_2_1B_INSTRUCT_Q4_0,
    llamaCppRef: LLAMA_CPP_DEFAULT_REF,
    llamaCppCommit: LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF],
    port: 8080,
    parallelSlots: 4,
    contextTokensPerSlot: 4096,
    promptCacheMiB: 1024,
    minCapacity: 1,
    maxCapacity: 3,
    bootTimeout: Duration.minutes(40),
    rootVolumeGiB: 30,
    rootVolumeThroughputMiBps: 250,
    logRetention: logs.RetentionDays.ONE_MONTH,
    updateMinHealthyPercent: 100,
    updateBakeTime: Duration.minutes(15),
    warmPoolSize: 0,
    artifactBucket: bucket,
    apiKeyParameterName: '/team/llm/key',
    apiKeyParameterArn: KEY_ARN,
    targetGroup,
    ...more(stack),
  });
  app.synth();
  return { stack, fleet, bucket, targetGroup, t: Template.fromStack(stack) };
}

export const only = (t: Template, type: string): { id: string } & Record<string, any> => {
  const found = Object.entries(t.findResources(type));
  expect(found).toHaveLength(1);
  return { id: found[0][0], ...found[0][1] };
};
export const userDataOf = (t: Template) => JSON.stringify(only(t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData);
/** Every statement of the policies attached to the fleet's role. */
export const roleStatements = (s: Built) => {
  const roleId = s.stack.getLogicalId(s.fleet.role.node.defaultChild as any);
  return Object.values(s.t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
};
