import { App, CloudFormationValidatePlugin, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Registered explicitly (CloudFormation Validate is also CDK's default) so the
 * template rules run whatever the caller's App props say; cdk.json's
 * @aws-cdk/core:validateAgainstDefaultRules makes them fail synth. Called
 * once per App: by the runner for an entry's App, and by the org entry for
 * the App its template is synthesized in.
 */
export function registerChecks(app: App): void {
  Validations.of(app).addPlugins(new CloudFormationValidatePlugin(), new AwsSolutionsChecks(app, { verbose: true }));
}
