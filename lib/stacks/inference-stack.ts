import { CfnOutput, Duration, Fn, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ResolvedConfig } from '../config/resolve';
import { ApiKeyParameter } from '../constructs/api-key-parameter';
import { ArtifactStore } from '../constructs/artifact-store';
import { EndpointCanary } from '../constructs/endpoint-canary';
import { FleetAlarms } from '../constructs/fleet-alarms';
import { FleetScaling } from '../constructs/fleet-scaling';
import { InferenceEndpoint } from '../constructs/inference-endpoint';
import { InferenceFleet, fleetGroupName } from '../constructs/inference-fleet';
import { ExistingVpcChoice, InferenceNetwork } from '../constructs/inference-network';

export interface InferenceStackProps extends StackProps {
  /** A configuration that passed `resolveConfig`. */
  readonly config: ResolvedConfig;
}

/**
 * One private, OpenAI-compatible LLM endpoint: llama.cpp's llama-server on a
 * Graviton Auto Scaling group behind an Application Load Balancer, with a
 * generated API key and a cache of builds and models.
 */
export class InferenceStack extends Stack {
  readonly network: InferenceNetwork;
  readonly endpoint: InferenceEndpoint;
  readonly fleet: InferenceFleet;
  readonly apiKey: ApiKeyParameter;
  readonly alarms: FleetAlarms;
  /** See InferenceParts.probeUrl. */
  readonly probeUrl?: string;
  /** See InferenceParts.probeTlsServerName. */
  readonly probeTlsServerName?: string;

  /**
   * The region's first two availability zones as `Fn::GetAZs`, as for a stack
   * without an account: with an account and region (a named environment),
   * CDK would otherwise look them up, and synth would need AWS credentials.
   * A lookup result already in the context (cdk.context.json) is used as is.
   */
  get availabilityZones(): string[] {
    if (!Token.isUnresolved(this.account) && !Token.isUnresolved(this.region)
      && this.node.tryGetContext(`availability-zones:account=${this.account}:region=${this.region}`) !== undefined) {
      return super.availabilityZones;
    }
    return [0, 1].map((i) => Fn.select(i, Fn.getAzs()));
  }

  constructor(scope: Construct, id: string, props: InferenceStackProps) {
    super(scope, id, props);
    const parts = addInferenceEndpoint(this, props.config);
    this.network = parts.network;
    this.probeUrl = parts.probeUrl;
    this.probeTlsServerName = parts.probeTlsServerName;
    this.endpoint = parts.endpoint;
    this.fleet = parts.fleet;
    this.apiKey = parts.apiKey;
    this.alarms = parts.alarms;
  }
}

/** What the wiring may do differently for a template whose settings are CloudFormation parameters (the org template). */
export interface InferenceWiringOptions {
  /** Choose between the new VPC and an existing one at deploy time. @default - the configuration's network plan */
  readonly existingVpcChoice?: ExistingVpcChoice;
  /** Client ranges the load balancer admits, overriding the configuration's. @default - allowedCidrs, else the new VPC's range */
  readonly allowedCidrs?: string[];
  /** The instances' AMI, overriding the configuration's. @default - amiId, else the value recorded in cdk.context.json (see fleetImage) */
  readonly machineImage?: ec2.IMachineImage;
  /** Account that owns the boot script asset's bucket. @default - the stack's account */
  readonly assetBucketAccount?: string;
}

/** The parts of an endpoint, for stacks and tests that build on them. */
export interface InferenceParts {
  readonly network: InferenceNetwork;
  readonly artifacts: ArtifactStore;
  readonly apiKey: ApiKeyParameter;
  readonly endpoint: InferenceEndpoint;
  readonly fleet: InferenceFleet;
  readonly canary?: EndpointCanary;
  readonly alarms: FleetAlarms;
  /**
   * OpenAI-compatible base URL, ending in /v1, at which a function in the
   * VPC's private subnets reaches the endpoint (the canary, a pipeline's
   * smoke test): the internal load balancer's own address, or `canaryUrl` for
   * an internet-facing one, whose certificate names only that domain.
   * Undefined for an internet-facing endpoint without `canaryUrl`.
   */
  readonly probeUrl?: string;
  /** The name a client calling `probeUrl` asks for and verifies over TLS, where that is not probeUrl's own host. */
  readonly probeTlsServerName?: string;
}

/**
 * The one wiring of an endpoint, shared by InferenceStack and the org-wide
 * template: network, artifact store, API key, load balancer, fleet, scaling,
 * canary, alarms and outputs, added directly to the stack so that their
 * logical ids do not depend on which stack holds them. Values of the
 * configuration may be CloudFormation tokens (the org template's
 * parameters); the constructs treat them as such.
 */
export function addInferenceEndpoint(stack: Stack, config: ResolvedConfig, options: InferenceWiringOptions = {}): InferenceParts {
  const logRetention = config.logRetentionDays as logs.RetentionDays;

  const network = new InferenceNetwork(stack, 'Network', { plan: config.network, logRetention, existingVpcChoice: options.existingVpcChoice });
  const artifacts = new ArtifactStore(stack, 'Artifacts', { retainOnDelete: config.retainArtifactsOnDelete });
  const apiKey = new ApiKeyParameter(stack, 'ApiKey', { parameterName: config.apiKeyParameterName, logRetention });

  const endpoint = new InferenceEndpoint(stack, 'Endpoint', {
    vpc: network.vpc,
    internetFacing: config.internetFacing,
    subnets: config.internetFacing ? network.publicSubnets! : network.privateSubnets,
    certificateArn: config.certificateArn,
    domainName: config.domainName,
    // resolveConfig requires allowedCidrs where the VPC's range is not known.
    allowedCidrs: options.allowedCidrs ?? config.allowedCidrs ?? [network.cidr!],
    targetPort: config.port,
    idleTimeout: Duration.seconds(config.loadBalancerIdleTimeoutSeconds),
    deregistrationDelay: Duration.seconds(config.deregistrationDelaySeconds),
    accessLogBucket: artifacts.accessLogBucket,
    deletionProtection: config.loadBalancerDeletionProtection,
  });

  // An internal endpoint is probed at the load balancer's own address, so the canary needs no DNS
  // record (over HTTPS, asking for and verifying the certificate's domain); an internet-facing one
  // only at the certificate's domain (canaryUrl), which its name must match.
  const probeBase = config.internetFacing ? config.canaryUrl : endpoint.loadBalancerUrl;
  const probeUrl = probeBase ? `${probeBase}/v1` : undefined;
  const probeTlsServerName = config.internetFacing ? undefined : endpoint.tlsServerName;

  const alarms = new FleetAlarms(stack, 'Alarms', {
    loadBalancer: endpoint.loadBalancer,
    targetGroup: endpoint.targetGroup,
    groupName: fleetGroupName(stack),
    canaryEndpointName: probeUrl ? config.stackName : undefined,
    minCapacity: config.minCapacity,
    parallelSlots: config.parallelSlots,
    ttftP90AlarmMs: config.ttftP90AlarmMs,
    tpotP90AlarmMs: config.tpotP90AlarmMs,
    errorRateAlarmPercent: config.errorRateAlarmPercent,
    alarmEmail: config.alarmEmail,
  });

  const fleet = new InferenceFleet(stack, 'Fleet', {
    vpc: network.vpc,
    subnets: network.privateSubnets,
    config,
    artifactBucket: artifacts.bucket,
    apiKeyParameterArn: apiKey.parameterArn,
    targetGroup: endpoint.targetGroup,
    rollbackAlarms: alarms.updateRollbackAlarms,
    machineImage: options.machineImage,
    assetBucketAccount: options.assetBucketAccount,
  });
  // Only the load balancer reaches llama-server.
  endpoint.loadBalancer.connections.allowTo(fleet.securityGroup, ec2.Port.tcp(config.port), 'load balancer to llama-server');

  new FleetScaling(stack, 'Scaling', {
    group: fleet.autoScalingGroup,
    groupName: fleet.groupName,
    parallelSlots: config.parallelSlots,
    targetUtilizationPercent: config.targetSlotUtilizationPercent,
    schedules: config.scheduledCapacity,
  });

  let canary: EndpointCanary | undefined;
  if (probeUrl) {
    canary = new EndpointCanary(stack, 'Canary', {
      vpc: network.vpc,
      subnets: network.privateSubnets,
      endpointUrl: probeUrl,
      tlsServerName: probeTlsServerName,
      endpointName: config.stackName,
      apiKeyParameterName: config.apiKeyParameterName,
      apiKeyParameterArn: apiKey.parameterArn,
      interval: Duration.minutes(config.canaryIntervalMinutes),
      logRetention,
    });
    if (!config.internetFacing) {
      // Ingress on the load balancer and the matching egress on the canary: the probe's only way in.
      endpoint.loadBalancer.connections.allowFrom(canary.securityGroup, ec2.Port.tcp(endpoint.listenerPort), 'canary probes');
    }
  }
  // Instances read the key at boot and fetch the source and the model through the NAT gateway:
  // they start once both exist (CDK orders a Lambda function after its subnets' routes, not a
  // group). The canary reads the key on every probe.
  fleet.autoScalingGroup.node.addDependency(apiKey.resource, network.vpc.selectSubnets(network.privateSubnets).internetConnectivityEstablished);
  canary?.function.node.addDependency(apiKey.resource);
  if (network.ready) {
    // A VPC created by a condition: instances and the canary start once its private subnets route out.
    fleet.autoScalingGroup.node.addDependency(network.ready);
    canary?.function.node.addDependency(network.ready);
  }

  new CfnOutput(stack, 'EndpointUrl', {
    value: `${endpoint.url}/v1`,
    description: 'OpenAI-compatible base URL (send the API key as a Bearer token)',
  });
  new CfnOutput(stack, 'ApiKeyParameterName', {
    value: config.apiKeyParameterName,
    description: 'SSM SecureString holding the API key: aws ssm get-parameter --with-decryption --name ...',
  });
  new CfnOutput(stack, 'AlarmTopicArn', { value: alarms.topic.topicArn, description: 'SNS topic every alarm notifies' });
  new CfnOutput(stack, 'DashboardName', { value: alarms.dashboard.dashboardName, description: 'CloudWatch dashboard of the endpoint' });
  new CfnOutput(stack, 'BootLogGroupName', { value: fleet.bootLogGroup.logGroupName, description: 'Instance boot logs' });
  new CfnOutput(stack, 'ServerLogGroupName', { value: fleet.serverLogGroup.logGroupName, description: 'llama-server logs' });

  if (config.internetFacing && config.allowedCidrs?.includes('0.0.0.0/0')) {
    Validations.of(endpoint).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The configuration asks for an internet-facing endpoint open to 0.0.0.0/0 (allowedCidrs); it serves HTTPS only and every request needs the API key.',
    });
  }
  return { network, artifacts, apiKey, endpoint, fleet, canary, alarms, probeUrl, probeTlsServerName };
}
