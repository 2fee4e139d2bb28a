import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Annotations, ArnFormat, CfnResource, Duration, Fn, Stack, Tags, Token, Tokenization, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { type BootEnvironment } from '../../runtime/boot/contract';
import { bootBundleFile } from '../boot/boot-bundle-file';
import { bootEnvironmentCommands, pinsFileCommands, trampolineCommands } from '../boot/instance-user-data';
import { LLAMA_CPP_REPOSITORY, llamaCppCommitOf } from '../catalogs/llama-cpp-release';
import { GravitonInstanceType } from '../instances/graviton-instance-type';
import { LlamaModel } from '../models/llama-model';
import { renderAgentConfig, renderPrometheusConfig } from '../monitoring/agent-config';
import { BOOT_METRICS, DRAIN_METRICS, METRIC_NAMESPACE } from '../monitoring/metric-definitions';
import { INSTANCE_FILES } from '../../runtime/boot/layout';
import { CACHE_PREFIX } from './artifact-store';
import { fleetImage, machineImageProblems, machineImageType } from './fleet-image';
import { PropProblem, throwIfProblems } from '../base/problems';
import {
  PropType, booleanType, durationType, isKnown, listType, numberType, objectType, propTypeProblems, required, stringType, withoutProps,
} from '../base/prop-types';
import { llamaModelType } from '../models/llama-model';
import { gravitonInstanceTypeType } from '../instances/graviton-instance-type';
import { capacityProblems, logRetentionProblems } from './endpoint-checks';
import { formatProblems } from './prop-formats';
import { rangeExpectation, rangeProblems } from './prop-ranges';
import { nagArn } from './nag-findings';
import { ignoreCfnLint } from './cfn-lint-findings';
import { httpsOutOnlySecurityGroup } from './instance-security-group';
import { FleetBuilder, denyOtherCacheWriters } from './fleet-builder';
import { FleetGeneration, fleetGenerations, generationEnvironment } from './fleet-generations';
import { pinsGenerationKey } from '../../runtime/boot/pins';
import {
  acknowledgeInstanceRoleFindings, grantAssetRead, grantBootMetrics, grantCacheRead, grantCacheWrite, grantModelSourceRead, instanceRole, parameterArn,
} from './instance-permissions';
import { INSTANCE_WARMUP } from './fleet-scaling';
import {
  PurchaseOption, SPOT_DEFAULTS, instanceTypeListType, instanceTypesProblems, mixedInstancesPolicyOf, purchaseOptionType, purchaseProblems,
} from './fleet-purchase';

export interface InferenceFleetProps {
  /** The name the group and the agent configuration's parameters are named after (see fleetGroupName). */
  readonly endpointName: string;
  /** The CloudFormation stack the instances signal when they serve (or fail to). */
  readonly signalStackName: string;
  readonly vpc: ec2.IVpc;
  /** Private subnets the instances run in. */
  readonly subnets: ec2.SubnetSelection;
  /** The Graviton type the instances run on, and its generation's llama.cpp build flags; with additionalInstanceTypes, the group's first type. */
  readonly instanceType: GravitonInstanceType;
  /**
   * Further catalog types the group may launch, of any generation the kit
   * builds for: each generation gets its own build, and its own builder
   * (GravitonLlmEndpointProps.additionalInstanceTypes). @default - instanceType only
   */
  readonly additionalInstanceTypes?: GravitonInstanceType[];
  /** On demand, or Spot above an on-demand base (GravitonLlmEndpointProps.purchaseOption). @default PurchaseOption.ON_DEMAND */
  readonly purchaseOption?: PurchaseOption;
  /** With Spot: the group's first instances, on demand. @default 0 */
  readonly onDemandBaseCapacity?: number;
  /** With Spot: the percentage on demand above the base. @default 0 - all Spot above the base */
  readonly onDemandPercentageAboveBaseCapacity?: number;
  /** The model the instances serve. */
  readonly model: LlamaModel;
  /** llama.cpp release tag or commit the instances build. */
  readonly llamaCppRef: string;
  /** The commit llamaCppRef names, which the instances fetch and check. */
  readonly llamaCppCommit: string;
  /** Port llama-server listens on. */
  readonly port: number;
  /** Requests each instance serves at once. */
  readonly parallelSlots: number;
  /** Context window of each slot, in tokens. */
  readonly contextTokensPerSlot: number;
  /** llama-server's RAM prompt cache (`--cache-ram`), MiB; 0 turns it off. */
  readonly promptCacheMiB: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** How long a new instance may take to build, fetch the model and serve. */
  readonly bootTimeout: Duration;
  /** Root volume size in GiB. */
  readonly rootVolumeGiB: number;
  /** gp3 throughput of the root volume, in MiB/s. */
  readonly rootVolumeThroughputMiBps: number;
  /** How long the boot, server and metrics logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** Share of the fleet an update's instance refresh keeps serving. */
  readonly updateMinHealthyPercent: number;
  /** How long an update watches the rollback alarms after its last new instance serves. */
  readonly updateBakeTime: Duration;
  /** Stopped, already-booted instances kept ready (0: none). */
  readonly warmPoolSize: number;
  /**
   * SSM SecureString holding a Hugging Face token, for gated repositories.
   * @default - anonymous downloads
   */
  readonly huggingFaceTokenParameterName?: string;
  readonly artifactBucket: s3.IBucket;
  /** Name of the SSM parameter holding the API key, which the boot reads. */
  readonly apiKeyParameterName: string;
  /** ARN of the SSM parameter holding the API key; the instances may read it and nothing else. */
  readonly apiKeyParameterArn: string;
  /** Target group the instances register with. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /**
   * Alarms an update's instance refresh watches: any of them in ALARM fails
   * the refresh, and so the stack update, which CloudFormation rolls back.
   * Instance refresh takes at most ten. @default - none
   */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];
  /**
   * The AMI the instances start from (Amazon Linux 2023 for arm64).
   * @default - the public parameter's value as cdk.context.json records it (see fleetImage)
   */
  readonly machineImage?: ec2.IMachineImage;
  /**
   * Account that owns the bucket of the boot program's asset (its bundle): the
   * role reads the bundle only from a bucket this account owns (`s3:ResourceAccount`), so a
   * bucket of the same, predictable name in another account cannot serve it.
   * @default - the stack's account (the CDK bootstrap bucket's)
   */
  readonly assetBucketAccount?: string;
  /**
   * Build llama.cpp and prepare the model once, on a builder instance the stack
   * runs before the fleet, and pin what it wrote in the template (FleetBuilder):
   * the fleet role only reads the cache, and an instance runs exactly the
   * pinned versions. `false` is the cache without a builder: each new build's
   * first instances compile it and write it to the cache, later instances take
   * the oldest version that passes their checks, and the fleet role may write
   * `cache/` (the whole fleet is then as trusted as its least trusted instance).
   * Choose it where a builder cannot follow the build's inputs, such as a
   * template whose model or instance type is a CloudFormation parameter that
   * changes after the first deploy.
   * @default true
   */
  readonly trustedBuilder?: boolean;
}

/**
 * The fleet's Auto Scaling group name, fixed rather than generated: the agent
 * configuration and the alarms carry it as the metrics' dimension, and the
 * configuration must exist before the first instance boots, which is before
 * the group itself is complete.
 */
export function fleetGroupName(endpointName: string): string {
  return `${endpointName}-fleet`;
}

/**
 * An endpoint's name, which the group (NAME-fleet), the SSM parameters
 * (/graviton-llm/NAME/...), the API key's default parameter, the alarms and
 * the metrics' dimensions are named after: a stack name's shape, which every
 * one of those accepts.
 */
const ENDPOINT_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** An endpoint name of the shape every name built on it accepts; a CloudFormation value (the stack's name) passes. */
export function endpointNameProblems(name: string | undefined, field = 'endpointName'): PropProblem[] {
  return isKnown(name) && !ENDPOINT_NAME.test(name!) ? [{
    field,
    given: name,
    expected: 'expected a letter, then letters, digits or hyphens, at most 128 characters (a stack name\'s shape): the Auto Scaling group (NAME-fleet), '
      + 'the SSM parameters (/graviton-llm/NAME/...) and the alarms are named after it',
  }] : [];
}

const ACCOUNT_ID = /^\d{12}$/;

/** The account that owns the boot program's asset bucket: 12 digits, or a CloudFormation value. */
export function assetBucketAccountProblems(account: string | undefined, field = 'assetBucketAccount'): PropProblem[] {
  return isKnown(account) && !ACCOUNT_ID.test(account!) ? [{
    field,
    given: account,
    expected: 'expected a 12-digit AWS account id, the account that owns the bucket of the boot program asset (the instances read the program only from a bucket it owns); '
      + 'leave it unset for the stack\'s account',
  }] : [];
}

const ranged = (setting: Parameters<typeof rangeExpectation>[0], unit?: string): PropType =>
  required(numberType(rangeExpectation(setting, unit)), rangeExpectation(setting, unit).replace(/^expected /, ''));
const text = (what: string): PropType => required(stringType(`expected ${what} (a string)`), what);

/** The JavaScript type of each prop of the fleet. */
const FLEET_PROP_TYPES: { readonly [K in keyof InferenceFleetProps]-?: PropType } = {
  endpointName: text('the endpoint\'s name'),
  signalStackName: text('the name of the stack the instances signal'),
  vpc: required(objectType('expected an ec2.IVpc', 'vpcId'), 'an ec2.IVpc'),
  subnets: required(objectType('expected an ec2.SubnetSelection'), 'an ec2.SubnetSelection'),
  instanceType: gravitonInstanceTypeType,
  additionalInstanceTypes: instanceTypeListType,
  purchaseOption: purchaseOptionType,
  onDemandBaseCapacity: numberType(rangeExpectation('onDemandBaseCapacity')),
  onDemandPercentageAboveBaseCapacity: numberType(rangeExpectation('onDemandPercentageAboveBaseCapacity')),
  model: llamaModelType,
  llamaCppRef: text('a llama.cpp release tag or commit'),
  llamaCppCommit: text('the 40-character commit llamaCppRef names'),
  port: ranged('port'),
  parallelSlots: ranged('parallelSlots'),
  contextTokensPerSlot: ranged('contextTokensPerSlot'),
  promptCacheMiB: required(numberType('expected a whole number of MiB, 0 or more (0 turns the cache off)'), 'a whole number of MiB, 0 or more'),
  minCapacity: ranged('minCapacity'),
  maxCapacity: ranged('maxCapacity'),
  bootTimeout: required(durationType('Duration.minutes(40)'), 'a Duration, e.g. Duration.minutes(40)'),
  rootVolumeGiB: ranged('rootVolumeGiB'),
  rootVolumeThroughputMiBps: ranged('rootVolumeThroughputMiBps'),
  logRetention: required(numberType('expected a logs.RetentionDays value'), 'a logs.RetentionDays value'),
  updateMinHealthyPercent: ranged('updateMinHealthyPercent'),
  updateBakeTime: required(durationType('Duration.minutes(15)'), 'a Duration, e.g. Duration.minutes(15)'),
  warmPoolSize: ranged('warmPoolSize'),
  huggingFaceTokenParameterName: stringType(),
  artifactBucket: required(objectType('expected an s3.IBucket', 'bucketName'), 'an s3.IBucket'),
  apiKeyParameterName: text('the API key\'s SSM parameter name'),
  apiKeyParameterArn: text('the API key\'s SSM parameter ARN'),
  targetGroup: required(objectType('expected an elbv2.IApplicationTargetGroup', 'targetGroupArn'), 'an elbv2.IApplicationTargetGroup'),
  rollbackAlarms: listType('expected a list of cloudwatch.IAlarm'),
  machineImage: machineImageType,
  assetBucketAccount: stringType('expected a 12-digit AWS account id (a string)'),
  trustedBuilder: booleanType,
};

/**
 * What is wrong with the fleet's props, as far as synth can tell: each prop's
 * type, then the values' rules, each the one definition GravitonLlmEndpoint
 * checks its own props with (a range, the endpoint name's and the llama.cpp
 * ref's shapes, the image's architecture, the bucket's account).
 */
export function fleetPropProblems(props: InferenceFleetProps): PropProblem[] {
  const types = propTypeProblems(props, FLEET_PROP_TYPES);
  const p: Partial<InferenceFleetProps> = withoutProps(props, types);
  const minutes = (d: Duration | undefined) => (d === undefined || d.isUnresolved() ? undefined : d.toMinutes({ integral: false }));
  return [
    ...types,
    ...endpointNameProblems(p.endpointName),
    ...(p.llamaCppRef !== undefined && p.llamaCppCommit !== undefined ? llamaCppCommitOf(p.llamaCppRef, p.llamaCppCommit).problems : []),
    ...machineImageProblems(p.machineImage),
    ...assetBucketAccountProblems(p.assetBucketAccount),
    ...logRetentionProblems(p.logRetention),
    ...formatProblems({ apiKeyParameterName: p.apiKeyParameterName, huggingFaceTokenParameterName: p.huggingFaceTokenParameterName }),
    ...(p.minCapacity !== undefined && p.maxCapacity !== undefined && p.warmPoolSize !== undefined
      ? capacityProblems({ minCapacity: p.minCapacity, maxCapacity: p.maxCapacity, warmPoolSize: p.warmPoolSize })
      : []),
    ...instanceTypesProblems(p),
    ...purchaseProblems(p),
    ...rangeProblems([
      ...(['port', 'parallelSlots', 'contextTokensPerSlot', 'minCapacity', 'maxCapacity', 'rootVolumeGiB', 'rootVolumeThroughputMiBps', 'updateMinHealthyPercent', 'warmPoolSize'] as const)
        .map((field) => ({ field, setting: field, value: p[field] })),
      { field: 'bootTimeout', setting: 'bootTimeoutMinutes', value: minutes(p.bootTimeout), unit: 'minutes' },
      { field: 'updateBakeTime', setting: 'updateBakeTimeMinutes', value: minutes(p.updateBakeTime), unit: 'minutes' },
    ]),
  ];
}

/**
 * The launch lifecycle hook's name, a literal: the user data names it, and a
 * Ref to it would make the launch template depend on the group that uses it.
 * It is not the name of the separate hook resource of earlier kit versions
 * (LEGACY_BOOT_HOOK_NAMES): CloudFormation deletes that resource, by name, in
 * the clean-up after the update that adds this hook to the group, and with
 * the same name it would delete this one.
 */
export const BOOT_HOOK_NAME = 'graviton-llm-launch';
/**
 * The hook earlier kit versions added as a separate resource. An existing
 * stack's first update to this version launches its new instances while that
 * hook still holds them (it is deleted only in the update's clean-up), so the
 * boot completes it too; elsewhere AWS answers that there is no such action.
 */
export const LEGACY_BOOT_HOOK_NAMES: readonly string[] = ['graviton-llm-boot'];
/** An instance is ready when its boot completes the hook; this covers the target group's two health checks after that. */
const REFRESH_INSTANCE_WARMUP = Duration.minutes(1);
const HEALTH_CHECK_GRACE = Duration.minutes(2);

/**
 * Time the boot's report may take past its deadline (the boot program's
 * REPORT_GRACE_SECONDS, runtime/boot/core/deadline.ts): a boot that runs out of time still counts its
 * failure, abandons its instance and signals.
 */
export const BOOT_REPORT_GRACE_SECONDS = 60;
/**
 * Time allowed from an instance's launch, when the hook's timer and the
 * creation policy's wait for it start, to the start of its init, from which
 * the boot counts its deadline (EC2 provisions and boots the instance first).
 */
export const LAUNCH_TO_INIT_ALLOWANCE_SECONDS = 60;
/** What the boot leaves below the hook's timeout: the report's grace and the launch's allowance. */
export const BOOT_REPORT_MARGIN_SECONDS = BOOT_REPORT_GRACE_SECONDS + LAUNCH_TO_INIT_ALLOWANCE_SECONDS;

/** The boot's own deadline, counted from the instance's init: the hook's timeout less the margin. */
export function bootDeadlineSeconds(bootTimeout: Duration): number {
  return bootTimeout.toSeconds() - BOOT_REPORT_MARGIN_SECONDS;
}

/**
 * The fleet's pins file, base64 (Fn::Base64): a JSON object of each
 * generation's builder's wait condition Data under its generation's key,
 * `{"graviton3":<Data>,"graviton4":<Data>}` (runtime/boot/pins.ts), joined
 * (Fn::Join) from literal parts and each Fn::GetAtt [Done<hash>, Data]. The
 * key is written with stringifyNumber: the org template's generation is a
 * CloudFormation value.
 */
function pinsFileBase64(generations: readonly FleetGeneration[], builders: readonly FleetBuilder[]): string {
  const parts: string[] = [];
  generations.forEach((g, n) => {
    parts.push(`${n === 0 ? '{' : ','}${JSON.stringify(pinsGenerationKey(Tokenization.stringifyNumber(g.generation)))}:`, builders[n].waitData);
  });
  parts.push('}');
  return Fn.base64(Fn.join('', parts));
}

/**
 * The instances: a launch template for Amazon Linux 2023 on Graviton, an
 * Auto Scaling group across the private subnets, and a role that reaches only
 * its own cache prefix, its own API key and its own log groups.
 */
export class InferenceFleet extends Construct {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly role: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  readonly bootLogGroup: logs.LogGroup;
  readonly serverLogGroup: logs.LogGroup;
  /** Where the agent writes the server metrics' EMF records (CloudWatch extracts the metrics from them). */
  readonly metricsLogGroup: logs.LogGroup;
  /** The group's name (see fleetGroupName). */
  readonly groupName: string;
  /** The launch lifecycle hook that holds every instance until its boot serves (see addBootHook). */
  readonly bootHookName: string;
  /**
   * The builder of instanceType's generation, whose report the launch template carries as its
   * instances' pins; absent with trustedBuilder false. builders holds every generation's.
   */
  readonly builder?: FleetBuilder;
  /**
   * One builder per Graviton generation of the group's types, in the order of the types
   * (builder first); each instance runs the build of its own CPU's generation. Empty with trustedBuilder false.
   */
  readonly builders: FleetBuilder[];

  constructor(scope: Construct, id: string, props: InferenceFleetProps) {
    super(scope, id);
    throwIfProblems(`InferenceFleet ${this.node.path}`, fleetPropProblems(props));
    const retention = props.logRetention;

    this.bootLogGroup = new logs.LogGroup(this, 'BootLogs', { retention });
    this.serverLogGroup = new logs.LogGroup(this, 'ServerLogs', { retention });
    this.metricsLogGroup = new logs.LogGroup(this, 'MetricsLogs', { retention });
    this.groupName = fleetGroupName(props.endpointName);

    const trusted = props.trustedBuilder ?? true;
    // With a builder the fleet reads the cache and never writes it: the builder is the only writer (FleetBuilder).
    this.role = instanceRole(this, 'Role', `graviton-llm instances: ${trusted ? 'read' : 'read and write'} their cache prefix, own API key, own logs, Session Manager`);
    grantCacheRead(this.role, props.artifactBucket);
    if (!trusted) grantCacheWrite(this.role, props.artifactBucket);
    const tokenParameters = props.huggingFaceTokenParameterName ? [parameterArn(Stack.of(this), props.huggingFaceTokenParameterName)] : [];
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [props.apiKeyParameterArn, ...tokenParameters] }));
    grantBootMetrics(this.role);
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [this.bootLogGroup.logGroupArn, this.serverLogGroup.logGroupArn, this.metricsLogGroup.logGroupArn],
    }));
    grantModelSourceRead(this.role, props.model.source);
    this.grantDrain(props.targetGroup);

    // No inbound rule of its own; out, HTTPS only (instance-security-group.ts says why that is enough).
    this.securityGroup = httpsOutOnlySecurityGroup(this, 'SecurityGroup', props.vpc, 'graviton-llm instances: llama-server reachable from the load balancer only');

    const userData = ec2.UserData.forLinux();
    const machineImage = props.machineImage ?? fleetImage(this, undefined);
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage,
      instanceType: new ec2.InstanceType(props.instanceType.instanceType),
      role: this.role,
      securityGroup: this.securityGroup,
      userData,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          iops: 3000,
          throughput: props.rootVolumeThroughputMiBps,
          deleteOnTermination: true,
        }),
      }],
    });
    // The instances' Name tag (what the EC2 console lists them by) is CDK's, the launch template's
    // path, less any `Default` id, which CDK leaves out of logical ids too: an endpoint with the id
    // Default keeps the tag its stack gave before the endpoint was a construct, since a changed tag
    // is a new launch template version, and so an instance refresh of the whole fleet.
    Tags.of(launchTemplate).add('Name', launchTemplate.node.scopes.map((c) => c.node.id).filter((id) => id !== '' && id !== 'Default').join('/'));

    const bootTimeout = props.bootTimeout;
    const spot = props.purchaseOption === PurchaseOption.SPOT;
    // A group takes either the launch template or a mixed instances policy over it; one type on demand keeps the former.
    const mixedInstancesPolicy = mixedInstancesPolicyOf(launchTemplate, {
      instanceTypes: [props.instanceType, ...(props.additionalInstanceTypes ?? [])],
      purchaseOption: props.purchaseOption ?? PurchaseOption.ON_DEMAND,
      onDemandBaseCapacity: props.onDemandBaseCapacity ?? SPOT_DEFAULTS.onDemandBaseCapacity,
      onDemandPercentageAboveBaseCapacity: props.onDemandPercentageAboveBaseCapacity ?? SPOT_DEFAULTS.onDemandPercentageAboveBaseCapacity,
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      autoScalingGroupName: this.groupName,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      ...(mixedInstancesPolicy ? { mixedInstancesPolicy } : { launchTemplate }),
      // Spot: on a rebalance recommendation the group launches a replacement before the instance
      // at risk is interrupted ("Use Capacity Rebalancing to handle Amazon EC2 Spot Interruptions",
      // https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-capacity-rebalancing.html).
      ...(spot ? { capacityRebalance: true } : {}),
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        // The launch hook holds an instance until it serves, and the grace period starts only
        // after it: the grace covers the target group's first healthy checks (2 x 15 s), so a
        // server that dies after boot is replaced within minutes, not after a boot's length.
        gracePeriod: HEALTH_CHECK_GRACE,
      }),
      // Creation waits for every first instance to build, load and answer /health.
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: bootTimeout }),
      // A new model, llama.cpp ref, instance type or setting is a new launch template version,
      // which CloudFormation rolls out as an instance refresh: new instances first, each counted
      // only once its boot completes the launch lifecycle hook (readiness), old ones retired as
      // new ones serve; a refresh that fails, or that sees a rollback alarm, fails
      // the stack update and CloudFormation returns to the previous launch template version.
      updatePolicy: autoscaling.UpdatePolicy.instanceRefresh({
        strategy: autoscaling.InstanceRefreshStrategy.ROLLING,
        minHealthyPercentage: props.updateMinHealthyPercent,
        // At 100 % the refresh launches before it terminates: one extra instance at a time
        // (10 % rounds up to one for fleets of up to ten). Below 100 it replaces in place.
        maxHealthyPercentage: props.updateMinHealthyPercent === 100 ? 110 : 100,
        // Ready means booted and serving (the hook); two health checks' time then suffices.
        instanceWarmup: REFRESH_INSTANCE_WARMUP,
        bakeTime: props.updateBakeTime,
        alarms: props.rollbackAlarms,
      }),
      defaultInstanceWarmup: INSTANCE_WARMUP,
    });
    this.autoScalingGroup.attachToApplicationTargetGroup(props.targetGroup);
    if (mixedInstancesPolicy) {
      Validations.of(this.autoScalingGroup).acknowledge({
        id: 'AwsSolutions::AwsSolutions-EC26',
        reason: 'cdk-nag 3.0.2\'s EBS encryption rule reads a group\'s LaunchTemplate only and throws on one with a MixedInstancesPolicy (rules/ec2/EC2EBSVolumeEncrypted.js); '
          + 'the launch template the policy names has its one volume encrypted (encrypted: true above).',
      });
    }
    Annotations.of(this.autoScalingGroup).acknowledgeWarning('@aws-cdk/aws-autoscaling:signalsNotUsedByInstanceRefresh',
      'The signals serve the creation policy only; during an instance refresh the boot program reports readiness by completing the launch lifecycle hook, as the linked documentation advises.');

    this.bootHookName = this.addBootHook(bootTimeout);
    this.addWarmPool(props.warmPoolSize);
    const agentParameters = this.writeAgentConfiguration(props);
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: agentParameters.map((p) => p.parameterArn) }));
    // The first instances fetch the agent configuration while the group is still being created.
    agentParameters.forEach((p) => this.autoScalingGroup.node.addDependency(p));
    const env = this.bootEnvironment(props, agentParameters, [this.bootHookName, ...LEGACY_BOOT_HOOK_NAMES]);
    const bootProgram = this.bootProgram(props);
    const generations = fleetGenerations([props.instanceType, ...(props.additionalInstanceTypes ?? [])]);
    // One builder per generation: a build for one generation dies (SIGILL) or is refused on another.
    // The first keeps the id `Builder`, so a stack of one generation keeps its builder's logical ids.
    this.builders = trusted ? generations.map((g, n) => new FleetBuilder(this, n === 0 ? 'Builder' : `BuilderGraviton${g.generation}`, {
      vpc: props.vpc,
      subnets: props.subnets,
      machineImage,
      instanceType: g.instanceTypes[0].instanceType,
      rootVolumeGiB: props.rootVolumeGiB,
      bootTimeout: props.bootTimeout,
      // Its own generation's build only: it runs on that generation's first type.
      bootEnvironment: { ...env, ...generationEnvironment([g]), GLLM_INSTANCE_TYPE: g.instanceTypes.map((t) => t.instanceType).join(',') },
      bootProgram: bootProgram.asset,
      trampolineCommands: bootProgram.commands,
      assetBucketAccount: props.assetBucketAccount,
      artifactBucket: props.artifactBucket,
      bootLogGroup: this.bootLogGroup,
      readableParameterArns: [...agentParameters.map((p) => p.parameterArn), ...tokenParameters],
      modelSource: props.model.source,
    })) : [];
    this.builder = this.builders[0];
    if (this.builders.length > 0) denyOtherCacheWriters(props.artifactBucket, this.builders.map((b) => b.role));
    // The pins are the builders' wait conditions' Data: the launch template refers to each (Fn::GetAtt),
    // so CloudFormation makes the template, and so the group, only after every builder has reported
    // ("Fn::GetAtt ... implicit dependency", DependsOn attribute,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html;
    // Fn::GetAtt, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getatt.html).
    // cfn-lint's schema types the wait condition's Data as an object, and so refuses it in Fn::Join
    // and Fn::Base64 (E1022, E1021); CloudFormation gives it as a JSON string where a string is expected, as the
    // documentation's own example shows (an output's Value: !GetAtt myWaitCondition.Data;
    // AWS::CloudFormation::WaitCondition, Examples,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitcondition.html).
    if (this.builders.length > 0) {
      ignoreCfnLint(launchTemplate.node.defaultChild as CfnResource, 'E1021');
      ignoreCfnLint(launchTemplate.node.defaultChild as CfnResource, 'E1022');
    }
    // A fleet instance's own keys: the builders' pins, the target group its drain watcher
    // deregisters it from, and the metric it counts each drain in (a builder serves in no target group).
    const fleetEnv: BootEnvironment = {
      ...env,
      ...(this.builders.length > 0 ? { GLLM_PINS_FILE: INSTANCE_FILES.pins } : {}),
      GLLM_TARGET_GROUP_ARN: props.targetGroup.targetGroupArn,
      GLLM_DRAIN_METRIC: DRAIN_METRICS.drains.name,
    };
    userData.addCommands(
      ...bootEnvironmentCommands(fleetEnv, (v) => Token.isUnresolved(v)),
      ...(this.builders.length > 0 ? pinsFileCommands(pinsFileBase64(generations, this.builders)) : []),
      ...bootProgram.commands,
    );
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'Launches, terminations and their errors are in the group\'s activity history and CloudTrail; paging on them belongs to the capacity alarms, not to a notification per event.',
    });

    acknowledgeInstanceRoleFindings(this.role, props.artifactBucket, trusted ? 'read only' : 'read and write (no builder)');
  }

  /**
   * The group holds every launching instance (also into and out of a warm
   * pool) until the boot program completes this launch lifecycle action:
   * CONTINUE once llama-server serves, ABANDON (terminate) on a failed boot,
   * or ABANDON by default when the boot outlives its timeout. This is what an
   * instance refresh counts as ready; cfn-signal serves the creation policy only.
   *
   * The hook is in the group's own LifecycleHookSpecificationList, so that it
   * exists before the group launches its first instances. aws-cdk-lib's
   * addLifecycleHook makes a separate AWS::AutoScaling::LifecycleHook, which
   * refers to the group and so is created only once the group is complete,
   * that is once its first instances have signalled (aws/aws-cdk#16356,
   * #7712): they would never be held, and with the ELB health check and its
   * grace period they were replaced while they compiled. The L2 has no prop
   * for the list; this is the one place the L1 is set.
   */
  private addBootHook(bootTimeout: Duration): string {
    const group = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    group.lifecycleHookSpecificationList = [{
      lifecycleHookName: BOOT_HOOK_NAME,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
      heartbeatTimeout: bootTimeout.toSeconds(),
      defaultResult: autoscaling.DefaultResult.ABANDON,
    }];
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagArn(Stack.of(this), 'autoscaling', `autoScalingGroup:*:autoScalingGroupName/${this.groupName}`)}]`,
      reason: 'The wildcard is the group\'s generated UUID; the ARN names this fleet\'s group only.',
    });
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['autoscaling:CompleteLifecycleAction'],
      resources: [Stack.of(this).formatArn({
        service: 'autoscaling',
        resource: 'autoScalingGroup',
        resourceName: `*:autoScalingGroupName/${this.groupName}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })],
    }));
    return BOOT_HOOK_NAME;
  }

  /**
   * Stopped, already-booted instances that join in a minute or two. The boot
   * hook holds them too: it is part of the group, which the pool refers to.
   */
  private addWarmPool(size: number): void {
    if (size === 0) {
      return;
    }
    this.autoScalingGroup.addWarmPool({
      minSize: size,
      // Stopped instances cost only their volumes; their build and model are already on disk.
      poolState: autoscaling.PoolState.STOPPED,
      reuseOnScaleIn: true,
    });
  }

  /**
   * An instance's drain watcher (runtime/boot/drain/watch.ts) deregisters it
   * from its target group on a Spot interruption notice or a rebalance
   * recommendation: DeregisterTargets takes the target group as its resource
   * (Service Authorization Reference, "Actions, resources, and condition keys
   * for Elastic Load Balancing V2",
   * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html),
   * so the role may take targets out of this fleet's group and no other.
   */
  private grantDrain(targetGroup: elbv2.IApplicationTargetGroup): void {
    this.role.addToPolicy(new iam.PolicyStatement({
      actions: ['elasticloadbalancing:DeregisterTargets'],
      resources: [targetGroup.targetGroupArn],
    }));
  }

  /** The CloudWatch agent's configuration and scrape configuration, as SSM parameters the boot program fetches. */
  private writeAgentConfiguration(props: InferenceFleetProps): ssm.StringParameter[] {
    const name = props.endpointName;
    const agentProps = {
      autoScalingGroupName: this.groupName,
      port: props.port,
      bootLogGroupName: this.bootLogGroup.logGroupName,
      serverLogGroupName: this.serverLogGroup.logGroupName,
      metricsLogGroupName: this.metricsLogGroup.logGroupName,
    };
    return [
      new ssm.StringParameter(this, 'AgentConfig', {
        parameterName: `/graviton-llm/${name}/cloudwatch-agent`,
        // Said explicitly: the org template's stack name is a token, from which CDK cannot tell.
        simpleName: false,
        description: 'graviton-llm: CloudWatch agent configuration (logs, llama-server metrics)',
        stringValue: Stack.of(this).toJsonString(renderAgentConfig(agentProps)),
      }),
      new ssm.StringParameter(this, 'PrometheusConfig', {
        parameterName: `/graviton-llm/${name}/prometheus`,
        simpleName: false,
        description: 'graviton-llm: Prometheus scrape configuration for the CloudWatch agent',
        stringValue: renderPrometheusConfig(agentProps),
      }),
    ];
  }

  /**
   * The boot environment both the fleet and its builder run with (each adds
   * its role's keys): the user data only writes it and the trampoline, which
   * runs the boot program; everything else is in the program, which is tested
   * on its own.
   */
  private bootEnvironment(props: InferenceFleetProps, agentParameters: ssm.StringParameter[], lifecycleHookNames: readonly string[]): BootEnvironment {
    const { model, instanceType } = props;
    const stack = Stack.of(this);
    const bootDeadline = String(bootDeadlineSeconds(props.bootTimeout));
    return {
      GLLM_MODE: 'aws',
      // Every type the group may launch, instanceType first, and each of their generations (one build each).
      GLLM_INSTANCE_TYPE: [instanceType, ...(props.additionalInstanceTypes ?? [])].map((t) => t.instanceType).join(','),
      ...generationEnvironment(fleetGenerations([instanceType, ...(props.additionalInstanceTypes ?? [])])),
      GLLM_LLAMA_CPP_REPOSITORY: LLAMA_CPP_REPOSITORY,
      GLLM_LLAMA_CPP_REF: props.llamaCppRef,
      GLLM_LLAMA_CPP_COMMIT: props.llamaCppCommit,
      GLLM_CACHE_URI: `s3://${props.artifactBucket.bucketName}/${CACHE_PREFIX.replace(/\/$/, '')}`,
      GLLM_MODEL_SOURCE: model.source,
      GLLM_MODEL_SHA256: model.sha256,
      GLLM_MODEL_SIZE_BYTES: Tokenization.stringifyNumber(model.sizeBytes),
      GLLM_MODEL_FILE: model.fileName,
      GLLM_QUANTIZE_TO: model.quantizeTo ?? '',
      GLLM_HF_TOKEN_PARAMETER: props.huggingFaceTokenParameterName ?? '',
      GLLM_API_KEY_PARAMETER: props.apiKeyParameterName,
      GLLM_PORT: String(props.port),
      GLLM_PARALLEL_SLOTS: String(props.parallelSlots),
      GLLM_CONTEXT_PER_SLOT: String(props.contextTokensPerSlot),
      // A CloudFormation value in the org template (the model is a parameter there).
      GLLM_PROMPT_CACHE_MIB: Tokenization.stringifyNumber(props.promptCacheMiB),
      GLLM_HEALTH_TIMEOUT_SECONDS: bootDeadline,
      GLLM_BOOT_DEADLINE_SECONDS: bootDeadline,
      GLLM_STACK_NAME: props.signalStackName,
      GLLM_SIGNAL_RESOURCE: stack.getLogicalId(this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup),
      GLLM_REGION: stack.region,
      GLLM_BOOT_LOG_GROUP: this.bootLogGroup.logGroupName,
      GLLM_SERVER_LOG_GROUP: this.serverLogGroup.logGroupName,
      GLLM_AGENT_CONFIG_PARAMETER: agentParameters[0].parameterName,
      GLLM_PROMETHEUS_CONFIG_PARAMETER: agentParameters[1].parameterName,
      GLLM_AUTOSCALING_GROUP: this.groupName,
      GLLM_LIFECYCLE_HOOK: lifecycleHookNames.join(','),
      GLLM_METRIC_NAMESPACE: METRIC_NAMESPACE,
      GLLM_BOOT_FAILURE_METRIC: BOOT_METRICS.failure.name,
    };
  }

  /**
   * The boot program (runtime/boot/, bundled): its bundle is the stack's
   * asset, which the trampoline (lib/boot/trampoline.sh) fetches, checks
   * against the SHA-256 synthesized here, and runs with Node. The fleet's role
   * may read it; the builder's role too (FleetBuilder).
   */
  private bootProgram(props: InferenceFleetProps): { asset: s3assets.Asset; commands: string[] } {
    const file = bootBundleFile();
    const asset = new s3assets.Asset(this, 'BootProgram', { path: file });
    grantAssetRead(this.role, asset, props.assetBucketAccount ?? Stack.of(this).account);
    const commands = trampolineCommands({
      url: `s3://${asset.s3BucketName}/${asset.s3ObjectKey}`,
      sha256: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
    });
    return { asset, commands };
  }
}
