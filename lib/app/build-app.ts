import { App, CloudFormationValidatePlugin, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../config/load';
import { resolveConfig } from '../config/resolve';
import { InferenceStack } from '../stacks/inference-stack';

/** Region used when neither the configuration nor the AWS CLI names one, so synth works offline. */
export const DEFAULT_REGION = 'us-east-1';

export interface BuildAppOptions {
  /** Directory a `-c config=FILE` path is relative to. @default - the current directory */
  readonly baseDir?: string;
}

/**
 * Reads and checks the configuration from the app's context, then adds the
 * inference stack with cdk-nag's AwsSolutions checks attached, so every synth
 * (the CLI's and the tests') runs the same checks.
 */
export function buildApp(app: App, options: BuildAppOptions = {}): InferenceStack {
  const config = resolveConfig(loadConfig(app.node.getAllContext(), options.baseDir));
  // Registered explicitly (it is also CDK's default) so the template rules run whatever the
  // caller's App props say; cdk.json's @aws-cdk/core:validateAgainstDefaultRules makes them fail synth.
  Validations.of(app).addPlugins(new CloudFormationValidatePlugin(), new AwsSolutionsChecks(app, { verbose: true }));
  const stack = new InferenceStack(app, config.stackName, {
    config,
    description: `graviton-llm: ${config.model.displayName} ${config.model.quantization} on ${config.instance.instanceType} (llama.cpp ${config.llamaCppRef})`,
    // A concrete region: the load balancer's access-log permissions differ by region.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: config.region ?? process.env.CDK_DEFAULT_REGION ?? DEFAULT_REGION },
  });
  return stack;
}
