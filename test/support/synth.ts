import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app/build-app';
import { InferenceStack } from '../../lib/stacks/inference-stack';

export const REPO_ROOT = path.join(__dirname, '..', '..');

/** cdk.json's context, so tests run with the same feature flags as `cdk synth`. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

/**
 * An App for a construct built alone: cdk.json's feature flags, no Lambda
 * bundling (proven by the stack tests), and any lookups a test records as
 * cdk.context.json would.
 */
export function constructTestApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
}

export interface Synthesized {
  readonly app: App;
  readonly stack: InferenceStack;
  readonly template: Template;
  /** The cloud assembly directory, holding validation-report.json when a plugin reported. */
  readonly outdir: string;
}

/**
 * Builds the app exactly as bin/ does, with extra context standing in for
 * `-c key=value`, and synthesizes it (running cdk-nag and CloudFormation
 * Validate, which throw on any unacknowledged finding).
 */
export function synthWith(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-synth-'));
  // Bundling the Lambda handler is proven once (the default synth); variants skip it to stay fast.
  const bundling = options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {};
  const app = new App({ context: { ...cdkJsonContext(), ...bundling, ...context }, outdir });
  const stack = buildApp(app, { baseDir: REPO_ROOT });
  app.synth();
  return { app, stack, template: Template.fromStack(stack), outdir };
}
