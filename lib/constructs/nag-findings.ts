import { Stack, Token } from 'aws-cdk-lib';

/**
 * An ARN as cdk-nag prints it in a finding id (`AwsSolutions-IAM5[Resource::...]`):
 * unresolved pseudo parameters appear as `<AWS::Name>`. Acknowledging one
 * finding, rather than the whole rule, keeps any later wildcard visible.
 */
export function nagArn(stack: Stack, service: string, resource: string): string {
  const shown = (value: string, name: string) => (Token.isUnresolved(value) ? `<AWS::${name}>` : value);
  return `arn:${shown(stack.partition, 'Partition')}:${service}:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:${nagText(stack, resource)}`;
}

/**
 * A string as cdk-nag prints it in a finding id: literal text as is, and
 * tokens (the org template's parameters and pseudo parameters) the way
 * cdk-nag flattens CloudFormation references: `<Name>` for a Ref,
 * `<Resource.Attribute>` for a GetAtt.
 */
export function nagText(stack: Stack, value: string): string {
  return Token.isUnresolved(value) ? flatten(stack.resolve(value)) : value;
}

function flatten(node: unknown): string {
  if (node === undefined) {
    return '';
  }
  if (typeof node === 'string') {
    return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  }
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (o['Fn::Sub']) {
    return flatten(o['Fn::Sub']);
  }
  if (o['Fn::GetAtt']) {
    const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (o.Ref) {
    return `<${flatten(o.Ref)}>`;
  }
  return JSON.stringify(node);
}
