import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { registerChecks } from '../../lib/app/checks';
import { ApiKeyParameter } from '../../lib/constructs/api-key-parameter';
import { STACK_ID_TAG } from '../../runtime/api-key/owner-tags';
import { constructTestApp } from '../support/synth';

describe('ApiKeyParameter alone (every prop is required), with the kit\'s checks', () => {
  let stack: Stack;
  let key: ApiKeyParameter;
  let t: Template;
  beforeAll(() => {
    const app = constructTestApp();
    // cdk-nag and CloudFormation Validate fail synth on any finding the part does not acknowledge itself.
    registerChecks(app);
    stack = new Stack(app, 'Keys', { env: { region: 'us-east-1' } });
    key = new ApiKeyParameter(stack, 'ApiKey', { parameterName: '/team/llm/key', logRetention: logs.RetentionDays.ONE_WEEK });
    app.synth();
    t = Template.fromStack(stack);
  });

  test('one custom resource writes the key: its type and the parameter name; no SSM parameter in the template', () => {
    t.resourceCountIs('Custom::GravitonLlmApiKey', 1);
    t.hasResourceProperties('Custom::GravitonLlmApiKey', { ParameterName: '/team/llm/key', ServiceToken: Match.anyValue() });
    // CloudFormation cannot create a SecureString, and the value must never be in the template.
    t.resourceCountIs('AWS::SSM::Parameter', 0);
    expect(stack.resolve(key.resource.ref)).toEqual({ Ref: stack.getLogicalId(key.resource.node.defaultChild as any) });
  });

  test('the parameter\'s name and ARN (without the name\'s leading slash)', () => {
    expect(key.parameterName).toBe('/team/llm/key');
    expect(stack.resolve(key.parameterArn)).toEqual({ 'Fn::Join': ['', ['arn:aws:ssm:us-east-1:', { Ref: 'AWS::AccountId' }, ':parameter/team/llm/key']] });
  });

  test('the handler: Node.js 24 on arm64, 30 s; the provider framework around it', () => {
    t.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 30, Handler: 'index.handler' });
    // The handler and the provider framework's onEvent function.
    t.resourceCountIs('AWS::Lambda::Function', 2);
  });

  test('the handler may manage the one parameter, and others only if tagged with this stack\'s id', () => {
    const actions = ['ssm:AddTagsToResource', 'ssm:DeleteParameter', 'ssm:GetParameter', 'ssm:ListTagsForResource', 'ssm:PutParameter'];
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: actions, Resource: stack.resolve(key.parameterArn) },
          {
            Effect: 'Allow',
            Action: actions,
            Resource: { 'Fn::Join': ['', ['arn:aws:ssm:us-east-1:', { Ref: 'AWS::AccountId' }, ':parameter/*']] },
            Condition: { StringEquals: { [`aws:ResourceTag/${STACK_ID_TAG}`]: { Ref: 'AWS::StackId' } } },
          },
        ],
      },
    });
  });

  test('logRetention: both log groups (handler, provider) keep logs as long as asked', () => {
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(2);
    expect(groups.map((g) => g.Properties.RetentionInDays)).toEqual([7, 7]);
  });
});
