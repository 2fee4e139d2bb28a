import { App, Stack } from 'aws-cdk-lib';
import { InferenceStack } from '../stacks/inference-stack';
import { registerChecks } from './checks';
import { addEndpointStack } from './endpoint-app';
import { KitEntry, KitEntryOptions } from './kit-entry';
import { AppMode, chooseEntry, checkContextKeys, readCdkJsonContext } from './mode-context';

export interface BuildAppOptions extends KitEntryOptions {
  /**
   * The deployable to build, when its own bin runs (bin/pipeline.ts, ...).
   * @default - the one `-c mode=` names, else the endpoint (bin/graviton-llm.ts)
   */
  readonly entry?: KitEntry<AppMode>;
}

/**
 * Builds one deployable into `app`, with cdk-nag's AwsSolutions checks and
 * CloudFormation Validate registered on the App, so every synth (the CLI's
 * and the tests') runs the same checks. A context key the entry does not read
 * stops it first (see KIT_ENTRIES), so that no value is silently ignored.
 */
export function buildKitApp(app: App, options: BuildAppOptions = {}): Stack[] {
  registerChecks(app);
  const context = app.node.getAllContext();
  const entry = chooseEntry(context, options.entry);
  checkContextKeys(entry.mode, context, readCdkJsonContext(options.baseDir ?? process.cwd()));
  return entry.build(app, { baseDir: options.baseDir });
}

/**
 * The endpoint's stack, from cdk.json, `-c env=NAME`, `-c config=FILE` and
 * `-c key=value`, with the checks registered: what the stack tests build.
 * (It does not check the context keys: tests pass keys of their own.)
 */
export function buildApp(app: App, options: KitEntryOptions = {}): InferenceStack {
  registerChecks(app);
  return addEndpointStack(app, options);
}
