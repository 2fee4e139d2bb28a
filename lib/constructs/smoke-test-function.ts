import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { handlerEntry } from './handler-entry';

export interface SmokeTestFunctionProps {
  /** VPC of the endpoint: the function runs in it, so an internal load balancer is reachable. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the function: private ones, which route to the load balancer and, for SSM, out. */
  readonly subnets: ec2.SubnetSelection;
  /** OpenAI-compatible base URL the function calls from inside the VPC, ending in /v1. */
  readonly endpointUrl: string;
  /**
   * The name to ask for and verify over TLS when `endpointUrl` is the internal load balancer's own
   * https address (its certificate names the endpoint's domain, not the load balancer).
   * @default - the host of `endpointUrl`
   */
  readonly tlsServerName?: string;
  readonly apiKeyParameterName: string;
  /** ARN of the API key's parameter: the one thing the function may read. */
  readonly apiKeyParameterArn: string;
  /** Streamed chat completions each invocation sends, one at a time (1 to 50). */
  readonly requests: number;
  /** The test fails when p90 time per output token is above this, in milliseconds (1 to 10000). */
  readonly targetTpotMs: number;
  /**
   * ARN of the one IAM role allowed to assume the invoke role (the pipeline's
   * smoke-test step, usually in another account). A role ARN, not an account:
   * nothing else in that account may invoke the function.
   */
  readonly invokerRoleArn: string;
  /** Name of the invoke role, fixed so that the pipeline can grant its step this one role before it exists (see smokeTestInvokeRoleName). */
  readonly invokeRoleName: string;
  readonly logRetention: logs.RetentionDays;
}

/** The invoke role's name for a stack: fixed, so the pipeline's grant names exactly this role. */
export const smokeTestInvokeRoleName = (stackName: string): string => `${stackName}-smoke-invoke`.slice(0, 64);

/** Longest the function runs: `requests` probes, each bounded, well within the pipeline step's own timeout. */
export const SMOKE_TEST_FUNCTION_TIMEOUT = Duration.minutes(10);

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * The pipeline's post-deploy smoke test as a Lambda function in the
 * endpoint's VPC (runtime/smoke-test/): it reads the API key in its own
 * account and streams `requests` chat completions through the load balancer,
 * returning a verdict. Beside it, a role that only the pipeline step's role
 * may assume and that may only invoke this function: no network path and no
 * key leave the environment's account.
 */
export class SmokeTestFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  /** Admit this group on the load balancer's listener. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The role the pipeline's step assumes to invoke the function. */
  readonly invokeRole: iam.Role;

  constructor(scope: Construct, id: string, props: SmokeTestFunctionProps) {
    super(scope, id);
    validate(this.node.path, props);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'graviton-llm smoke test: calls the load balancer and SSM',
      allowAllOutbound: false,
    });
    // As the canary's: SSM and an internet-facing endpoint are HTTPS; the rule to an internal load
    // balancer's listener is added by whoever admits this group there (connections.allowFrom).
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: SSM, an internet-facing endpoint');
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: handlerEntry('smoke-test'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: SMOKE_TEST_FUNCTION_TIMEOUT,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      description: 'graviton-llm: the pipeline\'s post-deploy smoke test of this endpoint',
      logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention }),
      environment: {
        ENDPOINT_URL: props.endpointUrl,
        ...(props.tlsServerName ? { ENDPOINT_TLS_SERVER_NAME: props.tlsServerName } : {}),
        API_KEY_PARAMETER: props.apiKeyParameterName,
        REQUESTS: String(props.requests),
        TARGET_TPOT_MS: String(props.targetTpotMs),
      },
      bundling: { externalModules: [], minify: true, sourceMap: false },
    });
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [props.apiKeyParameterArn] }));

    this.invokeRole = new iam.Role(this, 'InvokeRole', {
      roleName: props.invokeRoleName,
      // The step's role, by ARN: trusting its account (":root") would let any principal there
      // that is granted sts:AssumeRole invoke the test.
      assumedBy: new iam.ArnPrincipal(props.invokerRoleArn),
      description: 'graviton-llm: the pipeline\'s smoke-test step invokes the smoke-test function',
    });
    // The function's ARN alone: grantInvoke would add its versions and aliases (ARN:*), which it has none of.
    this.invokeRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }));

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWSLambdaBasicExecutionRole only lets the smoke test write its own CloudWatch logs.',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'AWSLambdaVPCAccessExecutionRole is the documented minimum for a function attached to a VPC (its network interfaces).',
    });
  }
}

function validate(where: string, props: SmokeTestFunctionProps): void {
  const problems: string[] = [];
  if (!Number.isInteger(props.requests) || props.requests < 1 || props.requests > 50) {
    problems.push(`requests must be a whole number from 1 to 50, got ${props.requests}`);
  }
  if (!Number.isInteger(props.targetTpotMs) || props.targetTpotMs < 1 || props.targetTpotMs > 10_000) {
    problems.push(`targetTpotMs must be a whole number of milliseconds from 1 to 10000, got ${props.targetTpotMs}`);
  }
  if (!Token.isUnresolved(props.invokerRoleArn) && !ROLE_ARN.test(props.invokerRoleArn)) {
    problems.push(`invokerRoleArn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got ${JSON.stringify(props.invokerRoleArn)}`);
  }
  if (problems.length > 0) {
    throw new Error(`SmokeTestFunction ${where}: ${problems.join('; ')}`);
  }
}
