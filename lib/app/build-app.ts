import { App, Stack } from 'aws-cdk-lib';
import { ENVIRONMENT_KEY, loadConfig } from '../config/load';
import { resolveConfig } from '../config/resolve';
import { InferenceStack } from '../stacks/inference-stack';
import { addInferenceStack } from './add-inference-stack';
import { addGitHubOidcStack } from './github-oidc-app';
import { addOrgStacks } from './org-app';
import { registerChecks } from './checks';
import { MODE_KEY, appMode, checkContextKeys, readCdkJsonContext } from './mode-context';
import { addPipelineStack } from './pipeline-app';

export { DEFAULT_REGION } from './add-inference-stack';
export { APP_MODES, MODE_KEY } from './mode-context';
export type { AppMode } from './mode-context';
export { registerChecks } from './checks';

export interface BuildAppOptions {
  /** Directory a `-c config=FILE` path and config/environments are relative to. @default - the current directory */
  readonly baseDir?: string;
}

/**
 * Builds what `-c mode=...` asks for, with cdk-nag's AwsSolutions checks and
 * CloudFormation Validate attached, so every synth (the CLI's and the tests')
 * runs the same checks. A context key the mode does not read stops it first
 * (see MODE_CONTEXT), so that no value is silently ignored.
 */
export function buildKitApp(app: App, options: BuildAppOptions = {}): Stack[] {
  registerChecks(app);
  const context = app.node.getAllContext();
  const mode = appMode(context);
  checkContextKeys(mode, context, readCdkJsonContext(options.baseDir ?? process.cwd()));
  switch (mode) {
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
  }
}

/** The default mode: one environment's inference stack, from cdk.json, `-c env=NAME`, `-c config=FILE` and `-c key=value`. */
export function buildApp(app: App, options: BuildAppOptions = {}): InferenceStack {
  registerChecks(app);
  return addEnvironmentStack(app, options);
}

function addEnvironmentStack(app: App, options: BuildAppOptions): InferenceStack {
  // The mode key is the app's, not a configuration field.
  const { [MODE_KEY]: _mode, ...context } = app.node.getAllContext();
  const config = resolveConfig(loadConfig(context, options.baseDir));
  const environmentName = app.node.tryGetContext(ENVIRONMENT_KEY) as string | undefined;
  return addInferenceStack(app, config, { environmentName });
}
