import { CfnOutput, Stage, StageProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PropProblem, throwIfProblems } from '../base/problems';
import { ResolvedConfig } from '../config/resolve';
import { SmokeTestFunction, smokeTestInvokeRoleName } from '../constructs/smoke-test-function';
import { InferenceStack } from './inference-stack';

/** How the stage's smoke test runs and who may start it. */
export interface StageSmokeTestProps {
  /** ARN of the pipeline step's role: the only principal that may assume the stage's invoke role. */
  readonly invokerRoleArn: string;
  /** Streamed chat completions per run (1 to 50). */
  readonly requests: number;
  /** Fail above this p90 time per output token, in milliseconds. */
  readonly targetTpotMs: number;
}

export interface InferenceStageProps extends StageProps {
  /** The environment's configuration; its account and region place the stage. */
  readonly config: ResolvedConfig;
  /** The environment's name, tagged on its resources. */
  readonly environmentName: string;
  /** The post-deploy smoke test the stage deploys beside its endpoint. */
  readonly smokeTest: StageSmokeTestProps;
}

/**
 * What a stage's smoke test needs of its environment: it runs in the
 * environment's VPC, so an internet-facing endpoint must be reachable at
 * canaryUrl (https:// and the domain its certificate covers).
 */
export function smokeTestReachProblems(config: Pick<ResolvedConfig, 'internetFacing' | 'canaryUrl'>): PropProblem[] {
  return config.internetFacing && !config.canaryUrl ? [{
    field: 'canaryUrl',
    expected: 'required for an internet-facing environment a pipeline deploys: its smoke test runs in the environment\'s VPC and calls the endpoint at https:// '
      + 'and the domain its certificate covers (allowedCidrs must admit the VPC\'s NAT addresses)',
  }] : [];
}

/**
 * One environment as a pipeline deploys it: the inference stack, plus the
 * smoke-test function in the environment's own VPC that the pipeline invokes
 * after each deploy.
 */
export class InferenceStage extends Stage {
  readonly stack: InferenceStack;
  readonly smokeTest: SmokeTestFunction;
  /** The smoke-test function's ARN, which the pipeline's step invokes. */
  readonly smokeTestFunctionOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: InferenceStageProps) {
    super(scope, id, props);
    const { config } = props;
    // Named by the configuration, placed by the stage (its account and region).
    this.stack = new InferenceStack(this, config.stackName, { config, environmentName: props.environmentName });
    const endpoint = this.stack.endpoint;
    // The pipeline app checks every environment first, naming its file; this guards other callers.
    throwIfProblems(`InferenceStage ${this.node.path}`, smokeTestReachProblems(config));
    this.smokeTest = new SmokeTestFunction(this.stack, 'SmokeTest', {
      vpc: endpoint.vpc,
      subnets: endpoint.privateSubnets,
      endpointUrl: endpoint.probeUrl!,
      tlsServerName: endpoint.probeTlsServerName,
      apiKeyParameterName: endpoint.apiKeyParameter.parameterName,
      apiKeyParameterArn: endpoint.apiKeyParameter.parameterArn,
      requests: props.smokeTest.requests,
      targetTpotMs: props.smokeTest.targetTpotMs,
      invokerRoleArn: props.smokeTest.invokerRoleArn,
      invokeRoleName: smokeTestInvokeRoleName(config.stackName),
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
    if (!config.internetFacing) {
      // An internal load balancer admits its VPC's range or allowedCidrs; the function's group explicitly.
      endpoint.allowFrom(this.smokeTest.securityGroup, 'pipeline smoke test');
    }
    this.smokeTest.function.node.addDependency(endpoint.apiKeyParameter.resource);
    this.smokeTestFunctionOutput = new CfnOutput(this.stack, 'SmokeTestFunctionArn', {
      value: this.smokeTest.function.functionArn,
      description: 'The pipeline\'s post-deploy smoke test: aws lambda invoke --function-name ... (as the smoke-test invoke role)',
    });
  }
}
