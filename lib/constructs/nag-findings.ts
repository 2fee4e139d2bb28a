import { Stack, Token } from 'aws-cdk-lib';

/**
 * An ARN as cdk-nag prints it in a finding id (`AwsSolutions-IAM5[Resource::...]`):
 * unresolved pseudo parameters appear as `<AWS::Name>`. Acknowledging one
 * finding, rather than the whole rule, keeps any later wildcard visible.
 */
export function nagArn(stack: Stack, service: string, resource: string): string {
  const shown = (value: string, name: string) => (Token.isUnresolved(value) ? `<AWS::${name}>` : value);
  return `arn:${shown(stack.partition, 'Partition')}:${service}:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:${resource}`;
}
