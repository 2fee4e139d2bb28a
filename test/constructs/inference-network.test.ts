import { App, CfnCondition, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { registerChecks } from '../../lib/app/checks';
import { InferenceNetwork, InferenceNetworkProps } from '../../lib/constructs/inference-network';
import { constructTestApp } from '../support/synth';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

/**
 * An App with cdk.json's feature flags and the account's three AZs recorded, as
 * cdk.context.json records them after a lookup, so that maxAzs can show its effect.
 */
function newApp(): App {
  return constructTestApp({ [`availability-zones:account=${ACCOUNT}:region=${REGION}`]: ['us-east-1a', 'us-east-1b', 'us-east-1c'] });
}

const REQUIRED: InferenceNetworkProps = { cidr: '10.20.0.0/16', maxAzs: 2, natGateways: 1, logRetention: logs.RetentionDays.ONE_MONTH };

/** Builds an InferenceNetwork alone in a fresh stack, with the kit's checks, and synthesizes it. */
function build(props: (stack: Stack) => InferenceNetworkProps): { stack: Stack; network: InferenceNetwork; t: Template } {
  const app = newApp();
  // cdk-nag and CloudFormation Validate fail synth on any finding the part does not acknowledge itself.
  registerChecks(app);
  const stack = new Stack(app, 'Net', { env: { account: ACCOUNT, region: REGION } });
  const network = new InferenceNetwork(stack, 'Network', props(stack));
  app.synth();
  return { stack, network, t: Template.fromStack(stack) };
}

const INTERFACE_SERVICES = ['ssm', 'ssmmessages', 'ec2messages', 'logs', 'monitoring'];

describe('InferenceNetwork alone with the required props (no existingVpcChoice: the new VPC, always)', () => {
  let s: ReturnType<typeof build>;
  beforeAll(() => {
    s = build(() => REQUIRED);
  });

  test('a VPC of the given range over maxAzs AZs, each with a public and a private subnet, and natGateways NAT gateways', () => {
    s.t.resourceCountIs('AWS::EC2::VPC', 1);
    s.t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.20.0.0/16' });
    s.t.resourceCountIs('AWS::EC2::Subnet', 4);
    s.t.resourceCountIs('AWS::EC2::NatGateway', 1);
    expect(s.network.cidr).toBe('10.20.0.0/16');
    expect(s.network.vpc.availabilityZones).toEqual(['us-east-1a', 'us-east-1b']);
    expect(s.network.vpc.selectSubnets(s.network.privateSubnets).subnets.map((x) => x.node.id)).toEqual(['privateSubnet1', 'privateSubnet2']);
    expect(s.network.vpc.selectSubnets(s.network.publicSubnets).subnets.map((x) => x.node.id)).toEqual(['publicSubnet1', 'publicSubnet2']);
  });

  test('S3 by a gateway endpoint; SSM, Session Manager and CloudWatch by private interface endpoints that admit HTTPS from the VPC only', () => {
    const gateways = Object.values(s.t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Gateway' } }));
    expect(gateways.map((e) => JSON.stringify(e.Properties.ServiceName))).toEqual([expect.stringMatching(/\.s3"/)]);
    const endpoints = Object.values(s.t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));
    expect(endpoints.map((e) => e.Properties.ServiceName).sort()).toEqual(INTERFACE_SERVICES.map((x) => `com.amazonaws.${REGION}.${x}`).sort());
    for (const e of endpoints) {
      expect(e.Properties.PrivateDnsEnabled).toBe(true);
      expect(e.Properties.SubnetIds).toHaveLength(2);
    }
    s.t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('VPC endpoints'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' })],
      // allowAllOutbound false: CDK's placeholder rule that matches no traffic.
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
  });

  test('rejected traffic is flow-logged to a log group kept logRetention; the default security group is emptied', () => {
    s.t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', ResourceType: 'VPC', LogDestinationType: 'cloud-watch-logs' });
    s.t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete' });
    s.t.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('nothing is conditional and nothing waits: ready is only for a VPC chosen at deploy time', () => {
    expect(s.network.ready).toBeUndefined();
    expect(s.t.toJSON().Conditions).toBeUndefined();
    s.t.resourceCountIs('AWS::CloudFormation::WaitConditionHandle', 0);
  });
});

describe('InferenceNetwork alone with every prop: three AZs, NAT in each, and a VPC chosen at deploy time (existingVpcChoice)', () => {
  let s: ReturnType<typeof build>;
  let createVpc: CfnCondition;
  beforeAll(() => {
    s = build((stack) => {
      const vpcId = new CfnParameter(stack, 'VpcId', { type: 'String', default: '' });
      const subnetIds = new CfnParameter(stack, 'SubnetIds', { type: 'CommaDelimitedList', default: '' });
      createVpc = new CfnCondition(stack, 'CreateVpc', { expression: Fn.conditionEquals(vpcId.valueAsString, '') });
      return {
        cidr: '10.30.0.0/20',
        maxAzs: 3,
        natGateways: 3,
        logRetention: logs.RetentionDays.ONE_WEEK,
        existingVpcChoice: { createVpc, vpcId: vpcId.valueAsString, privateSubnetIds: [0, 1, 2].map((i) => Fn.select(i, subnetIds.valueAsList)) },
      };
    });
  });

  test('maxAzs, natGateways and logRetention shape the new VPC', () => {
    s.t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.30.0.0/20' });
    s.t.resourceCountIs('AWS::EC2::Subnet', 6);
    s.t.resourceCountIs('AWS::EC2::NatGateway', 3);
    s.t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  test('every resource of the new VPC, the default-SG provider included, exists only under the condition', () => {
    const resources = Object.entries(s.t.toJSON().Resources as Record<string, { Type: string; Condition?: string }>);
    const unconditional = resources.filter(([, r]) => r.Condition !== 'CreateVpc').map(([, r]) => r.Type);
    // Only the wait handle, which must exist either way.
    expect(unconditional).toEqual(['AWS::CloudFormation::WaitConditionHandle']);
    expect(resources.length).toBeGreaterThan(30);
  });

  test('the VPC and private subnets are the new ones or the given ones by Fn::If; no public subnets are offered', () => {
    const vpcId = s.stack.resolve(s.network.vpc.vpcId);
    expect(vpcId['Fn::If'][0]).toBe('CreateVpc');
    expect(vpcId['Fn::If'][2]).toEqual({ Ref: 'VpcId' });
    const subnets = s.network.vpc.selectSubnets(s.network.privateSubnets).subnets.map((x) => s.stack.resolve(x.subnetId));
    expect(subnets).toHaveLength(3);
    subnets.forEach((id, i) => expect(id['Fn::If'][2]).toEqual({ 'Fn::Select': [i, { Ref: 'SubnetIds' }] }));
    expect(s.network.publicSubnets).toBeUndefined();
  });

  test('ready waits, only when the VPC is created, for each private subnet\'s default route and route table association', () => {
    expect(s.network.ready).toBeDefined();
    const [handle] = Object.values(s.t.findResources('AWS::CloudFormation::WaitConditionHandle'));
    const [condition, refs, otherwise] = handle.Metadata.WaitsFor['Fn::If'];
    expect(condition).toBe('CreateVpc');
    expect(otherwise).toBe('');
    const types = (refs as { Ref: string }[]).map((r) => s.t.toJSON().Resources[r.Ref].Type).sort();
    expect(types).toEqual([...Array(3).fill('AWS::EC2::Route'), ...Array(3).fill('AWS::EC2::SubnetRouteTableAssociation')]);
  });
});

describe('InferenceNetwork checks its existing-VPC choice', () => {
  test('as many existing private subnets as the new VPC has AZs', () => {
    const stack = new Stack(newApp(), 'Net', { env: { account: ACCOUNT, region: REGION } });
    const createVpc = new CfnCondition(stack, 'CreateVpc', { expression: Fn.conditionEquals('a', 'b') });
    expect(() => new InferenceNetwork(stack, 'Network', { ...REQUIRED, existingVpcChoice: { createVpc, vpcId: 'vpc-1', privateSubnetIds: ['subnet-1'] } }))
      .toThrow('the new VPC has 2 private subnets but 1 existing subnet ids were given');
  });
});
