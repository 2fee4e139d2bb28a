import { CfnOutput, Stage, StageProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ResolvedConfig } from '../config/resolve';
import { SmokeTestAccess, smokeTestRoleName } from '../constructs/smoke-test-access';
import { addInferenceStack } from '../app/add-inference-stack';
import { InferenceStack } from './inference-stack';

export interface InferenceStageProps extends StageProps {
  /** The environment's configuration; its account and region place the stage. */
  readonly config: ResolvedConfig;
  /** The environment's name, tagged on its resources. */
  readonly environmentName: string;
  /** Account of the pipeline, whose smoke-test step reads the API key through a role in this stage. */
  readonly pipelineAccount: string;
}

/** One environment as a pipeline deploys it: the inference stack, plus the smoke test's read access to its key. */
export class InferenceStage extends Stage {
  readonly stack: InferenceStack;
  readonly smokeTestAccess: SmokeTestAccess;
  /** The stack outputs the post-deploy smoke test reads. */
  readonly endpointUrlOutput: CfnOutput;
  readonly apiKeyParameterNameOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: InferenceStageProps) {
    super(scope, id, props);
    this.stack = addInferenceStack(this, props.config, { environmentName: props.environmentName, inheritEnv: true });
    this.smokeTestAccess = new SmokeTestAccess(this.stack, 'SmokeTestAccess', {
      trustedAccount: props.pipelineAccount,
      apiKeyParameterArn: this.stack.apiKey.parameterArn,
      roleName: smokeTestRoleName(props.config.stackName),
    });
    this.endpointUrlOutput = this.stack.node.findChild('EndpointUrl') as CfnOutput;
    this.apiKeyParameterNameOutput = this.stack.node.findChild('ApiKeyParameterName') as CfnOutput;
  }
}
