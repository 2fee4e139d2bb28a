import { App, Stack } from 'aws-cdk-lib';
import { ConfigError } from '../config/config-error';
import { ENVIRONMENT_KEY, loadConfig } from '../config/load';
import { resolveConfig } from '../config/resolve';
import { InferenceStack } from '../stacks/inference-stack';
import { addInferenceStack } from './add-inference-stack';
import { addGitHubOidcStack } from './github-oidc-app';
import { addOrgStacks } from './org-app';
import { registerChecks } from './checks';
import { addPipelineStack } from './pipeline-app';

export { DEFAULT_REGION } from './add-inference-stack';
export { registerChecks } from './checks';

/** Context key choosing what the app builds (`-c mode=pipeline`). */
export const MODE_KEY = 'mode';
/** What the app can build: one environment's endpoint (the default), the pipeline, the org-wide template and its StackSet and Service Catalog stacks, or the GitHub Actions OIDC roles. */
export const APP_MODES = ['environment', 'pipeline', 'org', 'github-oidc'] as const;
export type AppMode = (typeof APP_MODES)[number];

export interface BuildAppOptions {
  /** Directory a `-c config=FILE` path and config/environments are relative to. @default - the current directory */
  readonly baseDir?: string;
}

/**
 * Builds what `-c mode=...` asks for, with cdk-nag's AwsSolutions checks and
 * CloudFormation Validate attached, so every synth (the CLI's and the tests')
 * runs the same checks.
 */
export function buildKitApp(app: App, options: BuildAppOptions = {}): Stack[] {
  registerChecks(app);
  const mode = app.node.tryGetContext(MODE_KEY) ?? 'environment';
  switch (mode as AppMode) {
    case 'environment':
      return [addEnvironmentStack(app, options)];
    case 'pipeline':
      return [addPipelineStack(app, options)];
    case 'org': {
      const org = addOrgStacks(app, options);
      return [...org.assetBuckets, org.stackSet, org.catalog];
    }
    case 'github-oidc':
      return [addGitHubOidcStack(app)];
    default:
      throw new ConfigError([{ field: MODE_KEY, given: mode, expected: `expected one of: ${APP_MODES.join(', ')}` }]);
  }
}

/** The default mode: one environment's inference stack, from cdk.json, `-c env=NAME`, `-c config=FILE` and `-c key=value`. */
export function buildApp(app: App, options: BuildAppOptions = {}): InferenceStack {
  registerChecks(app);
  return addEnvironmentStack(app, options);
}

function addEnvironmentStack(app: App, options: BuildAppOptions): InferenceStack {
  const config = resolveConfig(loadConfig(app.node.getAllContext(), options.baseDir));
  const environmentName = app.node.tryGetContext(ENVIRONMENT_KEY) as string | undefined;
  return addInferenceStack(app, config, { environmentName });
}
