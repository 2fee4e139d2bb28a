import { Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ConfigError } from '../config/config-error';
import { ResolvedConfig, certificateRegionProblem } from '../config/resolve';
import { InferenceStack } from '../stacks/inference-stack';

/** Region used when neither the configuration nor the AWS CLI names one, so synth works offline. */
export const DEFAULT_REGION = 'us-east-1';

/** Tag every resource of a named environment carries. */
export const ENVIRONMENT_TAG = 'graviton-llm:environment';

/**
 * Resource types left untagged: CloudFormation accepts tags on them now, but
 * cfn-lint's schema (1.51, which CI runs) rejects them, and neither bears cost.
 */
const UNTAGGED_TYPES = ['AWS::ElasticLoadBalancingV2::Listener', 'AWS::CloudWatch::Dashboard'];

export interface AddInferenceStackOptions {
  /** Named environment the stack belongs to, tagged on every resource. @default - none */
  readonly environmentName?: string;
  /** Take account and region from the enclosing Stage (a pipeline's) rather than from the configuration. @default false */
  readonly inheritEnv?: boolean;
}

/** An inference stack for a resolved configuration, as the CLI, the pipeline's stages and the tests build it. */
export function addInferenceStack(scope: Construct, config: ResolvedConfig, options: AddInferenceStackOptions = {}): InferenceStack {
  const region = options.inheritEnv ? undefined : config.region ?? process.env.CDK_DEFAULT_REGION ?? DEFAULT_REGION;
  // resolveConfig checked a region the configuration names; one taken from the AWS CLI or the default is known only here.
  if (config.certificateArn && region && !config.region) {
    const problem = certificateRegionProblem(config.certificateArn, region, process.env.CDK_DEFAULT_REGION
      ? 'the AWS CLI\'s current region, CDK_DEFAULT_REGION, as the configuration sets no region'
      : 'the default, as neither the configuration nor the AWS CLI names a region');
    if (problem) {
      throw new ConfigError([problem]);
    }
  }
  const stack = new InferenceStack(scope, config.stackName, {
    config,
    // Explicit, so a pipeline's stage deploys the same stack a workstation's `-c env=NAME` does
    // (a stack in a Stage is otherwise named STAGE-ID).
    stackName: config.stackName,
    description: `graviton-llm: ${config.model.displayName} ${config.model.quantization} on ${config.instance.instanceType} (llama.cpp ${config.llamaCppRef})`,
    // A concrete region: the load balancer's access-log permissions differ by region.
    env: options.inheritEnv ? undefined : {
      account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT,
      region,
    },
  });
  if (options.environmentName) {
    Tags.of(stack).add(ENVIRONMENT_TAG, options.environmentName, { excludeResourceTypes: UNTAGGED_TYPES });
  }
  return stack;
}

