import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { registerChecks } from '../../lib/app/checks';
import { EndpointCanary, EndpointCanaryProps } from '../../lib/constructs/endpoint-canary';
import { constructTestApp } from '../support/synth';

const KEY_ARN = 'arn:aws:ssm:us-east-1:123456789012:parameter/team/llm/key';
const REQUIRED = {
  endpointUrl: 'http://internal-lb.example/v1',
  endpointName: 'team-llm',
  apiKeyParameterName: '/team/llm/key',
  apiKeyParameterArn: KEY_ARN,
  interval: Duration.minutes(5),
  logRetention: logs.RetentionDays.TWO_WEEKS,
};

/** Builds an EndpointCanary alone in a fresh stack beside a plain VPC, with the kit's checks, and synthesizes it. */
function build(more: Partial<EndpointCanaryProps> = {}): { stack: Stack; vpc: ec2.Vpc; canary: EndpointCanary; t: Template } {
  const app = constructTestApp();
  // cdk-nag and CloudFormation Validate fail synth on any finding the part does not acknowledge itself.
  registerChecks(app);
  const stack = new Stack(app, 'Canary', { env: { region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  // A stand-in for the caller's VPC, not under test.
  Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'A test fixture standing in for the caller\'s own VPC.' });
  const canary = new EndpointCanary(stack, 'Canary', { vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, ...REQUIRED, ...more });
  app.synth();
  return { stack, vpc, canary, t: Template.fromStack(stack) };
}

describe('EndpointCanary alone with the required props', () => {
  let s: ReturnType<typeof build>;
  beforeAll(() => {
    s = build();
  });

  const fn = () => s.t.toJSON().Resources[s.stack.getLogicalId(s.canary.function.node.defaultChild as any)];

  test('one function in the VPC\'s given subnets: Node.js 24, arm64, 256 MB, 40 s', () => {
    // The other is the fixture VPC's (aws-cdk-lib's handler that empties the default security group).
    s.t.resourceCountIs('AWS::Lambda::Function', 2);
    expect(fn().Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 40,
      VpcConfig: {
        SubnetIds: s.vpc.privateSubnets.map((x) => s.stack.resolve(x.subnetId)),
        SecurityGroupIds: [{ 'Fn::GetAtt': [s.stack.getLogicalId(s.canary.securityGroup.node.defaultChild as any), 'GroupId'] }],
      },
    });
  });

  test('env: the URL, the metrics\' endpoint dimension, the key\'s parameter, a probe timeout within the function\'s; tlsServerName unset: none (the URL\'s host)', () => {
    expect(fn().Properties.Environment.Variables).toEqual({
      ENDPOINT_URL: 'http://internal-lb.example/v1',
      ENDPOINT_NAME: 'team-llm',
      API_KEY_PARAMETER: '/team/llm/key',
      TIMEOUT_MS: '30000',
    });
  });

  test('runs every interval, never retried (the next probe is the retry)', () => {
    s.t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [s.stack.getLogicalId(s.canary.function.node.defaultChild as any), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
  });

  test('may read the one key parameter; its group lets out HTTPS only; logs kept logRetention', () => {
    s.t.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: KEY_ARN }] } });
    s.t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('canary'),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: Match.anyValue() }],
    });
    expect(s.t.toJSON().Resources[s.stack.getLogicalId(s.canary.securityGroup.node.defaultChild as any)].Properties.SecurityGroupIngress).toBeUndefined();
    s.t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });
});

describe('EndpointCanary alone with every prop', () => {
  test('tlsServerName: an https URL of the load balancer, probed with the certificate\'s domain (SNI, Host)', () => {
    const { t } = build({ endpointUrl: 'https://internal-lb.example/v1', tlsServerName: 'llm.internal.example' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ENDPOINT_URL: 'https://internal-lb.example/v1', ENDPOINT_TLS_SERVER_NAME: 'llm.internal.example' }) },
    });
  });
});

describe('EndpointCanary checks its props', () => {
  test('tlsServerName needs an https:// endpointUrl', () => {
    const stack = new Stack(constructTestApp(), 'Canary', { env: { region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(() => new EndpointCanary(stack, 'Canary', { vpc, subnets: {}, ...REQUIRED, tlsServerName: 'llm.internal.example' }))
      .toThrow('EndpointCanary Canary/Canary: invalid props:\n  - tlsServerName: got "llm.internal.example"; applies only to an https:// endpointUrl; endpointUrl is http://internal-lb.example/v1');
  });

  test('the endpoint\'s own rules: the interval\'s range, the endpoint name\'s shape, the key parameter\'s name', () => {
    const stack = new Stack(constructTestApp(), 'Canary', { env: { region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(() => new EndpointCanary(stack, 'Canary', { vpc, subnets: {}, ...REQUIRED, interval: Duration.hours(2), endpointName: 'team llm', apiKeyParameterName: 'key' }))
      .toThrow(/^EndpointCanary Canary\/Canary: invalid props:\n {2}- endpointName: got "team llm"; expected a letter, then letters, digits or hyphens.*\n {2}- apiKeyParameterName: got "key"; expected an SSM parameter name starting with \/.*\n {2}- interval: got 120; expected a whole number of minutes from 1 to 60$/);
  });
});
