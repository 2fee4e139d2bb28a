import { Aws, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { LLAMA_CPP_DEFAULT_REF, llamaCppCommitOf } from '../catalogs/llama-cpp-release';
import { GravitonInstanceType } from '../instances/graviton-instance-type';
import { LlamaModel } from '../models/llama-model';
import { ApiKeyParameter } from './api-key-parameter';
import { ArtifactStore } from './artifact-store';
import { EndpointCanary } from './endpoint-canary';
import {
  ScheduledCapacity, canaryUrlProblems, capacityProblems, certificateRegionProblems, clientRangeProblems, contextProblems, logRetentionProblems,
  memoryFitProblems, newVpcProblems, promptCacheOf, rootVolumeProblems, scheduleProblems, schedulesType, tlsProblems,
} from './endpoint-checks';
import { FleetAlarms } from './fleet-alarms';
import { machineImageProblems, machineImageType } from './fleet-image';
import { cidrListProblems, cidrProblem, formatProblems } from './prop-formats';
import { RangedSetting, rangeExpectation, rangeProblems } from './prop-ranges';
import { FleetScaling } from './fleet-scaling';
import {
  FleetPurchaseValues, PurchaseOption, instanceTypeListType, instanceTypesProblems, purchaseOptionType, purchaseProblems, smallestInstance,
} from './fleet-purchase';
import { InferenceEndpoint } from './inference-endpoint';
import { deregistrationDelayOf, spotDeregistrationDelayProblems } from './spot-drain';
import { InferenceFleet, assetBucketAccountProblems, endpointNameProblems, fleetGroupName } from './inference-fleet';
import { ExistingVpcChoice, InferenceNetwork } from './inference-network';
import { PropProblem, throwIfProblems } from '../base/problems';
import {
  PropType, booleanType, durationType, numberType, objectType, propTypeProblems, stringListType, stringType, withoutProps,
} from '../base/prop-types';
import { gravitonInstanceTypeType } from '../instances/graviton-instance-type';
import { llamaModelType } from '../models/llama-model';

/**
 * The defaults of GravitonLlmEndpoint's props, in one place: the kit's
 * configuration schema takes its defaults from here.
 */
export const ENDPOINT_DEFAULTS = {
  minCapacity: 1,
  maxCapacity: 3,
  parallelSlots: 4,
  contextTokensPerSlot: 4096,
  port: 8080,
  vpcCidr: '10.64.0.0/16',
  maxAzs: 2,
  natGateways: 1,
  loadBalancerIdleTimeoutSeconds: 600,
  deregistrationDelaySeconds: 600,
  bootTimeoutMinutes: 40,
  rootVolumeThroughputMiBps: 250,
  logRetentionDays: 30,
  targetSlotUtilizationPercent: 70,
  updateMinHealthyPercent: 100,
  updateBakeTimeMinutes: 15,
  warmPoolSize: 0,
  ttftP90AlarmMs: 2000,
  tpotP90AlarmMs: 100,
  errorRateAlarmPercent: 5,
  canaryIntervalMinutes: 1,
} as const;

/** The new VPC GravitonLlmEndpoint creates when it is given no existingVpc. */
export interface GravitonLlmVpcProps {
  /**
   * IPv4 range of the VPC, a /16 to /22 literal.
   * @default '10.64.0.0/16'
   */
  readonly cidr?: string;
  /**
   * Availability zones the VPC spans, each with a public and a private subnet.
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * NAT gateways, at most maxAzs; one per AZ survives an AZ outage.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * For a template whose VPC is a CloudFormation parameter: a condition that
   * creates this VPC when it holds and uses the given existing one when not.
   * @default - the VPC is always created
   */
  readonly existingVpcChoice?: ExistingVpcChoice;
}

export interface GravitonLlmEndpointProps {
  /** The model served: a `LlamaModel` constant, `LlamaModel.fromCatalog(id)` or `LlamaModel.custom({...})`. */
  readonly model: LlamaModel;
  /**
   * The Graviton instance type, e.g. `GravitonInstanceType.of('c7g.2xlarge')`; synth checks that the model fits its memory.
   * With additionalInstanceTypes, the group's first type (see there).
   */
  readonly instanceType: GravitonInstanceType;
  /**
   * Further types the group may launch besides instanceType, which stays the
   * first: on demand, the group launches instanceType while it has capacity and
   * these in order when it has none; on Spot, price-capacity-optimized picks
   * among all of them. Each must be a catalog type (`GravitonInstanceType.of`),
   * not instanceType again, and pass the memory fit check for the model, slots
   * and context. They may be of other Graviton generations than instanceType:
   * each generation gets its own llama.cpp build (with the trusted builder,
   * one builder per generation, each run once per change of the build's
   * inputs), and each instance runs the build of its own CPU's generation. Every
   * instance runs parallelSlots slots, whatever its type; the prompt cache is
   * sized by the type with the least memory. Not with a warm pool (AWS does
   * not support one on a mixed instances group).
   *
   * A list beside instanceType, not a second list that repeats it: a
   * configuration or app that names one type stays as it is, and there is
   * no way to say the first type twice.
   * @default - instanceType only
   */
  readonly additionalInstanceTypes?: GravitonInstanceType[];
  /**
   * How the group buys its instances: `PurchaseOption.ON_DEMAND`, or
   * `PurchaseOption.SPOT`: an Auto Scaling mixed instances policy with
   * onDemandBaseCapacity instances on demand, onDemandPercentageAboveBaseCapacity
   * of the rest on demand and the others Spot, price-capacity-optimized
   * allocation and Capacity Rebalance. A Spot instance can be taken back
   * with two minutes' notice: on the notice, or on a rebalance recommendation,
   * the instance deregisters itself from the target group, lets its running
   * streams finish within 90 seconds and stops (its drain watcher); the
   * deregistrationDelay defaults to those 90 seconds (see the README). Not
   * with a warm pool.
   * @default PurchaseOption.ON_DEMAND - every instance on demand, one type without a mixed instances policy
   */
  readonly purchaseOption?: PurchaseOption;
  /** With Spot: the group's first instances, launched on demand before any Spot one; at most maxCapacity. @default 0 */
  readonly onDemandBaseCapacity?: number;
  /** With Spot: the percentage of instances above the base launched on demand (0 to 100). @default 0 - all Spot above the base */
  readonly onDemandPercentageAboveBaseCapacity?: number;

  /**
   * Deploy into this VPC rather than a new one. Its subnets (vpcSubnets) must
   * route to the internet: instances fetch llama.cpp from GitHub and catalog
   * models from Hugging Face. Needs allowedCidrs; not allowed with vpcProps.
   * @default - a new VPC, shaped by vpcProps
   */
  readonly existingVpc?: ec2.IVpc;
  /**
   * Subnets of the instances (and of an internal load balancer) in existingVpc.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Subnets of an internet-facing load balancer in existingVpc.
   * @default - the VPC's public subnets
   */
  readonly loadBalancerSubnets?: ec2.SubnetSelection;
  /**
   * The new VPC, when no existingVpc is given: its range, AZs and NAT gateways.
   * @default - 10.64.0.0/16 over 2 AZs with 1 NAT gateway, flow logs of rejected traffic, and endpoints for S3, SSM and CloudWatch
   */
  readonly vpcProps?: GravitonLlmVpcProps;

  /** Fewest instances. @default 1 */
  readonly minCapacity?: number;
  /** Most instances, at least minCapacity and warmPoolSize. @default 3 */
  readonly maxCapacity?: number;
  /** Requests each instance serves at once (llama-server `--parallel`), batched together. @default 4 */
  readonly parallelSlots?: number;
  /** Context window of each slot in tokens, at most the model's trained context. @default 4096 */
  readonly contextTokensPerSlot?: number;
  /**
   * RAM for llama-server's prompt cache (`--cache-ram`), in MiB: prompts that
   * left a slot are kept here, so a repeated system prompt or conversation is
   * not computed again. 0 turns it off; at most what the instance has left
   * after the model, the slots' KV cache and the compute buffers.
   * @default - what the instance has left, up to 8192 MiB (llama-server's own default); 0 when the instance type is chosen at deploy time
   */
  readonly promptCacheMiB?: number;
  /** Scale out above, in below this share of busy and queued slots across the fleet. @default 70 */
  readonly targetSlotUtilizationPercent?: number;
  /** Capacity changes on a schedule (UTC). @default - none */
  readonly scheduledCapacity?: ScheduledCapacity[];
  /** Stopped, already-booted instances kept ready to join in a minute or two. @default 0 - no warm pool */
  readonly warmPoolSize?: number;

  /** llama.cpp release tag or commit the instances build. @default - the release the kit is tested with */
  readonly llamaCppRef?: string;
  /** The commit llamaCppRef names, for a tag the kit does not know. @default - the known commit of llamaCppRef */
  readonly llamaCppCommit?: string;
  /** The instances' AMI (Amazon Linux 2023 arm64). @default - the public SSM parameter's value, recorded in cdk.context.json at the first synth with credentials */
  readonly machineImage?: ec2.IMachineImage;
  /** Port llama-server listens on inside the instances. @default 8080 */
  readonly port?: number;
  /** How long a new instance may take to build llama.cpp, fetch the model and pass its health check. @default Duration.minutes(40) */
  readonly bootTimeout?: Duration;
  /** Root volume size in GiB. @default - twice the model's size plus 20 GiB for the build and logs */
  readonly rootVolumeGiB?: number;
  /** gp3 throughput of the root volume, in MiB/s; the model is read from it at every start. @default 250 */
  readonly rootVolumeThroughputMiBps?: number;
  /** SSM SecureString holding a Hugging Face token, for gated repositories. @default - anonymous downloads */
  readonly huggingFaceTokenParameterName?: string;
  /** Share of the fleet an update keeps serving; at 100 each new instance starts before an old one stops. @default 100 */
  readonly updateMinHealthyPercent?: number;
  /** How long an update watches the rollback alarms after its last new instance serves. @default Duration.minutes(15) */
  readonly updateBakeTime?: Duration;
  /** Account that owns the bucket of the boot script asset, which alone the instances read it from. @default - the stack's account */
  readonly bootScriptBucketAccount?: string;

  /** Put the load balancer on the internet (HTTPS only; needs certificateArn and allowedCidrs). @default false - internal */
  readonly internetFacing?: boolean;
  /** ACM certificate (in the stack's region) for HTTPS; on an internal load balancer it needs domainName. @default - plain HTTP on 80, internal only */
  readonly certificateArn?: string;
  /** With certificateArn on an internal load balancer: the name the certificate covers and clients use. @default - none */
  readonly domainName?: string;
  /** Client ranges the load balancer admits; required with existingVpc or internetFacing. 0.0.0.0/0 (everyone) only with internetFacing. @default - the new VPC's range */
  readonly allowedCidrs?: string[];
  /** Longest silence on a connection; a long prompt's first token can take minutes on CPU. @default Duration.seconds(600) */
  readonly loadBalancerIdleTimeout?: Duration;
  /**
   * How long a leaving instance keeps its open streams. With
   * PurchaseOption.SPOT at most Duration.seconds(90), the drain's budget
   * within a Spot instance's two-minute interruption notice.
   * @default Duration.seconds(600); Duration.seconds(90) with PurchaseOption.SPOT
   */
  readonly deregistrationDelay?: Duration;
  /** Refuse deletion of the load balancer until this is turned off again. @default false */
  readonly loadBalancerDeletionProtection?: boolean;
  /** Keep the artifact bucket (cached builds and models) when the stack is deleted. @default false */
  readonly retainArtifactsOnDelete?: boolean;
  /**
   * A builder instance compiles llama.cpp and prepares the model before the fleet, and the template
   * pins what it wrote; the fleet only reads (InferenceFleetProps.trustedBuilder). false: no builder,
   * the fleet's first instances compile and write the cache (see README, Security).
   * @default true
   */
  readonly trustedBuilder?: boolean;
  /**
   * The name the endpoint's own names are built on: the Auto Scaling group
   * (NAME-fleet, the dimension of its metrics), its agent configuration's SSM
   * parameters (/graviton-llm/NAME/...), the API key's parameter and the
   * canary's metric dimension. Give each endpoint of a stack its own; give
   * `Aws.STACK_NAME` to a template deployed under names CDK does not choose
   * (StackSets, Service Catalog). When it is given, the instances signal the
   * stack by its deploy-time name (`AWS::StackName`), and the composite
   * "endpoint degraded" alarm is named NAME-EndpointDegraded.
   * @default - the stack's name; the composite alarm's name is generated from the construct path
   */
  readonly endpointName?: string;
  /** SSM SecureString parameter the generated API key is written to. @default - /graviton-llm/ENDPOINTNAME/api-key */
  readonly apiKeyParameterName?: string;
  /** How long the endpoint's logs (boot, server, flow, functions) are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;

  /** Notify this topic instead of a topic of the endpoint's own. @default - a new KMS-encrypted topic */
  readonly alarmTopic?: sns.ITopic;
  /** Subscribe this address to the alarm topic; a deploy-time value may be empty, which subscribes none. @default - no subscription */
  readonly alarmEmail?: string;
  /** Alarm when the canary's p90 time to first token stays above this, in ms. @default 2000 */
  readonly ttftP90AlarmMs?: number;
  /** Alarm when the canary's p90 time per output token stays above this, in ms. @default 100 */
  readonly tpotP90AlarmMs?: number;
  /** Alarm when 5xx responses exceed this share of requests, in percent. @default 5 */
  readonly errorRateAlarmPercent?: number;
  /**
   * Where the canary reaches an internet-facing endpoint: `https://` and the certificate's domain.
   * @default - an internal endpoint's canary calls the load balancer itself; an internet-facing one has no canary
   */
  readonly canaryUrl?: string;
  /** How often the canary sends a streamed chat completion. @default Duration.minutes(1) */
  readonly canaryInterval?: Duration;
}

/**
 * A private, OpenAI-compatible LLM endpoint: llama.cpp's llama-server on a
 * Graviton Auto Scaling group behind an Application Load Balancer, with a
 * generated API key, a cache of builds and models, slot-based scaling, a
 * canary, alarms and a dashboard.
 *
 * Give it the id `Default` to keep the logical ids of a stack built before
 * this construct existed (CDK leaves `Default` out of logical ids).
 */
export class GravitonLlmEndpoint extends Construct {
  /** OpenAI-compatible base URL, ending in /v1 (send the API key as a Bearer token). */
  readonly endpointUrl: string;
  /** The SSM SecureString holding the API key, and the custom resource that writes it. */
  readonly apiKeyParameter: ApiKeyParameter;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly dashboard: cloudwatch.Dashboard;
  /** The topic every alarm notifies. */
  readonly alarmTopic: sns.ITopic;
  readonly vpc: ec2.IVpc;
  /** Subnets of the instances: where a function that calls the endpoint from inside the VPC belongs. */
  readonly privateSubnets: ec2.SubnetSelection;
  /** The new VPC, when the endpoint created one. */
  readonly network?: InferenceNetwork;
  readonly artifacts: ArtifactStore;
  readonly endpoint: InferenceEndpoint;
  readonly fleet: InferenceFleet;
  readonly alarms: FleetAlarms;
  readonly canary?: EndpointCanary;
  /**
   * OpenAI-compatible base URL, ending in /v1, at which a function in
   * privateSubnets reaches the endpoint (the canary, a pipeline's smoke
   * test): the internal load balancer's own address, or canaryUrl for an
   * internet-facing one. Undefined for an internet-facing endpoint without canaryUrl.
   */
  readonly probeUrl?: string;
  /** The name a client calling probeUrl asks for and verifies over TLS, where that is not probeUrl's own host. */
  readonly probeTlsServerName?: string;

  constructor(scope: Construct, id: string, props: GravitonLlmEndpointProps) {
    super(scope, id);
    if (typeof props !== 'object' || props === null) {
      throwIfProblems(`GravitonLlmEndpoint ${this.node.path}`, [{ field: 'props', given: props, expected: 'expected an object: { model, instanceType, ... }' }]);
    }
    const stack = Stack.of(this);
    const d = ENDPOINT_DEFAULTS;
    const minCapacity = props.minCapacity ?? d.minCapacity;
    const maxCapacity = props.maxCapacity ?? d.maxCapacity;
    const parallelSlots = props.parallelSlots ?? d.parallelSlots;
    const contextTokensPerSlot = props.contextTokensPerSlot ?? d.contextTokensPerSlot;
    const warmPoolSize = props.warmPoolSize ?? d.warmPoolSize;
    const internetFacing = props.internetFacing ?? false;
    const port = props.port ?? d.port;
    const llamaCppRef = props.llamaCppRef ?? LLAMA_CPP_DEFAULT_REF;
    const logRetention = props.logRetention ?? (d.logRetentionDays as logs.RetentionDays);
    const endpointName = props.endpointName ?? stack.stackName;
    const apiKeyParameterName = props.apiKeyParameterName ?? `/graviton-llm/${endpointName}/api-key`;

    throwIfProblems(`GravitonLlmEndpoint ${this.node.path}`, [
      ...endpointPropProblems(props, { region: stack.region }),
      ...endpointNameInUse(this, stack, props.endpointName, endpointName),
    ]);
    const commit = llamaCppCommitOf(llamaCppRef, props.llamaCppCommit);
    const instanceTypes = [props.instanceType, ...(props.additionalInstanceTypes ?? [])];
    // One --cache-ram for every instance: what the type with the least memory leaves.
    const promptCache = promptCacheOf(props.model, smallestInstance(instanceTypes), parallelSlots, contextTokensPerSlot, props.promptCacheMiB);

    let privateSubnets: ec2.SubnetSelection;
    let loadBalancerSubnets: ec2.SubnetSelection;
    let allowedCidrs: string[];
    if (props.existingVpc) {
      this.vpc = props.existingVpc;
      privateSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      loadBalancerSubnets = internetFacing ? props.loadBalancerSubnets ?? { subnetType: ec2.SubnetType.PUBLIC } : privateSubnets;
      allowedCidrs = props.allowedCidrs!;
    } else {
      const vpcProps = props.vpcProps ?? {};
      this.network = new InferenceNetwork(this, 'Network', {
        cidr: vpcProps.cidr ?? d.vpcCidr,
        maxAzs: vpcProps.maxAzs ?? d.maxAzs,
        natGateways: vpcProps.natGateways ?? d.natGateways,
        logRetention,
        existingVpcChoice: vpcProps.existingVpcChoice,
      });
      this.vpc = this.network.vpc;
      privateSubnets = this.network.privateSubnets;
      loadBalancerSubnets = internetFacing ? this.network.publicSubnets! : privateSubnets;
      allowedCidrs = props.allowedCidrs ?? [this.network.cidr];
    }
    this.privateSubnets = privateSubnets;

    this.artifacts = new ArtifactStore(this, 'Artifacts', { retainOnDelete: props.retainArtifactsOnDelete ?? false });
    this.apiKeyParameter = new ApiKeyParameter(this, 'ApiKey', { parameterName: apiKeyParameterName, logRetention });

    this.endpoint = new InferenceEndpoint(this, 'Endpoint', {
      vpc: this.vpc,
      internetFacing,
      subnets: loadBalancerSubnets,
      certificateArn: props.certificateArn,
      domainName: props.domainName,
      allowedCidrs,
      targetPort: port,
      idleTimeout: props.loadBalancerIdleTimeout ?? Duration.seconds(d.loadBalancerIdleTimeoutSeconds),
      deregistrationDelay: deregistrationDelayOf(props.purchaseOption, props.deregistrationDelay, d.deregistrationDelaySeconds),
      accessLogBucket: this.artifacts.accessLogBucket,
      deletionProtection: props.loadBalancerDeletionProtection,
    });
    this.loadBalancer = this.endpoint.loadBalancer;

    // An internal endpoint is probed at the load balancer's own address, so the canary needs no DNS
    // record (over HTTPS, asking for and verifying the certificate's domain); an internet-facing one
    // only at the certificate's domain (canaryUrl), which its name must match.
    const probeBase = internetFacing ? props.canaryUrl : this.endpoint.loadBalancerUrl;
    this.probeUrl = probeBase ? `${probeBase}/v1` : undefined;
    this.probeTlsServerName = internetFacing ? undefined : this.endpoint.tlsServerName;

    this.alarms = new FleetAlarms(this, 'Alarms', {
      loadBalancer: this.endpoint.loadBalancer,
      targetGroup: this.endpoint.targetGroup,
      groupName: fleetGroupName(endpointName),
      canaryEndpointName: this.probeUrl ? endpointName : undefined,
      minCapacity,
      parallelSlots,
      ttftP90AlarmMs: props.ttftP90AlarmMs ?? d.ttftP90AlarmMs,
      tpotP90AlarmMs: props.tpotP90AlarmMs ?? d.tpotP90AlarmMs,
      errorRateAlarmPercent: props.errorRateAlarmPercent ?? d.errorRateAlarmPercent,
      alarmEmail: props.alarmEmail,
      alarmTopic: props.alarmTopic,
      // Only a given name: the generated one is what every stack built before endpointName had.
      degradedAlarmName: props.endpointName === undefined ? undefined : Fn.join('-', [props.endpointName, 'EndpointDegraded']),
    });
    this.alarmTopic = this.alarms.topic;
    this.dashboard = this.alarms.dashboard;

    this.fleet = new InferenceFleet(this, 'Fleet', {
      endpointName,
      // The synth-time name where it always was (a stack deployed by cdk is named so, and its launch
      // template stays as it was); the deploy-time one where the names are the caller's.
      signalStackName: props.endpointName === undefined ? stack.stackName : Aws.STACK_NAME,
      vpc: this.vpc,
      subnets: privateSubnets,
      instanceType: props.instanceType,
      additionalInstanceTypes: props.additionalInstanceTypes,
      purchaseOption: props.purchaseOption,
      onDemandBaseCapacity: props.onDemandBaseCapacity,
      onDemandPercentageAboveBaseCapacity: props.onDemandPercentageAboveBaseCapacity,
      model: props.model,
      llamaCppRef,
      llamaCppCommit: commit.commit!,
      port,
      parallelSlots,
      contextTokensPerSlot,
      promptCacheMiB: promptCache.mib,
      minCapacity,
      maxCapacity,
      bootTimeout: props.bootTimeout ?? Duration.minutes(d.bootTimeoutMinutes),
      rootVolumeGiB: props.rootVolumeGiB ?? props.model.minimumRootVolumeGiB(),
      rootVolumeThroughputMiBps: props.rootVolumeThroughputMiBps ?? d.rootVolumeThroughputMiBps,
      logRetention,
      updateMinHealthyPercent: props.updateMinHealthyPercent ?? d.updateMinHealthyPercent,
      updateBakeTime: props.updateBakeTime ?? Duration.minutes(d.updateBakeTimeMinutes),
      warmPoolSize,
      huggingFaceTokenParameterName: props.huggingFaceTokenParameterName,
      artifactBucket: this.artifacts.bucket,
      apiKeyParameterName,
      apiKeyParameterArn: this.apiKeyParameter.parameterArn,
      targetGroup: this.endpoint.targetGroup,
      rollbackAlarms: this.alarms.updateRollbackAlarms,
      machineImage: props.machineImage,
      assetBucketAccount: props.bootScriptBucketAccount,
      trustedBuilder: props.trustedBuilder,
    });
    this.autoScalingGroup = this.fleet.autoScalingGroup;
    // Only a Spot group hears of interruptions: EC2 sends notices and rebalance recommendations for Spot
    // Instances ("Spot Instance interruption notices", EC2 user guide,
    // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html); an on-demand dashboard stays as it was.
    if (props.purchaseOption === PurchaseOption.SPOT) {
      this.alarms.showDrains(this.fleet.bootLogGroup);
    }
    // Only the load balancer reaches llama-server.
    this.loadBalancer.connections.allowTo(this.fleet.securityGroup, ec2.Port.tcp(port), 'load balancer to llama-server');

    new FleetScaling(this, 'Scaling', {
      group: this.autoScalingGroup,
      groupName: this.fleet.groupName,
      parallelSlots,
      targetUtilizationPercent: props.targetSlotUtilizationPercent ?? d.targetSlotUtilizationPercent,
      schedules: props.scheduledCapacity,
    });

    if (this.probeUrl) {
      this.canary = new EndpointCanary(this, 'Canary', {
        vpc: this.vpc,
        subnets: privateSubnets,
        endpointUrl: this.probeUrl,
        tlsServerName: this.probeTlsServerName,
        endpointName,
        apiKeyParameterName,
        apiKeyParameterArn: this.apiKeyParameter.parameterArn,
        interval: props.canaryInterval ?? Duration.minutes(d.canaryIntervalMinutes),
        logRetention,
      });
      if (!internetFacing) {
        // Ingress on the load balancer and the matching egress on the canary: the probe's only way in.
        this.allowFrom(this.canary.securityGroup, 'canary probes');
      }
    }
    // Instances read the key at boot and fetch the source and the model through the NAT gateway:
    // they start once both exist (CDK orders a Lambda function after its subnets' routes, not a
    // group). The canary reads the key on every probe.
    this.autoScalingGroup.node.addDependency(this.apiKeyParameter.resource, this.vpc.selectSubnets(privateSubnets).internetConnectivityEstablished);
    this.canary?.function.node.addDependency(this.apiKeyParameter.resource);
    if (this.network?.ready) {
      // A VPC created by a condition: instances and the canary start once its private subnets route out.
      this.autoScalingGroup.node.addDependency(this.network.ready);
      this.canary?.function.node.addDependency(this.network.ready);
      this.fleet.builder?.instance.node.addDependency(this.network.ready);
    }
    this.endpointUrl = `${this.endpoint.url}/v1`;
  }

  /**
   * Admit a security group (a function or instances of yours in the VPC) to
   * the load balancer's listener; an internal load balancer otherwise admits
   * only allowedCidrs. Returns the load balancer's connections.
   */
  allowFrom(other: ec2.IConnectable, description: string): ec2.Connections {
    this.loadBalancer.connections.allowFrom(other, ec2.Port.tcp(this.endpoint.listenerPort), description);
    return this.loadBalancer.connections;
  }

  /** Let a principal read the API key (ssm:GetParameter on its parameter), as a client of the endpoint must. */
  grantReadApiKey(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['ssm:GetParameter'], resourceArns: [this.apiKeyParameter.parameterArn] });
  }
}

/** What an endpoint's checks read from where it is built. */
export interface EndpointSite {
  /** The stack's region (a token where it is chosen at deploy time). */
  readonly region: string;
  /**
   * Where the region came from, named in a certificate region's problem.
   * @default - the stack's own region, unnamed
   */
  readonly regionSource?: string;
  /**
   * How the caller names the existing VPC the endpoint deploys into, where
   * that is not the existingVpc prop (the configuration's `vpcId (vpc-...)`).
   * @default - `existingVpc` when the prop is given
   */
  readonly existingVpc?: string;
}

const ranged = (setting: RangedSetting, unit?: string): PropType => numberType(rangeExpectation(setting, unit));
const SUBNETS = 'expected an ec2.SubnetSelection, e.g. { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }';

/** The JavaScript type of each prop: a prop of another type is named with what it must be, and its value is not judged. */
const ENDPOINT_PROP_TYPES: { readonly [K in keyof GravitonLlmEndpointProps]-?: PropType } = {
  model: llamaModelType,
  instanceType: gravitonInstanceTypeType,
  additionalInstanceTypes: instanceTypeListType,
  purchaseOption: purchaseOptionType,
  onDemandBaseCapacity: ranged('onDemandBaseCapacity'),
  onDemandPercentageAboveBaseCapacity: ranged('onDemandPercentageAboveBaseCapacity'),
  existingVpc: objectType('expected an ec2.IVpc: a Vpc of your stack, or ec2.Vpc.fromLookup / fromVpcAttributes', 'vpcId'),
  vpcSubnets: objectType(SUBNETS),
  loadBalancerSubnets: objectType(SUBNETS),
  vpcProps: objectType('expected the new VPC\'s props: { cidr, maxAzs, natGateways }'),
  minCapacity: ranged('minCapacity'),
  maxCapacity: ranged('maxCapacity'),
  parallelSlots: ranged('parallelSlots'),
  contextTokensPerSlot: ranged('contextTokensPerSlot'),
  promptCacheMiB: numberType('expected a whole number of MiB, 0 or more (0 turns the cache off)'),
  targetSlotUtilizationPercent: ranged('targetSlotUtilizationPercent'),
  scheduledCapacity: schedulesType,
  warmPoolSize: ranged('warmPoolSize'),
  llamaCppRef: stringType('expected a llama.cpp release tag like v0.5.0 or b6500, or a 40-character commit hash (a string)'),
  llamaCppCommit: stringType('expected the 40-character commit hash the llamaCppRef tag names (a string)'),
  machineImage: machineImageType,
  port: ranged('port'),
  bootTimeout: durationType('Duration.minutes(40)'),
  rootVolumeGiB: ranged('rootVolumeGiB'),
  rootVolumeThroughputMiBps: ranged('rootVolumeThroughputMiBps'),
  huggingFaceTokenParameterName: stringType('expected an SSM parameter name starting with / (a string)'),
  updateMinHealthyPercent: ranged('updateMinHealthyPercent'),
  updateBakeTime: durationType('Duration.minutes(15)'),
  bootScriptBucketAccount: stringType('expected a 12-digit AWS account id (a string)'),
  internetFacing: booleanType,
  certificateArn: stringType('expected an ACM certificate ARN (a string)'),
  domainName: stringType('expected a DNS name (a string)'),
  allowedCidrs: stringListType('expected a list of IPv4 CIDR blocks, e.g. [\'10.0.0.0/8\']'),
  loadBalancerIdleTimeout: durationType('Duration.seconds(600)'),
  deregistrationDelay: durationType('Duration.seconds(600)'),
  loadBalancerDeletionProtection: booleanType,
  retainArtifactsOnDelete: booleanType,
  trustedBuilder: booleanType,
  endpointName: stringType('expected a name of letters, digits and hyphens (a string)'),
  apiKeyParameterName: stringType('expected an SSM parameter name starting with / (a string)'),
  logRetention: numberType('expected a logs.RetentionDays value, e.g. logs.RetentionDays.ONE_MONTH'),
  alarmTopic: objectType('expected an sns.ITopic', 'topicArn'),
  alarmEmail: stringType('expected an e-mail address (a string)'),
  ttftP90AlarmMs: ranged('ttftP90AlarmMs'),
  tpotP90AlarmMs: ranged('tpotP90AlarmMs'),
  errorRateAlarmPercent: ranged('errorRateAlarmPercent'),
  canaryUrl: stringType('expected https://HOST (a string)'),
  canaryInterval: durationType('Duration.minutes(1)'),
};

/** The props as the value checks see them: any prop of the wrong type left out, the model and instance type among them. */
type CheckedProps = Omit<GravitonLlmEndpointProps, 'model' | 'instanceType'> & { readonly model?: LlamaModel; readonly instanceType?: GravitonInstanceType };

/** The types' and the purchase option's values as their checks take them, defaults applied. */
function purchaseValues(p: CheckedProps, maxCapacity: number, warmPoolSize: number): FleetPurchaseValues {
  return {
    instanceType: p.instanceType,
    additionalInstanceTypes: p.additionalInstanceTypes,
    purchaseOption: p.purchaseOption,
    onDemandBaseCapacity: p.onDemandBaseCapacity,
    onDemandPercentageAboveBaseCapacity: p.onDemandPercentageAboveBaseCapacity,
    warmPoolSize,
    maxCapacity,
  };
}

/**
 * Every problem with an endpoint's props that synth can tell, each named by
 * its prop: each prop's JavaScript type first, then the values' own rules and
 * those that span props. The one definition of the endpoint's checks: the
 * constructor throws what this finds, and the kit's configuration maps its
 * files and `-c` keys to props, runs this, and names each problem's file and
 * key. A value that is a CloudFormation token is left to the template.
 */
export function endpointPropProblems(props: GravitonLlmEndpointProps, site: EndpointSite): PropProblem[] {
  const types = propTypeProblems(props, ENDPOINT_PROP_TYPES);
  const p: CheckedProps = withoutProps(props, types);
  const d = ENDPOINT_DEFAULTS;
  const resolved = {
    minCapacity: p.minCapacity ?? d.minCapacity,
    maxCapacity: p.maxCapacity ?? d.maxCapacity,
    parallelSlots: p.parallelSlots ?? d.parallelSlots,
    contextTokensPerSlot: p.contextTokensPerSlot ?? d.contextTokensPerSlot,
    warmPoolSize: p.warmPoolSize ?? d.warmPoolSize,
    port: p.port ?? d.port,
  };
  const { minCapacity, maxCapacity, parallelSlots, contextTokensPerSlot, warmPoolSize } = resolved;
  const internetFacing = p.internetFacing ?? false;
  const model = p.model;
  const instance = p.instanceType?.catalogEntry;
  const typeProblems = instanceTypesProblems(purchaseValues(p, maxCapacity, warmPoolSize));
  // The additional types that passed their own rules: each is held to the memory fit check as instanceType is.
  const additional = (p.additionalInstanceTypes ?? []).map((t, i) => ({ type: t, field: `additionalInstanceTypes[${i}]` }))
    .filter(({ field }) => !typeProblems.some((problem) => problem.field === field || problem.field === 'additionalInstanceTypes'));
  // Each value's own rules: its shape, its range.
  const own = [
    ...typeProblems,
    ...formatProblems(p),
    ...cidrListProblems('allowedCidrs', p.allowedCidrs, '10.0.0.0/8'),
    ...scheduleProblems(p.scheduledCapacity ?? []),
    ...llamaCppCommitOf(p.llamaCppRef ?? LLAMA_CPP_DEFAULT_REF, p.llamaCppCommit).problems,
    ...endpointNameProblems(p.endpointName),
    ...machineImageProblems(p.machineImage),
    ...assetBucketAccountProblems(p.bootScriptBucketAccount, 'bootScriptBucketAccount'),
    ...logRetentionProblems(p.logRetention),
    // The model's own need says more than the setting's range (which any model's exceeds).
    ...(model ? rootVolumeProblems(model, p.rootVolumeGiB) : []),
  ];
  own.push(...numericPropProblems(p, resolved).filter((problem) => !own.some((o) => o.field === problem.field)));
  const ownFields = new Set(own.map((problem) => problem.field));
  // The memory a model needs is judged only for slots of a size their own rules accept.
  const passed = (...fields: string[]) => fields.every((field) => !ownFields.has(field));
  const slotsKnown = passed('parallelSlots', 'contextTokensPerSlot');
  const capacity = passed('minCapacity', 'maxCapacity', 'warmPoolSize') ? capacityProblems({ minCapacity, maxCapacity, warmPoolSize }) : [];
  // The rules that span props: each only where the prop it names passed its own (a prop has one problem, its own first).
  const across = [
    ...networkPropProblems(p, passed('vpcProps.maxAzs', 'vpcProps.natGateways')),
    ...clientRangeProblems({ internetFacing, allowedCidrs: p.allowedCidrs, existingVpc: site.existingVpc ?? (p.existingVpc ? 'existingVpc' : undefined) }),
    ...tlsProblems({ internetFacing, certificateArn: p.certificateArn, domainName: p.domainName }),
    ...certificateRegionProblems(p.certificateArn, site.region, site.regionSource),
    ...capacity,
    ...(model ? contextProblems(model, contextTokensPerSlot) : []),
    ...(model && instance && slotsKnown ? memoryFitProblems(model, instance, parallelSlots, contextTokensPerSlot) : []),
    ...(model && slotsKnown ? additional.flatMap(({ type, field }) => memoryFitProblems(model, type.catalogEntry!, parallelSlots, contextTokensPerSlot, field)) : []),
    // A warm pool larger than the fleet is named once, by that rule.
    ...(passed('maxCapacity', 'warmPoolSize') ? purchaseProblems(purchaseValues(p, maxCapacity, warmPoolSize)).filter((x) => !capacity.some((c) => c.field === x.field)) : []),
    ...canaryUrlProblems(internetFacing, p.canaryUrl),
    ...spotDeregistrationDelayProblems(p.purchaseOption, p.deregistrationDelay),
    ...(model && slotsKnown && !typeProblems.length
      ? promptCacheOf(model, p.instanceType ? smallestInstance([p.instanceType, ...(p.additionalInstanceTypes ?? [])]) : undefined, parallelSlots, contextTokensPerSlot, p.promptCacheMiB).problems
      : []),
  ].filter((problem) => !ownFields.has(problem.field));
  return [...types, ...across, ...own];
}

/** The endpoints built in each stack, by the name their resources are named after. */
const ENDPOINT_NAMES = new WeakMap<Stack, Map<string, string>>();

/**
 * A name no other endpoint of the stack has: two endpoints of one name would
 * each create an Auto Scaling group NAME-fleet and SSM parameters
 * /graviton-llm/NAME/..., which CloudFormation refuses only at deploy time.
 * Records the name when it is free.
 */
function endpointNameInUse(endpoint: Construct, stack: Stack, given: string | undefined, name: string): PropProblem[] {
  const names = ENDPOINT_NAMES.get(stack) ?? new Map<string, string>();
  ENDPOINT_NAMES.set(stack, names);
  const other = names.get(name);
  if (other === undefined) {
    names.set(name, endpoint.node.path);
    return [];
  }
  const why = 'each endpoint\'s Auto Scaling group (NAME-fleet), SSM parameters (/graviton-llm/NAME/...) and API key are named after its endpointName';
  return given === undefined ? [{
    field: 'endpointName',
    expected: `required for a second endpoint in stack ${stack.node.path}: ${other} already takes the stack's name, "${name}", the default, and ${why}; give this endpoint an endpointName of its own`,
  }] : [{
    field: 'endpointName',
    given,
    expected: `expected a name no other endpoint of stack ${stack.node.path} has: ${other} is named "${name}" too, and ${why}`,
  }];
}

/** existingVpc or vpcProps, never both; what only a new VPC takes, and its shape. */
function networkPropProblems(props: CheckedProps, shapeKnown: boolean): PropProblem[] {
  if (props.existingVpc && props.vpcProps) {
    return [{ field: 'vpcProps', given: props.vpcProps, expected: 'give either existingVpc (deploy into your VPC) or vpcProps (shape the new VPC), not both' }];
  }
  const problems: PropProblem[] = [];
  if (!props.existingVpc) {
    for (const field of ['vpcSubnets', 'loadBalancerSubnets'] as const) {
      if (props[field] !== undefined) {
        problems.push({ field, given: props[field], expected: 'applies only with existingVpc; a new VPC places the instances in its private subnets itself' });
      }
    }
    const types = propTypeProblems(props.vpcProps ?? {}, VPC_PROPS_TYPES, 'vpcProps.');
    const v: GravitonLlmVpcProps = withoutProps(props.vpcProps ?? {}, types, 'vpcProps.');
    problems.push(...types);
    const cidr = cidrProblem(v.cidr ?? ENDPOINT_DEFAULTS.vpcCidr, ENDPOINT_DEFAULTS.vpcCidr);
    if (cidr) {
      // A range that is not a network's own is not split further.
      return [...problems, { field: 'vpcProps.cidr', given: v.cidr, expected: cidr }];
    }
    problems.push(...newVpcProblems(v.cidr ?? ENDPOINT_DEFAULTS.vpcCidr, v.maxAzs ?? ENDPOINT_DEFAULTS.maxAzs, v.natGateways ?? ENDPOINT_DEFAULTS.natGateways)
      .filter((p) => shapeKnown || p.field !== 'natGateways')
      .map((p) => ({ ...p, field: p.field === 'vpcCidr' ? 'vpcProps.cidr' : `vpcProps.${p.field}` })));
  }
  return problems;
}

const VPC_PROPS_TYPES: { readonly [K in keyof GravitonLlmVpcProps]-?: PropType } = {
  cidr: stringType('expected an IPv4 CIDR block like 10.64.0.0/16 (a string)'),
  maxAzs: ranged('maxAzs'),
  natGateways: ranged('natGateways'),
  existingVpcChoice: objectType('expected an ExistingVpcChoice: { createVpc, vpcId, privateSubnetIds }'),
};

/**
 * Each numeric prop in its setting's range (PROP_RANGES, the configuration's
 * own), a Duration in the unit the setting is named in; tokens are the template's to check.
 */
function numericPropProblems(props: CheckedProps, resolved: Record<'minCapacity' | 'maxCapacity' | 'parallelSlots' | 'contextTokensPerSlot' | 'warmPoolSize' | 'port', number>): PropProblem[] {
  const known = (d: Duration | undefined) => (d === undefined || d.isUnresolved() ? undefined : d);
  const seconds = (d: Duration | undefined) => known(d)?.toSeconds({ integral: false });
  const minutes = (d: Duration | undefined) => known(d)?.toMinutes({ integral: false });
  const optional = ['rootVolumeGiB', 'rootVolumeThroughputMiBps', 'targetSlotUtilizationPercent', 'updateMinHealthyPercent', 'ttftP90AlarmMs', 'tpotP90AlarmMs', 'errorRateAlarmPercent'] as const;
  const vpcProps = props.existingVpc || typeof props.vpcProps !== 'object' ? undefined : props.vpcProps;
  return rangeProblems([
    ...(Object.keys(resolved) as (keyof typeof resolved)[]).map((field) => ({ field, setting: field, value: resolved[field] })),
    ...optional.map((field) => ({ field, setting: field, value: props[field] })),
    { field: 'vpcProps.maxAzs', setting: 'maxAzs', value: typeof vpcProps?.maxAzs === 'number' ? vpcProps.maxAzs : undefined },
    { field: 'vpcProps.natGateways', setting: 'natGateways', value: typeof vpcProps?.natGateways === 'number' ? vpcProps.natGateways : undefined },
    { field: 'loadBalancerIdleTimeout', setting: 'loadBalancerIdleTimeoutSeconds', value: seconds(props.loadBalancerIdleTimeout), unit: 'seconds' },
    { field: 'deregistrationDelay', setting: 'deregistrationDelaySeconds', value: seconds(props.deregistrationDelay), unit: 'seconds' },
    { field: 'bootTimeout', setting: 'bootTimeoutMinutes', value: minutes(props.bootTimeout), unit: 'minutes' },
    { field: 'updateBakeTime', setting: 'updateBakeTimeMinutes', value: minutes(props.updateBakeTime), unit: 'minutes' },
    { field: 'canaryInterval', setting: 'canaryIntervalMinutes', value: minutes(props.canaryInterval), unit: 'minutes' },
  ]);
}
