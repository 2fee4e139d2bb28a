import { App, CloudFormationValidatePlugin, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

const checksRegistered = new WeakSet<App>();

/**
 * Registered explicitly (CloudFormation Validate is also CDK's default) so the
 * template rules run whatever the caller's App props say; cdk.json's
 * @aws-cdk/core:validateAgainstDefaultRules makes them fail synth.
 */
export function registerChecks(app: App): void {
  if (checksRegistered.has(app)) {
    return;
  }
  checksRegistered.add(app);
  Validations.of(app).addPlugins(new CloudFormationValidatePlugin(), new AwsSolutionsChecks(app, { verbose: true }));
}
