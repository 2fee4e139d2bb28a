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
import { InferenceFleet } from '../constructs/inference-fleet';
import { InferenceNetwork } from '../constructs/inference-network';

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
  readonly endpoint: InferenceEndpoint;
  readonly fleet: InferenceFleet;
  readonly apiKey: ApiKeyParameter;
  readonly alarms: FleetAlarms;

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
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    const network = new InferenceNetwork(this, 'Network', { plan: config.network, logRetention });
    const artifacts = new ArtifactStore(this, 'Artifacts', { retainOnDelete: config.retainArtifactsOnDelete });
    this.apiKey = new ApiKeyParameter(this, 'ApiKey', { parameterName: config.apiKeyParameterName, logRetention });

    this.endpoint = new InferenceEndpoint(this, 'Endpoint', {
      vpc: network.vpc,
      internetFacing: config.internetFacing,
      subnets: config.internetFacing ? network.publicSubnets! : network.privateSubnets,
      certificateArn: config.certificateArn,
      // resolveConfig requires allowedCidrs where the VPC's range is not known.
      allowedCidrs: config.allowedCidrs ?? [network.cidr!],
      targetPort: config.port,
      idleTimeout: Duration.seconds(config.loadBalancerIdleTimeoutSeconds),
      deregistrationDelay: Duration.seconds(config.deregistrationDelaySeconds),
      accessLogBucket: artifacts.accessLogBucket,
    });

    this.fleet = new InferenceFleet(this, 'Fleet', {
      vpc: network.vpc,
      subnets: network.privateSubnets,
      config,
      artifactBucket: artifacts.bucket,
      apiKeyParameterArn: this.apiKey.parameterArn,
      targetGroup: this.endpoint.targetGroup,
    });
    // Only the load balancer reaches llama-server.
    this.endpoint.loadBalancer.connections.allowTo(this.fleet.securityGroup, ec2.Port.tcp(config.port), 'load balancer to llama-server');

    new FleetScaling(this, 'Scaling', {
      group: this.fleet.autoScalingGroup,
      groupName: this.fleet.groupName,
      parallelSlots: config.parallelSlots,
      targetUtilizationPercent: config.targetSlotUtilizationPercent,
      schedules: config.scheduledCapacity,
    });

    // An internal endpoint is probed at the load balancer's own address; an internet-facing one
    // only at the certificate's domain (canaryUrl), which its name must match.
    const canaryBaseUrl = config.internetFacing ? config.canaryUrl : this.endpoint.url;
    if (canaryBaseUrl) {
      const canary = new EndpointCanary(this, 'Canary', {
        vpc: network.vpc,
        subnets: network.privateSubnets,
        endpointUrl: `${canaryBaseUrl}/v1`,
        endpointName: config.stackName,
        apiKeyParameterName: config.apiKeyParameterName,
        apiKeyParameterArn: this.apiKey.parameterArn,
        interval: Duration.minutes(config.canaryIntervalMinutes),
        logRetention,
      });
      if (!config.internetFacing) {
        this.endpoint.loadBalancer.connections.allowFrom(canary.securityGroup, ec2.Port.tcp(80), 'canary probes');
      }
    }

    this.alarms = new FleetAlarms(this, 'Alarms', {
      loadBalancer: this.endpoint.loadBalancer,
      targetGroup: this.endpoint.targetGroup,
      groupName: this.fleet.groupName,
      canaryEndpointName: canaryBaseUrl ? config.stackName : undefined,
      minCapacity: config.minCapacity,
      parallelSlots: config.parallelSlots,
      ttftP90AlarmMs: config.ttftP90AlarmMs,
      tpotP90AlarmMs: config.tpotP90AlarmMs,
      errorRateAlarmPercent: config.errorRateAlarmPercent,
      alarmEmail: config.alarmEmail,
    });
    this.fleet.rollBackOn(this.alarms.updateRollbackAlarms);

    new CfnOutput(this, 'EndpointUrl', {
      value: `${this.endpoint.url}/v1`,
      description: 'OpenAI-compatible base URL (send the API key as a Bearer token)',
    });
    new CfnOutput(this, 'ApiKeyParameterName', {
      value: config.apiKeyParameterName,
      description: 'SSM SecureString holding the API key: aws ssm get-parameter --with-decryption --name ...',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn, description: 'SNS topic every alarm notifies' });
    new CfnOutput(this, 'DashboardName', { value: this.alarms.dashboard.dashboardName, description: 'CloudWatch dashboard of the endpoint' });
    new CfnOutput(this, 'BootLogGroupName', { value: this.fleet.bootLogGroup.logGroupName, description: 'Instance boot logs' });
    new CfnOutput(this, 'ServerLogGroupName', { value: this.fleet.serverLogGroup.logGroupName, description: 'llama-server logs' });

    if (config.internetFacing && config.allowedCidrs?.includes('0.0.0.0/0')) {
      Validations.of(this.endpoint).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'The configuration asks for an internet-facing endpoint open to 0.0.0.0/0 (allowedCidrs); it serves HTTPS only and every request needs the API key.',
      });
    }
  }
}
