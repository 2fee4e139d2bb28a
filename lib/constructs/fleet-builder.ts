import { createHash } from 'node:crypto';
import { CfnWaitCondition, CfnWaitConditionHandle, Duration, Fn, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { type BootEnvironment, ROLE_BOOT_ENV_KEYS } from '../../runtime/boot/contract';
import { INSTANCE_FILES } from '../../runtime/boot/layout';
import { PropProblem, throwIfProblems } from '../base/problems';
import {
  PropType, durationType, numberType, objectType, propTypeProblems, required, stringListType, stringType, withoutProps,
} from '../base/prop-types';
import { bootEnvironmentCommands, builderSignalCommands } from '../boot/instance-user-data';
import {
  acknowledgeInstanceRoleFindings, cacheObjectsArn, grantAssetRead, grantBootMetrics, grantCacheRead, grantCacheWrite, grantModelSourceRead, instanceRole,
} from './instance-permissions';
import { machineImageType } from './fleet-image';
import { rangeProblems } from './prop-ranges';
import { httpsOutOnlySecurityGroup } from './instance-security-group';

export interface FleetBuilderProps {
  readonly vpc: ec2.IVpc;
  /** The fleet's private subnets: the builder runs in the first of them. */
  readonly subnets: ec2.SubnetSelection;
  /** The fleet's AMI: the build is made on the image the fleet runs it on. */
  readonly machineImage: ec2.IMachineImage;
  /** The fleet's instance type (`c7g.xlarge`): the build is for its generation's flags. */
  readonly instanceType: string;
  /**
   * Root volume size in GiB, the fleet's: the build and the model fit as they do there. The
   * volume has gp3's baseline throughput: an instance's block device mapping has no Throughput
   * (AWS::EC2::Instance Ebs, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ec2-instance-ebs.html),
   * only a launch template's has, and the builder reads and writes each file once.
   */
  readonly rootVolumeGiB: number;
  /**
   * The fleet's boot timeout. The builder's boot has the fleet's deadline
   * (it reads the same boot.env), and the wait condition waits this long
   * plus BUILDER_WAIT_MARGIN for its report.
   */
  readonly bootTimeout: Duration;
  /**
   * The fleet's boot environment, without the role keys (GLLM_ROLE,
   * GLLM_PINS_FILE, GLLM_BUILDER_SIGNAL_FILE): the builder adds its own, so
   * that it builds exactly what the fleet will read.
   */
  readonly bootEnvironment: { [key: string]: string };
  /** The boot program's asset, which the builder's role may read (from assetBucketAccount's bucket only). */
  readonly bootProgram: s3assets.Asset;
  /** The fleet's trampoline lines (trampolineCommands), which end the builder's user data as they end the fleet's. */
  readonly trampolineCommands: string[];
  /**
   * Account that owns the bucket of the boot program's asset.
   * @default - the stack's account
   */
  readonly assetBucketAccount?: string;
  /** The artifact bucket: the builder is the only writer of its cache prefix. */
  readonly artifactBucket: s3.IBucket;
  /** The boot log group the builder's boot log goes to. */
  readonly bootLogGroup: logs.ILogGroup;
  /** ARNs of the SSM parameters the boot reads: the agent's two configurations, and the Hugging Face token if there is one. */
  readonly readableParameterArns: string[];
  /** The model's source (`https://...` or `s3://...`); an s3:// source the builder's role may read. */
  readonly modelSource: string;
}

/**
 * What the wait condition allows beyond the boot timeout: the boot's own
 * deadline already leaves the report's grace and the launch's allowance
 * inside bootTimeout (bootDeadlineSeconds); this covers a slow instance start
 * and the trampoline's Node install, which the fleet's hook does not wait for.
 */
export const BUILDER_WAIT_MARGIN = Duration.minutes(10);
/** A wait condition's Timeout at most: "The maximum time that can be specified for this property is 12 hours (43200 seconds)" (AWS::CloudFormation::WaitCondition, Timeout). */
export const WAIT_CONDITION_MAX_SECONDS = 43200;

const BUILDER_PROP_TYPES: { readonly [K in keyof FleetBuilderProps]-?: PropType } = {
  vpc: required(objectType('expected an ec2.IVpc', 'vpcId'), 'an ec2.IVpc'),
  subnets: required(objectType('expected an ec2.SubnetSelection'), 'an ec2.SubnetSelection'),
  machineImage: required(machineImageType, 'an ec2.IMachineImage (the fleet\'s)'),
  instanceType: required(stringType('expected an instance type name, e.g. c7g.xlarge'), 'the fleet\'s instance type name'),
  rootVolumeGiB: required(numberType('expected a whole number of GiB'), 'a whole number of GiB'),
  bootTimeout: required(durationType('Duration.minutes(40)'), 'a Duration, e.g. Duration.minutes(40)'),
  bootEnvironment: required(objectType('expected the fleet\'s BootEnvironment (an object of GLLM_ keys)', 'GLLM_MODE'), 'the fleet\'s BootEnvironment'),
  bootProgram: required(objectType('expected an s3assets.Asset', 's3ObjectKey'), 'the boot program\'s s3assets.Asset'),
  trampolineCommands: required(stringListType('expected the trampoline\'s user data lines'), 'the trampoline\'s user data lines'),
  assetBucketAccount: stringType('expected a 12-digit AWS account id (a string)'),
  artifactBucket: required(objectType('expected an s3.IBucket', 'bucketName'), 'an s3.IBucket'),
  bootLogGroup: required(objectType('expected a logs.ILogGroup', 'logGroupArn'), 'a logs.ILogGroup'),
  readableParameterArns: required(stringListType('expected a list of SSM parameter ARNs'), 'a list of SSM parameter ARNs'),
  modelSource: required(stringType('expected the model\'s source URL'), 'the model\'s source URL'),
};

/** What is wrong with the builder's props, as far as synth can tell. */
export function builderPropProblems(props: FleetBuilderProps): PropProblem[] {
  const types = propTypeProblems(props, BUILDER_PROP_TYPES);
  const p: Partial<FleetBuilderProps> = withoutProps(props, types);
  const roleKeys = p.bootEnvironment === undefined ? [] : Object.keys(ROLE_BOOT_ENV_KEYS).filter((k) => (p.bootEnvironment as Record<string, unknown>)[k] !== undefined);
  const timeout = p.bootTimeout === undefined || p.bootTimeout.isUnresolved() ? undefined : waitTimeoutSeconds(p.bootTimeout);
  return [
    ...types,
    ...(roleKeys.length > 0 ? [{
      field: 'bootEnvironment',
      given: roleKeys,
      expected: 'expected the fleet\'s environment without GLLM_ROLE, GLLM_PINS_FILE and GLLM_BUILDER_SIGNAL_FILE: the builder sets its role and signal file itself, and a builder reads no pins',
    }] : []),
    ...(p.trampolineCommands !== undefined && p.trampolineCommands.length === 0
      ? [{ field: 'trampolineCommands', given: [], expected: 'expected the trampoline\'s lines (trampolineCommands): without them the builder runs nothing' }] : []),
    ...(timeout !== undefined && timeout > WAIT_CONDITION_MAX_SECONDS ? [{
      field: 'bootTimeout',
      given: `${p.bootTimeout!.toMinutes({ integral: false })} minutes`,
      expected: `expected at most ${(WAIT_CONDITION_MAX_SECONDS - BUILDER_WAIT_MARGIN.toSeconds()) / 60} minutes: the wait condition waits the boot timeout plus ${BUILDER_WAIT_MARGIN.toMinutes()} minutes, and a wait condition waits 12 hours at most`,
    }] : []),
    ...(p.vpc !== undefined && p.subnets !== undefined ? subnetProblems(p.vpc, p.subnets) : []),
    ...rangeProblems([
      { field: 'rootVolumeGiB', setting: 'rootVolumeGiB', value: p.rootVolumeGiB },
    ]),
  ];
}

/** The builder runs in the first subnet of the selection: there must be one. */
function subnetProblems(vpc: ec2.IVpc, subnets: ec2.SubnetSelection): PropProblem[] {
  let found: string | undefined;
  try {
    found = vpc.selectSubnets(subnets).subnets.length === 0 ? 'it selects none' : undefined;
  } catch (e) {
    // selectSubnets throws for a subnet type the VPC lacks.
    found = (e as Error).message;
  }
  return found === undefined ? [] : [{
    field: 'subnets',
    given: subnets,
    expected: `expected a selection with at least one subnet of the VPC (${found}): the builder runs in the first`,
  }];
}

/** The wait condition's Timeout, in seconds: the boot timeout and the margin. */
export function waitTimeoutSeconds(bootTimeout: Duration): number {
  return bootTimeout.toSeconds() + BUILDER_WAIT_MARGIN.toSeconds();
}

/**
 * The fleet's trusted builder: one EC2 instance that compiles llama.cpp and
 * prepares the model for the fleet, publishes both under the cache prefix (its
 * role is the only one that may write there), reports what it wrote (object,
 * version id, SHA-256) to a wait condition, and terminates itself. The fleet's
 * launch template carries that report (the wait condition's Data) as its
 * pins, so the fleet runs exactly what the builder made and trusts nothing
 * else in the bucket (docs/design/trusted-builder.md).
 *
 * The three resources' construct ids end with `inputsHash`, a digest of
 * everything the builder is made from as CloudFormation sees it. A change of
 * any of it (llama.cpp commit, generation, AMI, model, quantization, the boot
 * program) is three new logical ids: CloudFormation creates a new handle,
 * wait condition and builder, and deletes the old ones. It must: the wait
 * condition and its handle support no update ("Updates are not supported";
 * "Do not reuse an old wait condition handle", AWS CloudFormation User Guide,
 * AWS::CloudFormation::WaitCondition,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitcondition.html),
 * and a changed UserData only stops and starts an instance without running
 * it again (AWS::EC2::Instance, UserData,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-instance.html),
 * which a terminated builder cannot even do. Anything else (an alarm, the
 * fleet's size) keeps the ids, and nothing is built.
 *
 * A fleet has one builder per Graviton generation of its types (InferenceFleet.builders),
 * and adds the bucket policy that lets no one else write the cache (denyOtherCacheWriters).
 */
export class FleetBuilder extends Construct {
  readonly role: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  readonly handle: CfnWaitConditionHandle;
  readonly waitCondition: CfnWaitCondition;
  readonly instance: ec2.CfnInstance;
  /** 8 hex digits of the SHA-256 of the builder's inputs, as the template holds them (see the class). */
  readonly inputsHash: string;

  constructor(scope: Construct, id: string, props: FleetBuilderProps) {
    super(scope, id);
    throwIfProblems(`FleetBuilder ${this.node.path}`, builderPropProblems(props));
    const stack = Stack.of(this);

    this.role = instanceRole(this, 'Role', 'graviton-llm builder: the only writer of the cache prefix; own boot log; Session Manager');
    grantCacheRead(this.role, props.artifactBucket);
    grantCacheWrite(this.role, props.artifactBucket);
    grantModelSourceRead(this.role, props.modelSource);
    grantAssetRead(this.role, props.bootProgram, props.assetBucketAccount ?? stack.account);
    grantBootMetrics(this.role);
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [...props.readableParameterArns] }));
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [props.bootLogGroup.logGroupArn],
    }));
    acknowledgeInstanceRoleFindings(this.role, props.artifactBucket, 'read, and write without delete');

    // No inbound rule of its own; out, HTTPS only (instance-security-group.ts says why that is enough).
    this.securityGroup = httpsOutOnlySecurityGroup(this, 'SecurityGroup', props.vpc, 'graviton-llm builder: no inbound; HTTPS out only');

    // A plain map in the props (what jsii can carry); the fleet renders it from the typed BootEnvironment.
    const env = { ...props.bootEnvironment, GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: INSTANCE_FILES.builderSignal } as BootEnvironment;
    const envCommands = bootEnvironmentCommands(env, (v) => Token.isUnresolved(v));
    const image = props.machineImage.getImage(this);
    const timeoutSeconds = waitTimeoutSeconds(props.bootTimeout);
    const subnet = props.vpc.selectSubnets(props.subnets).subnets[0];
    this.inputsHash = builderInputsHash(stack, {
      userData: [...envCommands, ...props.trampolineCommands].join('\n'),
      imageId: image.imageId,
      instanceType: props.instanceType,
      rootVolumeGiB: props.rootVolumeGiB,
      timeoutSeconds,
      // A new subnet replaces the instance (SubnetId: Replacement), which must be a new builder with a new handle.
      subnetId: subnet.subnetId,
    });

    this.handle = new CfnWaitConditionHandle(this, `Handle${this.inputsHash}`);
    const userData = ec2.UserData.forLinux();
    userData.addCommands(...envCommands, ...builderSignalCommands(this.handle.ref), ...props.trampolineCommands);
    const profile = new iam.InstanceProfile(this, 'InstanceProfile', { role: this.role });
    // The L1: ec2.Instance reads the subnet's availability zone, which a subnet imported by id alone
    // (an existing VPC) does not have, and its requireImdsv2 adds a launch template through an aspect.
    this.instance = new ec2.CfnInstance(this, `Instance${this.inputsHash}`, {
      imageId: image.imageId,
      instanceType: props.instanceType,
      // No public address, said explicitly (the subnet is private; Control Tower's CT.EC2.PR.8 asks for it).
      networkInterfaces: [{ deviceIndex: '0', subnetId: subnet.subnetId, groupSet: [this.securityGroup.securityGroupId], associatePublicIpAddress: false }],
      // One-minute metrics while it builds (CPU, disk): a builder that stalls shows it.
      monitoring: true,
      iamInstanceProfile: profile.instanceProfileName,
      userData: Fn.base64(userData.render()),
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
      // The builder ends with `shutdown -h now` after its report; terminate makes that the end of
      // the instance ("Change instance initiated shutdown behavior", EC2 user guide,
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_ChangingInstanceInitiatedShutdownBehavior.html).
      instanceInitiatedShutdownBehavior: 'terminate',
      blockDeviceMappings: [{
        deviceName: '/dev/xvda',
        ebs: { volumeSize: props.rootVolumeGiB, volumeType: 'gp3', encrypted: true, iops: 3000, deleteOnTermination: true },
      }],
    });
    Tags.of(this.instance).add('Name', this.node.path);
    // The builder starts with its policies in place (the role's default policy is a child of the role),
    // and once its subnet routes out (a new VPC's NAT route): it fetches the source and the model.
    this.instance.node.addDependency(this.role, props.vpc.selectSubnets({ subnets: [subnet] }).internetConnectivityEstablished);
    if (!Token.isUnresolved(image.imageId)) {
      Validations.of(this.instance).acknowledge({
        id: 'CloudFormation-Validate::W9010',
        reason: 'The AMI is pinned on purpose, the fleet\'s own (fleetImage: amiId, or the lookup cdk.context.json records): a new Amazon Linux release reaches the builder and the fleet only when the configuration says so.',
      });
    }
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions::AwsSolutions-EC26',
      reason: 'cdk-nag\'s EC26 throws on an instance without a launch template in a stack that has one (it reads launchTemplate.launchTemplateName of undefined). '
        + 'The root volume is encrypted (Encrypted: true, asserted in test/constructs/fleet-builder.test.ts).',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason: 'The builder terminates itself after its one build (shutdown behaviour terminate), and CloudFormation deletes it when the inputs change: termination protection would stop both.',
    });

    this.waitCondition = new CfnWaitCondition(this, `Done${this.inputsHash}`, {
      handle: this.handle.ref,
      count: 1,
      timeout: String(timeoutSeconds),
    });
    // The timer starts when the wait condition is created, so it must come after the builder:
    // "you can use the DependsOn attribute ... so that the wait condition ... starts ... after the
    // resource is created" (AWS::CloudFormation::WaitCondition, "Using DependsOn with wait conditions",
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitcondition.html).
    this.waitCondition.node.addDependency(this.instance);
  }

  /** The wait condition's Data (`Fn::GetAtt [Done<hash>, Data]`), which the fleet's pins file carries under this builder's generation. */
  get waitData(): string {
    return Token.asString(this.waitCondition.getAtt('Data'));
  }
}

/**
 * A bucket policy that denies s3:PutObject under the cache prefix to every principal but the
 * builders' roles (aws:PrincipalArn is the role's ARN for its sessions, IAM User Guide, "AWS global
 * condition context keys", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
 * so that no identity policy given later (an admin's, another stack's) writes a build. The
 * explicit deny wins over any allow ("Policy evaluation logic",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 * One statement for every generation's builder: a negated operator with several values matches
 * a principal that is none of them ("Condition operators", ArnNotEquals, and "Creating a
 * condition with multiple keys or values",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html),
 * where a statement per builder would deny each builder the others' writes. One builder's ARN is
 * given as a string, as before there were several.
 * Delete is not denied: the bucket's autoDeleteObjects empties it on stack delete (and adds its
 * own deny of PutObject then). An imported bucket has no policy here, and gets none.
 */
export function denyOtherCacheWriters(bucket: s3.IBucket, builderRoles: readonly iam.IRole[]): void {
  const arns = builderRoles.map((r) => r.roleArn);
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'OnlyTheBuilderWritesTheCache',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['s3:PutObject'],
    resources: [cacheObjectsArn(bucket)],
    conditions: { ArnNotEquals: { 'aws:PrincipalArn': arns.length === 1 ? arns[0] : arns } },
  }));
}

/**
 * The first 8 hex digits of the SHA-256 of `inputs` as CloudFormation will
 * see them: resolved by the stack, so a reference is its logical id (never a
 * token's sequence number, which depends on what else the app made first).
 */
export function builderInputsHash(stack: Stack, inputs: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(stack.resolve(inputs))).digest('hex').slice(0, 8);
}
