import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerEntry } from './handler-entry';
import { throwIfProblems } from '../base/problems';
import { logRetentionProblems } from './endpoint-checks';
import { endpointNameProblems } from './inference-fleet';
import { formatProblems } from './prop-formats';
import { rangeProblems } from './prop-ranges';

export interface EndpointCanaryProps {
  /** The endpoint's VPC: the function runs in it, so an internal load balancer is reachable. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the function: private ones that route to the load balancer and, for SSM, out. */
  readonly subnets: ec2.SubnetSelection;
  /** OpenAI-compatible base URL, ending in /v1. */
  readonly endpointUrl: string;
  /**
   * For an https endpointUrl that names the load balancer rather than the
   * certificate's domain: the domain, which the canary sends (SNI, Host) and
   * verifies the certificate against.
   * @default - the URL's host
   */
  readonly tlsServerName?: string;
  /** Value of the canary metrics' endpoint dimension. */
  readonly endpointName: string;
  /** Name of the SSM parameter holding the API key, which each probe reads. */
  readonly apiKeyParameterName: string;
  /** ARN of that parameter: the one thing the function may read. */
  readonly apiKeyParameterArn: string;
  /** How often the canary sends a streamed chat completion. */
  readonly interval: Duration;
  /** How long the function's logs (and so its metrics' records) are kept. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * A Lambda function in the VPC that, on a schedule, streams a short chat
 * completion through the load balancer with the real API key and publishes
 * time to first token, time per output token, total time and success or
 * failure (embedded metric format, so no PutMetricData permission).
 */
export class EndpointCanary extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: EndpointCanaryProps) {
    super(scope, id);
    // The rules GravitonLlmEndpoint checks the same props with, for a canary built alone.
    const interval = props.interval instanceof Duration && !props.interval.isUnresolved() ? props.interval.toMinutes({ integral: false }) : undefined;
    throwIfProblems(`EndpointCanary ${this.node.path}`, [
      ...(props.tlsServerName !== undefined && !String(props.endpointUrl).startsWith('https://')
        ? [{ field: 'tlsServerName', given: props.tlsServerName, expected: `applies only to an https:// endpointUrl; endpointUrl is ${props.endpointUrl}` }]
        : []),
      ...endpointNameProblems(props.endpointName),
      ...formatProblems({ apiKeyParameterName: props.apiKeyParameterName }),
      ...rangeProblems([{ field: 'interval', setting: 'canaryIntervalMinutes', value: interval, unit: 'minutes' }]),
      ...logRetentionProblems(props.logRetention),
    ]);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'graviton-llm canary: calls the load balancer and SSM',
      allowAllOutbound: false,
    });
    // SSM (the API key) and an internet-facing endpoint's public address are HTTPS. The rule to an
    // internal load balancer's listener is the caller's, who knows the port (connections.allowFrom).
    // Its logs and metrics need none: Lambda writes the function's output to CloudWatch Logs itself.
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: SSM, an internet-facing endpoint');
    const timeout = Duration.seconds(40);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: handlerEntry('canary'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention }),
      environment: {
        ENDPOINT_URL: props.endpointUrl,
        ...(props.tlsServerName ? { ENDPOINT_TLS_SERVER_NAME: props.tlsServerName } : {}),
        ENDPOINT_NAME: props.endpointName,
        API_KEY_PARAMETER: props.apiKeyParameterName,
        // One bound on key read, probe and retry, leaving the function time to publish a failure.
        TIMEOUT_MS: String(timeout.toMilliseconds() - 10000),
      },
      bundling: { externalModules: [], minify: true, sourceMap: false },
    });
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [props.apiKeyParameterArn] }));

    new events.Rule(this, 'Schedule', {
      description: 'graviton-llm canary probe',
      schedule: events.Schedule.rate(props.interval),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWSLambdaBasicExecutionRole only lets the canary write its own CloudWatch logs (its metrics travel in them).',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'AWSLambdaVPCAccessExecutionRole is the documented minimum for a function attached to a VPC (its network interfaces).',
    });
  }
}
