import { App } from 'aws-cdk-lib';
import { ConfigError } from '../config/config-error';
import { CONFIG_FILE_KEY, CONTEXT_OBJECT_KEY, ENVIRONMENT_KEY, loadConfig } from '../config/load';
import { resolveConfig } from '../config/resolve';
import { certificateRegionProblems } from '../constructs/endpoint-checks';
import { InferenceStack } from '../stacks/inference-stack';
import { DEFAULT_REGION, KitEntry, KitEntryOptions, MODE_KEY } from './kit-entry';

/**
 * The endpoint (bin/graviton-llm.ts, cdk.json's app): one environment's
 * inference stack, from cdk.json, `-c env=NAME`, `-c config=FILE` and
 * `-c FIELD=VALUE`.
 */
export const ENDPOINT_ENTRY: KitEntry<'environment'> = {
  mode: 'environment',
  deploys: 'one environment\'s endpoint',
  bin: 'bin/graviton-llm.ts',
  context: { keys: [MODE_KEY, CONTEXT_OBJECT_KEY, ENVIRONMENT_KEY, CONFIG_FILE_KEY], configurationFields: true },
  build: (app, options) => [addEndpointStack(app, options)],
};

/**
 * The endpoint's stack in `app`, for the configuration the context selects,
 * placed in the configuration's account and region (else the AWS CLI's, else
 * us-east-1, so that synth works offline).
 */
export function addEndpointStack(app: App, options: KitEntryOptions = {}): InferenceStack {
  // The mode key is the runner's, not a configuration field.
  const { [MODE_KEY]: _mode, ...context } = app.node.getAllContext();
  const config = resolveConfig(loadConfig(context, options.baseDir));
  const region = config.region ?? process.env.CDK_DEFAULT_REGION ?? DEFAULT_REGION;
  // resolveConfig checked a region the configuration names; one taken from the AWS CLI or the default is known only here.
  if (!config.region) {
    const problems = certificateRegionProblems(config.certificateArn, region, process.env.CDK_DEFAULT_REGION
      ? 'the AWS CLI\'s current region, CDK_DEFAULT_REGION, as the configuration sets no region'
      : 'the default, as neither the configuration nor the AWS CLI names a region');
    if (problems.length > 0) {
      throw new ConfigError(problems);
    }
  }
  return new InferenceStack(app, config.stackName, {
    config,
    environmentName: app.node.tryGetContext(ENVIRONMENT_KEY) as string | undefined,
    // A concrete region: the load balancer's access-log permissions differ by region.
    env: { account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT, region },
  });
}
