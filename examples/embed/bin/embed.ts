#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EmbedStack } from '../lib/embed-stack';

const app = new App();
// cdk-nag's AwsSolutions rules fail synth on any finding not acknowledged with a reason: the
// endpoint passes them, and so must what this app adds beside it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
new EmbedStack(app, 'Embed', {
  // With credentials, the stack knows its account and region, and the endpoint records the AMI in cdk.context.json.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
