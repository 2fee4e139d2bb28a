import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { registerChecks } from '../../lib/app/checks';
import { CATALOG_MODELS } from '../../lib/catalogs/model-catalog';
import { GravitonLlmEndpoint, GravitonLlmEndpointProps } from '../../lib/constructs/graviton-llm-endpoint';
import { PurchaseOption } from '../../lib/constructs/fleet-purchase';
import { SPOT_DEREGISTRATION_DELAY_SECONDS } from '../../lib/constructs/spot-drain';
import { drainLogQueryLines } from '../../lib/monitoring/drain-log-query';
import { DRAIN_METRICS, DRAIN_REASON_DIMENSION, DRAIN_REASONS, FLEET_DIMENSION, METRIC_NAMESPACE } from '../../lib/monitoring/metric-definitions';
import { DRAIN_BUDGET_SECONDS } from '../../runtime/boot/drain/budget';
import { PropsError } from '../../lib/base/problems';
import { GravitonInstanceType } from '../../lib/instances/graviton-instance-type';
import { LlamaModel } from '../../lib/models/llama-model';
import { findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { servingMemory } from '../../lib/constructs/endpoint-checks';
import { PROMPT_CACHE_MAX_MIB, promptCacheMiB, promptCacheRoomMiB } from '../../lib/sizing/memory-fit';
import { constructTestApp } from '../support/synth';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const ENV = { region: 'us-east-1' };

const minimal = (): GravitonLlmEndpointProps => ({
  model: LlamaModel.LLAMA_3_2_1B_INSTRUCT_Q4_0,
  instanceType: GravitonInstanceType.of('c7g.xlarge'),
});

/** Builds the endpoint in a fresh stack; returns what it threw, or undefined. */
function thrownBy(props: Partial<GravitonLlmEndpointProps>, build?: (stack: Stack) => Partial<GravitonLlmEndpointProps>): Error | undefined {
  const stack = new Stack(constructTestApp(), 'Stack', { env: ENV });
  try {
    new GravitonLlmEndpoint(stack, 'Llm', { ...minimal(), ...props, ...build?.(stack) });
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

describe('GravitonLlmEndpoint with minimal props', () => {
  let stack: Stack;
  let endpoint: GravitonLlmEndpoint;
  let t: Template;
  beforeAll(() => {
    const app = constructTestApp();
    // The security checks the kit's own stacks pass (cdk-nag AwsSolutions, CloudFormation Validate) fail synth on any finding.
    registerChecks(app);
    stack = new Stack(app, 'Embedding', { env: ENV });
    endpoint = new GravitonLlmEndpoint(stack, 'Llm', minimal());
    app.synth();
    t = Template.fromStack(stack);
  });

  test('a new VPC, an internal HTTP load balancer admitting the VPC range, and a fleet of 1 to 3', () => {
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.64.0.0/16' });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('load balancer'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.64.0.0/16', FromPort: 80 })],
    });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '3', AutoScalingGroupName: 'Embedding-fleet' });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'c7g.xlarge' }) });
  });

  test('outputs are properties: the URL, the key, the group, the load balancer, the dashboard and topic', () => {
    expect(stack.resolve(endpoint.endpointUrl)).toEqual({
      'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [stack.getLogicalId(endpoint.loadBalancer.node.defaultChild as any), 'DNSName'] }, '/v1']],
    });
    expect(endpoint.apiKeyParameter.parameterName).toBe('/graviton-llm/Embedding/api-key');
    expect(stack.resolve(endpoint.autoScalingGroup.autoScalingGroupName)).toEqual({ Ref: stack.getLogicalId(endpoint.autoScalingGroup.node.defaultChild as any) });
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(endpoint.dashboard).toBe(endpoint.alarms.dashboard);
    expect(endpoint.probeUrl).toBeDefined();
    expect(endpoint.network).toBeDefined();
    // Its own topic, encrypted with its own key; no subscription without alarmEmail.
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(endpoint.alarms.emailSubscription).toBeUndefined();
  });

  test('no CfnOutput: outputs are the stack\'s to add', () => {
    expect(Object.keys(t.toJSON().Outputs ?? {})).toEqual([]);
  });
});

describe('GravitonLlmEndpoint with every prop', () => {
  let stack: Stack;
  let endpoint: GravitonLlmEndpoint;
  let t: Template;
  let team: sns.Topic;
  let client: iam.Role;
  beforeAll(() => {
    stack = new Stack(constructTestApp(), 'Platform', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'TeamVpc', { maxAzs: 2, natGateways: 1 });
    team = new sns.Topic(stack, 'TeamAlarms');
    endpoint = new GravitonLlmEndpoint(stack, 'Llm', {
      model: LlamaModel.custom({
        source: 's3://models-bucket/tuned/3b-f16.gguf',
        sha256: 'a'.repeat(64),
        sizeBytes: 6_500_000_000,
        architecture: 'llama-3.2-3b',
        quantization: 'F16',
        quantizeTo: 'Q4_K_M',
      }),
      instanceType: GravitonInstanceType.of('m7g.2xlarge'),
      existingVpc: vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      loadBalancerSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      minCapacity: 2,
      maxCapacity: 4,
      parallelSlots: 2,
      contextTokensPerSlot: 8192,
      promptCacheMiB: 2048,
      targetSlotUtilizationPercent: 60,
      scheduledCapacity: [{ name: 'Night', cron: '0 20 * * *', minCapacity: 1, maxCapacity: 2 }],
      warmPoolSize: 1,
      llamaCppRef: 'b1234',
      llamaCppCommit: 'c'.repeat(40),
      machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }),
      port: 9000,
      bootTimeout: Duration.minutes(60),
      rootVolumeGiB: 64,
      rootVolumeThroughputMiBps: 500,
      huggingFaceTokenParameterName: '/team/hf-token',
      updateMinHealthyPercent: 50,
      updateBakeTime: Duration.minutes(5),
      bootScriptBucketAccount: '111122223333',
      internetFacing: false,
      certificateArn: CERT,
      domainName: 'llm.internal.example',
      allowedCidrs: ['10.1.0.0/16'],
      loadBalancerIdleTimeout: Duration.seconds(900),
      deregistrationDelay: Duration.seconds(120),
      loadBalancerDeletionProtection: true,
      retainArtifactsOnDelete: true,
      endpointName: 'team-llm',
      apiKeyParameterName: '/team/llm/key',
      logRetention: logs.RetentionDays.ONE_WEEK,
      alarmTopic: team,
      alarmEmail: 'oncall@example.com',
      ttftP90AlarmMs: 3000,
      tpotP90AlarmMs: 150,
      errorRateAlarmPercent: 2,
      canaryInterval: Duration.minutes(5),
    });
    client = new iam.Role(stack, 'Client', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    endpoint.grantReadApiKey(client);
    t = Template.fromStack(stack);
  });

  test('deploys into the given VPC: no VPC, NAT or endpoints of its own', () => {
    expect(endpoint.network).toBeUndefined();
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  test('HTTPS for the domain name, the given client range, the load balancer settings', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: CERT }] });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('load balancer'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.1.0.0/16', FromPort: 443 })],
    });
    for (const attribute of [{ Key: 'idle_timeout.timeout_seconds', Value: '900' }, { Key: 'deletion_protection.enabled', Value: 'true' }]) {
      t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { LoadBalancerAttributes: Match.arrayWith([attribute]) });
    }
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 9000,
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '120' }]),
    });
    expect(endpoint.endpointUrl).toBe('https://llm.internal.example/v1');
  });

  test('the fleet: type, image, volume, capacity, update policy, warm pool held by the boot hook, schedules', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'm7g.2xlarge',
        ImageId: 'ami-0123456789abcdef0',
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 64, Throughput: 500 }) })],
      }),
    });
    const [groupId, group] = Object.entries(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(group.Properties).toMatchObject({ MinSize: '2', MaxSize: '4' });
    expect(group.UpdatePolicy.AutoScalingRollingUpdate ?? group.UpdatePolicy).toBeDefined();
    // bootTimeout is the launch hook's timeout; the hook is the group's own, so the pool (which refers to the group) is held by it.
    expect(group.Properties.LifecycleHookSpecificationList).toEqual([expect.objectContaining({ LifecycleHookName: 'graviton-llm-launch', HeartbeatTimeout: 3600 })]);
    const pool = Object.values(t.findResources('AWS::AutoScaling::WarmPool'))[0];
    expect(pool.Properties.MinSize).toBe(1);
    expect(pool.Properties.AutoScalingGroupName).toEqual({ Ref: groupId });
    t.hasResourceProperties('AWS::AutoScaling::ScheduledAction', { Recurrence: '0 20 * * *', MinSize: 1, MaxSize: 2 });
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 60 }) });
  });

  test('the boot environment carries the model, the build and the serving shape', () => {
    const userData = JSON.stringify(Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0].Properties.LaunchTemplateData.UserData);
    for (const line of [
      'GLLM_MODEL_SOURCE=s3://models-bucket/tuned/3b-f16.gguf', 'GLLM_QUANTIZE_TO=Q4_K_M', `GLLM_LLAMA_CPP_COMMIT=${'c'.repeat(40)}`,
      'GLLM_PORT=9000', 'GLLM_PARALLEL_SLOTS=2', 'GLLM_CONTEXT_PER_SLOT=8192', 'GLLM_API_KEY_PARAMETER=/team/llm/key',
      'GLLM_HF_TOKEN_PARAMETER=/team/hf-token', `GLLM_BOOT_DEADLINE_SECONDS=${3600 - 120}`, 'GLLM_PROMPT_CACHE_MIB=2048',
    ]) {
      expect(userData).toContain(line);
    }
  });

  test('alarms notify the given topic; the e-mail subscribes to it; no topic or key of the endpoint\'s own', () => {
    expect(endpoint.alarmTopic).toBe(team);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.resourceCountIs('AWS::KMS::Key', 0);
    const teamId = stack.getLogicalId(team.node.defaultChild as any);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: teamId } });
    // A literal address subscribes unconditionally.
    expect(Object.values(t.findResources('AWS::SNS::Subscription'))[0].Condition).toBeUndefined();
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: teamId }]);
    }
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 3000, AlarmDescription: Match.stringLikeRegexp('first token') });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 2, AlarmDescription: Match.stringLikeRegexp('5xx') });
  });

  test('grantReadApiKey lets a principal read the key parameter and nothing else', () => {
    const policies = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(stack.getLogicalId(client.node.defaultChild as any)));
    expect(policies).toHaveLength(1);
    expect(policies[0].Properties.PolicyDocument.Statement).toEqual([{
      Action: 'ssm:GetParameter',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:aws:ssm:us-east-1:', { Ref: 'AWS::AccountId' }, ':parameter/team/llm/key']] },
    }]);
  });

  test('endpointName names the group, its agent configuration and the canary\'s dimension; the instances signal the deploy-time stack name', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { AutoScalingGroupName: 'team-llm-fleet' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/graviton-llm/team-llm/cloudwatch-agent' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/graviton-llm/team-llm/prometheus' });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ENDPOINT_NAME: 'team-llm' }) } });
    const parts = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0].Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1] as unknown[];
    expect(parts[parts.findIndex((p) => typeof p === 'string' && p.endsWith('\nGLLM_STACK_NAME=')) + 1]).toEqual({ Ref: 'AWS::StackName' });
    expect(JSON.stringify(t.toJSON())).not.toContain('Platform-fleet');
  });

  test('logs kept as long as asked; artifacts retained', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    const buckets = Object.values(t.findResources('AWS::S3::Bucket'));
    expect(buckets.every((b) => b.DeletionPolicy === 'Retain')).toBe(true);
  });
});

describe('two endpoints in one stack, each with its endpointName', () => {
  test('a second endpoint without a name of its own, or with the first one\'s, is refused naming endpointName (not a CloudFormation name clash at deploy)', () => {
    const stack = new Stack(constructTestApp(), 'Shared', { env: ENV });
    new GravitonLlmEndpoint(stack, 'Chat', minimal());
    expect(() => new GravitonLlmEndpoint(stack, 'Embed', minimal())).toThrow('GravitonLlmEndpoint Shared/Embed: invalid props:\n  - endpointName: nothing was given; '
      + 'required for a second endpoint in stack Shared: Shared/Chat already takes the stack\'s name, "Shared", the default');
    // The stack's name given explicitly is the same name.
    expect(() => new GravitonLlmEndpoint(stack, 'Other', { ...minimal(), endpointName: 'Shared' })).toThrow(/endpointName: got "Shared"; expected a name no other endpoint of stack Shared has: Shared\/Chat/);
    expect(() => new GravitonLlmEndpoint(stack, 'Named', { ...minimal(), endpointName: 'embed' })).not.toThrow();
  });

  test('their groups, agent parameters and API keys do not collide; without endpointName the stack\'s name is kept, as the signal\'s literal', () => {
    const app = constructTestApp();
    registerChecks(app);
    const stack = new Stack(app, 'Shared', { env: ENV });
    const chat = new GravitonLlmEndpoint(stack, 'Chat', { ...minimal(), endpointName: 'chat' });
    const embed = new GravitonLlmEndpoint(stack, 'Embed', { ...minimal(), endpointName: 'embed' });
    app.synth();
    const t = Template.fromStack(stack);
    const names = (type: string, prop: string) => Object.values(t.findResources(type)).map((r) => r.Properties[prop]).sort();
    expect(names('AWS::AutoScaling::AutoScalingGroup', 'AutoScalingGroupName')).toEqual(['chat-fleet', 'embed-fleet']);
    expect(names('AWS::SSM::Parameter', 'Name')).toEqual([
      '/graviton-llm/chat/cloudwatch-agent', '/graviton-llm/chat/prometheus', '/graviton-llm/embed/cloudwatch-agent', '/graviton-llm/embed/prometheus',
    ]);
    expect([chat.apiKeyParameter.parameterName, embed.apiKeyParameter.parameterName]).toEqual(['/graviton-llm/chat/api-key', '/graviton-llm/embed/api-key']);
    expect(names('AWS::CloudWatch::CompositeAlarm', 'AlarmName')).toEqual(['chat-EndpointDegraded', 'embed-EndpointDegraded']);

    const single = new Stack(constructTestApp(), 'Single', { env: ENV });
    new GravitonLlmEndpoint(single, 'Llm', minimal());
    const userData = JSON.stringify(Object.values(Template.fromStack(single).findResources('AWS::EC2::LaunchTemplate'))[0].Properties.LaunchTemplateData.UserData);
    expect(userData).toContain('GLLM_STACK_NAME=Single\\n');
    // Without endpointName, the composite alarm keeps the name CDK generates from its path (as before endpointName).
    expect(Object.values(Template.fromStack(single).findResources('AWS::CloudWatch::CompositeAlarm'))[0].Properties.AlarmName).toMatch(/^SingleLlmAlarmsEndpointDegraded[0-9A-F]{8}$/);
  });
});

describe('an internet-facing endpoint open to everyone', () => {
  test('passes the kit\'s checks: the load balancer\'s part acknowledges the open range it was asked for', () => {
    const app = constructTestApp();
    registerChecks(app);
    const stack = new Stack(app, 'Public', { env: ENV });
    new GravitonLlmEndpoint(stack, 'Llm', { ...minimal(), internetFacing: true, certificateArn: CERT, allowedCidrs: ['0.0.0.0/0'], canaryUrl: 'https://llm.example.com' });
    expect(() => app.synth()).not.toThrow();
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('load balancer'),
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443 })]),
    });
  });
});

describe('a deploy-time alarm e-mail (a CloudFormation parameter)', () => {
  test('subscribes only when the address is not empty', () => {
    const stack = new Stack(constructTestApp(), 'Stack', { env: ENV });
    const email = new CfnParameter(stack, 'AlarmEmail', { type: 'String', default: '' });
    const endpoint = new GravitonLlmEndpoint(stack, 'Llm', { ...minimal(), alarmEmail: email.valueAsString });
    const t = Template.fromStack(stack);
    const [subscription] = Object.values(t.findResources('AWS::SNS::Subscription'));
    expect(subscription.Properties).toMatchObject({ Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } });
    expect(subscription.Condition).toBe(stack.getLogicalId(endpoint.alarms.emailGiven!));
    expect(t.toJSON().Conditions[subscription.Condition]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmEmail' }, ''] }] });
  });
});

describe('an endpoint with the id Default keeps the ids of the stack it came from', () => {
  const build = (id: string) => {
    const stack = new Stack(constructTestApp(), 'Stack', { env: ENV });
    new GravitonLlmEndpoint(stack, id, minimal());
    return Template.fromStack(stack);
  };
  const nameTagOf = (t: Template) => Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0]
    .Properties.LaunchTemplateData.TagSpecifications[0].Tags.find((tag: any) => tag.Key === 'Name').Value;

  test('logical ids and the instances\' Name tag carry no Default (a changed tag would refresh every instance)', () => {
    const t = build('Default');
    expect(Object.keys(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0]).toMatch(/^FleetGroup/);
    expect(nameTagOf(t)).toBe('Stack/Fleet/LaunchTemplate');
  });

  test('any other id is in both, as CDK names them', () => {
    const t = build('Llm');
    expect(Object.keys(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0]).toMatch(/^LlmFleetGroup/);
    expect(nameTagOf(t)).toBe('Stack/Llm/Fleet/LaunchTemplate');
  });
});

describe('GravitonLlmEndpoint validates its props, saying what it got and what it expects', () => {
  test('minCapacity above maxCapacity', () => {
    const e = thrownBy({ minCapacity: 3, maxCapacity: 2 });
    expect(e).toBeInstanceOf(PropsError);
    expect(e!.message).toBe('GravitonLlmEndpoint Stack/Llm: invalid props:\n  - minCapacity: got 3; expected at most maxCapacity (2); raise maxCapacity or lower minCapacity');
  });

  test('every problem at once', () => {
    const e = thrownBy({ minCapacity: 5, warmPoolSize: 4, contextTokensPerSlot: 200000 }) as PropsError;
    // A value outside its own range is not judged further (200000 tokens per slot would not fit a c7g.xlarge either).
    expect(e.problems.map((p) => p.field)).toEqual(['minCapacity', 'warmPoolSize', 'contextTokensPerSlot']);
    expect(e.message).toContain('warmPoolSize: got 4; expected at most maxCapacity (3): a warm pool holds instances the fleet can grow into');
    expect(e.message).toContain('contextTokensPerSlot: got 200000; expected a whole number from 512 to 131072');
  });

  test('existingVpc and vpcProps together', () => {
    const e = thrownBy({ vpcProps: { cidr: '10.0.0.0/16' }, allowedCidrs: ['10.0.0.0/8'] }, (stack) => ({ existingVpc: new ec2.Vpc(stack, 'Vpc') }));
    expect(e!.message).toContain('vpcProps: got {"cidr":"10.0.0.0/16"}; give either existingVpc (deploy into your VPC) or vpcProps (shape the new VPC), not both');
  });

  test('existingVpc without allowedCidrs', () => {
    const e = thrownBy({}, (stack) => ({ existingVpc: new ec2.Vpc(stack, 'Vpc') }));
    expect(e!.message).toContain('allowedCidrs: nothing was given; required with existingVpc');
  });

  test('subnets without existingVpc, and a new VPC with more NAT gateways than AZs', () => {
    const e = thrownBy({ vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, vpcProps: { maxAzs: 2, natGateways: 3 } }) as PropsError;
    expect(e.problems.map((p) => p.field)).toEqual(['vpcSubnets', 'vpcProps.natGateways']);
    expect(e.message).toContain('vpcProps.natGateways: got 3; expected at most maxAzs (2)');
  });

  test('string props of the wrong shape, each named with what it must look like (the configuration\'s own words)', () => {
    const e = thrownBy({
      internetFacing: true,
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/not-a-uuid',
      canaryUrl: 'http://llm.example.com',
      alarmEmail: 'oncall',
      apiKeyParameterName: 'team/llm/key',
      huggingFaceTokenParameterName: '/hf token',
      allowedCidrs: ['0.0.0.0/0', '10.0.0.1/8', '10.0.0.0'],
    }) as PropsError;
    expect(e).toBeInstanceOf(PropsError);
    expect(e.problems.map((p) => p.field)).toEqual([
      'certificateArn', 'canaryUrl', 'alarmEmail', 'apiKeyParameterName', 'huggingFaceTokenParameterName', 'allowedCidrs[1]', 'allowedCidrs[2]',
    ]);
    expect(e.message).toContain('certificateArn: got "arn:aws:acm:us-east-1:123456789012:certificate/not-a-uuid"; expected an ACM certificate ARN like arn:aws:acm:us-east-1:123456789012:certificate/uuid');
    expect(e.message).toContain('canaryUrl: got "http://llm.example.com"; expected https://HOST, the name your certificate covers');
    expect(e.message).toContain('alarmEmail: got "oncall"; expected an e-mail address');
    expect(e.message).toContain('apiKeyParameterName: got "team/llm/key"; expected an SSM parameter name starting with /');
    expect(e.message).toContain('allowedCidrs[1]: got "10.0.0.1/8"; expected the network address of the range: 10.0.0.0/8');
    expect(e.message).toContain('allowedCidrs[2]: got "10.0.0.0"; expected an IPv4 CIDR block like 10.0.0.0/8');
  });

  test('a domain name with a scheme, and a new VPC range that is not a network\'s', () => {
    const e = thrownBy({ certificateArn: CERT, domainName: 'https://llm.internal.example', vpcProps: { cidr: '10.64.1.0/16' } }) as PropsError;
    expect(e.problems.map((p) => p.field)).toEqual(['vpcProps.cidr', 'domainName']);
    expect(e.message).toContain('vpcProps.cidr: got "10.64.1.0/16"; expected the network address of the range: 10.64.0.0/16');
    expect(e.message).toContain('domainName: got "https://llm.internal.example"; expected a DNS name like llm.internal.example');
  });

  test('string props that are CloudFormation values are the template\'s to check', () => {
    expect(thrownBy({}, (stack) => ({
      alarmEmail: new CfnParameter(stack, 'Email', { default: '' }).valueAsString,
      allowedCidrs: [new CfnParameter(stack, 'Range').valueAsString],
      apiKeyParameterName: new CfnParameter(stack, 'KeyName').valueAsString,
    }))).toBeUndefined();
  });

  test('a model that does not fit the instance type names sizes that do', () => {
    const e = thrownBy({ model: LlamaModel.LLAMA_3_1_8B_INSTRUCT_Q8_0, instanceType: GravitonInstanceType.of('c7g.large') });
    expect(e!.message).toMatch(/instanceType: got "c7g.large"; Llama 3.1 8B Instruct Q8_0 with 4 slots of 4096 tokens needs .* but c7g.large has 4 GiB.*Sizes that fit: /);
  });

  test('a root volume smaller than the model needs', () => {
    expect(thrownBy({ rootVolumeGiB: 10 })!.message).toContain('rootVolumeGiB: got 10; expected at least 22 GiB');
  });

  test('an unknown llama.cpp tag without its commit', () => {
    expect(thrownBy({ llamaCppRef: 'b9999' })!.message).toContain('llamaCppCommit: nothing was given; required with llamaCppRef b9999, a tag the kit does not know the commit of');
  });

  test('internet-facing without client ranges; canaryUrl on an internal endpoint', () => {
    expect(thrownBy({ internetFacing: true, certificateArn: CERT })!.message).toContain('allowedCidrs: nothing was given; required when internetFacing is true');
    expect(thrownBy({ canaryUrl: 'https://llm.example.com' })!.message).toContain('canaryUrl: got "https://llm.example.com"; applies only to an internet-facing endpoint');
  });

  test('everyone (/0) admitted to an internal load balancer: the endpoint\'s own message, not a security check\'s finding', () => {
    const e = thrownBy({ allowedCidrs: ['10.0.0.0/8', '0.0.0.0/0'] }) as PropsError;
    expect(e).toBeInstanceOf(PropsError);
    expect(e.message).toBe('GravitonLlmEndpoint Stack/Llm: invalid props:\n  - allowedCidrs: got "0.0.0.0/0"; expected the ranges your clients are in '
      + '(e.g. 10.0.0.0/8; in a new VPC, leave allowedCidrs unset for the VPC\'s own range): an internal load balancer with 0.0.0.0/0 would admit every address '
      + 'any connected network routes to it, which the kit\'s security checks refuse (cdk-nag AwsSolutions-EC23); only an internet-facing endpoint '
      + '(HTTPS with the API key) may admit everyone');
    // On the internet, everyone is allowed (HTTPS only, and every request needs the API key).
    expect(thrownBy({ internetFacing: true, certificateArn: CERT, allowedCidrs: ['0.0.0.0/0'] })).toBeUndefined();
  });

  test('every load balancer problem at once, with the endpoint\'s path: certificate, domain name, region, client ranges and canary', () => {
    const EU_CERT = CERT.replace('us-east-1', 'eu-west-1');
    const internal = thrownBy({ certificateArn: EU_CERT, allowedCidrs: ['0.0.0.0/0'], canaryUrl: 'https://llm.example.com' }) as PropsError;
    expect(internal.message).toMatch(/^GravitonLlmEndpoint Stack\/Llm: invalid props:\n/);
    expect(internal.problems.map((p) => p.field)).toEqual(['allowedCidrs', 'domainName', 'certificateArn', 'canaryUrl']);
    expect(internal.message).toContain('domainName: nothing was given; required with certificateArn on an internal endpoint');
    expect(internal.message).toContain(`certificateArn: got "${EU_CERT}"; expected a certificate in us-east-1, the region the stack deploys to, but this one is in eu-west-1`);
    expect(internal.message).toContain('canaryUrl: got "https://llm.example.com"; applies only to an internet-facing endpoint (internetFacing true)');

    const facing = thrownBy({ internetFacing: true, domainName: 'llm.example.com', minCapacity: 5 }) as PropsError;
    expect(facing.problems.map((p) => p.field)).toEqual(['allowedCidrs', 'certificateArn', 'domainName', 'minCapacity']);
    expect(facing.message).toContain('certificateArn: nothing was given; required when internetFacing is true: an internet-facing endpoint serves HTTPS only');
    expect(facing.message).toContain('domainName: got "llm.example.com"; applies only to an internal endpoint (internetFacing false)');
  });

  test('an existing VPC without client ranges is one problem, internet-facing or not', () => {
    const e = thrownBy({ internetFacing: true, certificateArn: CERT }, (stack) => ({ existingVpc: new ec2.Vpc(stack, 'Vpc') })) as PropsError;
    expect(e.problems).toEqual([expect.objectContaining({ field: 'allowedCidrs' })]);
    expect(e.message).toContain('allowedCidrs: nothing was given; required with existingVpc: the client ranges the load balancer admits');
  });

  test('CloudFormation values are left to the template: a certificate, a domain name, a region, client ranges', () => {
    const param = (stack: Stack, id: string) => new CfnParameter(stack, id).valueAsString;
    // Given as parameters, a certificate and a domain name count as given, and the certificate's region is for the deploy to find.
    expect(thrownBy({}, (stack) => ({ certificateArn: param(stack, 'Cert'), domainName: param(stack, 'Domain') }))).toBeUndefined();
    // A client range known only at deploy time, on an internal load balancer (the org template's AllowedCidr).
    expect(thrownBy({}, (stack) => ({ allowedCidrs: [param(stack, 'Cidr')] }))).toBeUndefined();
    // A stack whose region is chosen at deploy time.
    const stack = new Stack(constructTestApp(), 'AnyRegion');
    expect(() => new GravitonLlmEndpoint(stack, 'Llm', { ...minimal(), certificateArn: CERT.replace('us-east-1', 'eu-west-1'), domainName: 'llm.internal.example' }))
      .not.toThrow();
    // The same values at synth are judged.
    expect((thrownBy({ certificateArn: CERT.replace('us-east-1', 'eu-west-1'), domainName: 'llm.internal.example' }) as PropsError).problems)
      .toEqual([expect.objectContaining({ field: 'certificateArn' })]);
  });

  test('a prompt cache larger than the instance has left, or not a whole number of MiB', () => {
    const spare = promptCacheRoomMiB(servingMemory(minimal().model, 4, 4096)!, findGravitonInstance('c7g.xlarge')!);
    expect(spare).toBeGreaterThan(0);
    expect(thrownBy({ promptCacheMiB: spare })).toBeUndefined();
    expect(thrownBy({ promptCacheMiB: spare + 1 })!.message).toContain(
      `promptCacheMiB: got ${spare + 1}; expected at most ${spare} MiB: what c7g.xlarge has left once the model, the KV cache of 4 slots of 4096 tokens, the compute buffers and an allowance of 10% of those for the server's own memory are counted`);
    expect(thrownBy({ promptCacheMiB: -1 })!.message).toContain('promptCacheMiB: got -1; expected a whole number of MiB, 0 or more (0 turns the cache off)');
    expect(thrownBy({ promptCacheMiB: 0.5 })!.message).toContain('promptCacheMiB: got 0.5');
  });

  test('the prompt cache by default: what the instance has left; 0 when the type is chosen at deploy time', () => {
    const cacheOf = (props: Partial<GravitonLlmEndpointProps>, build?: (stack: Stack) => Partial<GravitonLlmEndpointProps>) => {
      const stack = new Stack(constructTestApp(), 'Stack', { env: ENV });
      new GravitonLlmEndpoint(stack, 'Llm', { ...minimal(), ...props, ...build?.(stack) });
      const userData = JSON.stringify(Template.fromStack(stack).toJSON());
      return /GLLM_PROMPT_CACHE_MIB=([^\\]+)\\n/.exec(userData)?.[1];
    };
    const need = servingMemory(minimal().model, 4, 4096)!;
    expect(cacheOf({})).toBe(String(promptCacheMiB(need, findGravitonInstance('c7g.xlarge')!)));
    expect(cacheOf({ instanceType: GravitonInstanceType.of('c7g.4xlarge') })).toBe(String(PROMPT_CACHE_MAX_MIB));
    const chosenLater = (stack: Stack) => ({
      instanceType: GravitonInstanceType.chosenAtDeployTime({ instanceType: new CfnParameter(stack, 'Type').valueAsString, generation: 3, cpuPart: '0xd40', armArch: 'armv8.4-a+sve+i8mm+bf16+dotprod+fp16' }),
    });
    expect(cacheOf({}, chosenLater)).toBe('0');
    // A CloudFormation value is the template's: it goes into the boot environment as given.
    expect(cacheOf({}, (stack) => ({ ...chosenLater(stack), promptCacheMiB: new CfnParameter(stack, 'Cache', { type: 'Number' }).valueAsNumber })))
      .toBe('",{"Ref":"Cache"},"');
  });

  test('numbers outside the configuration\'s ranges, a Duration in the unit the setting is named in', () => {
    const e = thrownBy({
      parallelSlots: 0,
      maxCapacity: 500,
      errorRateAlarmPercent: 0,
      vpcProps: { maxAzs: 7, natGateways: 1 },
      loadBalancerIdleTimeout: Duration.seconds(5000),
      canaryInterval: Duration.seconds(90),
      bootTimeout: Duration.minutes(5),
    }) as PropsError;
    expect(e.problems.map((p) => p.field)).toEqual([
      'maxCapacity', 'parallelSlots', 'errorRateAlarmPercent', 'vpcProps.maxAzs', 'loadBalancerIdleTimeout', 'bootTimeout', 'canaryInterval',
    ]);
    expect(e.message).toContain('parallelSlots: got 0; expected a whole number from 1 to 64');
    expect(e.message).toContain('maxCapacity: got 500; expected a whole number from 1 to 100');
    expect(e.message).toContain('errorRateAlarmPercent: got 0; expected a number from 0.1 to 100');
    expect(e.message).toContain('vpcProps.maxAzs: got 7; expected a whole number from 2 to 6');
    expect(e.message).toContain('loadBalancerIdleTimeout: got 5000; expected a whole number of seconds from 60 to 4000');
    expect(e.message).toContain('bootTimeout: got 5; expected a whole number of minutes from 10 to 120');
    expect(e.message).toContain('canaryInterval: got 1.5; expected a whole number of minutes from 1 to 60');
  });

  test('CloudFormation values are left to the template: a token capacity is not compared at synth', () => {
    expect(thrownBy({}, (stack) => ({ minCapacity: new CfnParameter(stack, 'Min', { type: 'Number' }).valueAsNumber, maxCapacity: 1 }))).toBeUndefined();
    expect(thrownBy({}, (stack) => ({ minCapacity: 5, maxCapacity: new CfnParameter(stack, 'Max', { type: 'Number' }).valueAsNumber }))).toBeUndefined();
  });
});

describe('LlamaModel', () => {
  test('a constant for every catalog model, equal to fromCatalog', () => {
    const constants = Object.entries(LlamaModel).filter(([, v]) => v instanceof LlamaModel) as [string, LlamaModel][];
    expect(constants.map(([, m]) => m.id).sort()).toEqual(CATALOG_MODELS.map((m) => m.id).sort());
    for (const [name, model] of constants) {
      expect(name).toBe(model.id.toUpperCase().replace(/[.-]/g, '_'));
      expect(model).toEqual(LlamaModel.fromCatalog(model.id));
    }
  });

  test('fromCatalog refuses an unknown id, listing the catalog', () => {
    expect(() => LlamaModel.fromCatalog('llama-9b')).toThrow(/^LlamaModel.fromCatalog: invalid props:\n {2}- id: got "llama-9b"; expected a catalog model id: llama-3.2-1b-instruct-q4_0, /);
  });

  test('custom: checks what synth can read and names each problem', () => {
    const base = { source: 'https://models.example.com/m.gguf', sha256: 'a'.repeat(64), sizeBytes: 3_000_000_000, architecture: 'llama-3.2-3b', quantization: 'Q4_0' };
    expect(() => LlamaModel.custom({ ...base, quantizeTo: 'Q8_0' }))
      .toThrow('quantizeTo: got "Q8_0"; on-instance quantization needs an F16 source; quantization is Q4_0. Remove quantizeTo, or give an F16 file');
    expect(() => LlamaModel.custom({ ...base, source: 'https://models.example.com:8443/m.gguf' })).toThrow(/source: got .*an https:\/\/ URL on the default port 443/);
    expect(() => LlamaModel.custom({ ...base, sha256: 'ABC', architecture: 'llama-4' }))
      .toThrow(/architecture: got "llama-4"; expected one of llama-3.2-1b, .*\n {2}- sha256: got "ABC"; expected 64 lowercase hexadecimal characters/);
    const model = LlamaModel.custom(base);
    expect(model.fileName).toBe(`custom-${'a'.repeat(16)}.gguf`);
    expect(model.displayName).toBe('custom model (Llama 3.2 3B Instruct architecture)');
  });

  test('custom with a CloudFormation hash needs a file name', () => {
    const stack = new Stack();
    const sha256 = new CfnParameter(stack, 'Sha').valueAsString;
    expect(() => LlamaModel.custom({ source: 's3://b/k.gguf', sha256, sizeBytes: 1e9, architecture: 'llama-3.2-1b', quantization: 'Q4_0' }))
      .toThrow('fileName: nothing was given; required when sha256 is a CloudFormation value');
  });
});

describe('GravitonInstanceType', () => {
  test('of: a catalog type with its generation\'s build flags', () => {
    const type = GravitonInstanceType.of('c8g.4xlarge');
    expect(type).toMatchObject({ instanceType: 'c8g.4xlarge', generation: 4 });
    expect(type.catalogEntry?.memoryGiB).toBe(32);
  });

  test('of: refuses a type that is not Graviton, or miswritten, saying why', () => {
    expect(() => GravitonInstanceType.of('m5.large')).toThrow(/^GravitonInstanceType.of: invalid props:\n {2}- instanceType: got "m5.large"; .*m5/);
    expect(() => GravitonInstanceType.of('C7G.2xlarge')).toThrow('GravitonInstanceType.of: invalid props:\n  - instanceType: got "C7G.2xlarge"; EC2 instance type names are written in lowercase: "c7g.2xlarge"');
    const stack = new Stack();
    expect(() => GravitonInstanceType.of(new CfnParameter(stack, 'Type').valueAsString)).toThrow(/chosenAtDeployTime/);
  });
});

describe('Spot and several instance types of one generation (issue 24)', () => {
  const synth = (props: Partial<GravitonLlmEndpointProps>) => {
    const app = constructTestApp();
    registerChecks(app);
    const stack = new Stack(app, 'Stack', { env: ENV });
    new GravitonLlmEndpoint(stack, 'Llm', { ...minimal(), ...props });
    app.synth();
    return Template.fromStack(stack);
  };
  const group = (t: Template) => Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0].Properties;
  const launchTemplateRef = (t: Template) => ({ Ref: Object.keys(t.findResources('AWS::EC2::LaunchTemplate'))[0] });
  const bootEnv = (t: Template, key: string) => new RegExp(`${key}=([^\\\\]+)\\\\n`).exec(JSON.stringify(t.toJSON()))?.[1];

  test('unset, or said as the defaults: the group names the launch template, as before; no policy, no Capacity Rebalance', () => {
    const before = synth({});
    expect(group(before).LaunchTemplate).toMatchObject({ LaunchTemplateId: launchTemplateRef(before) });
    expect(group(before)).not.toHaveProperty('MixedInstancesPolicy');
    expect(group(before)).not.toHaveProperty('CapacityRebalance');
    expect(bootEnv(before, 'GLLM_INSTANCE_TYPE')).toBe('c7g.xlarge');
    // The same template, byte for byte, when the new props say what their defaults are.
    const after = synth({ purchaseOption: PurchaseOption.ON_DEMAND, additionalInstanceTypes: [] });
    expect(JSON.stringify(after.toJSON())).toBe(JSON.stringify(before.toJSON()));
  });

  test('Spot over three types: a mixed instances policy over the launch template, the overrides in order, the base and percentage, price-capacity-optimized, Capacity Rebalance', () => {
    const t = synth({
      additionalInstanceTypes: [GravitonInstanceType.of('m7g.xlarge'), GravitonInstanceType.of('c7gd.xlarge')],
      purchaseOption: PurchaseOption.SPOT,
      onDemandBaseCapacity: 1,
      onDemandPercentageAboveBaseCapacity: 25,
    });
    const g = group(t);
    expect(g).not.toHaveProperty('LaunchTemplate');
    expect(g.CapacityRebalance).toBe(true);
    // The volume is encrypted (cdk-nag's EC26 cannot read a mixed instances group, so it is acknowledged there: this is the check).
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })] }) });
    expect(g.MixedInstancesPolicy).toEqual({
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: launchTemplateRef(t), Version: expect.anything() },
        Overrides: [{ InstanceType: 'c7g.xlarge' }, { InstanceType: 'm7g.xlarge' }, { InstanceType: 'c7gd.xlarge' }],
      },
      InstancesDistribution: {
        OnDemandAllocationStrategy: 'prioritized',
        OnDemandBaseCapacity: 1,
        OnDemandPercentageAboveBaseCapacity: 25,
        SpotAllocationStrategy: 'price-capacity-optimized',
      },
    });
    // Every type in the boot environment, the first choice first; one generation's build.
    expect(bootEnv(t, 'GLLM_INSTANCE_TYPE')).toBe('c7g.xlarge,m7g.xlarge,c7gd.xlarge');
    expect(bootEnv(t, 'GLLM_GENERATION')).toBe('3');
  });

  test('Spot by default: no on-demand base, all Spot above it; one type is enough', () => {
    const g = group(synth({ purchaseOption: PurchaseOption.SPOT }));
    expect(g.MixedInstancesPolicy.LaunchTemplate.Overrides).toEqual([{ InstanceType: 'c7g.xlarge' }]);
    expect(g.MixedInstancesPolicy.InstancesDistribution).toMatchObject({ OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'price-capacity-optimized' });
    expect(g.CapacityRebalance).toBe(true);
  });

  test('several types on demand: instanceType first (prioritized), every instance on demand, no Capacity Rebalance', () => {
    const g = group(synth({ additionalInstanceTypes: [GravitonInstanceType.of('r7g.large')] }));
    expect(g.MixedInstancesPolicy.LaunchTemplate.Overrides).toEqual([{ InstanceType: 'c7g.xlarge' }, { InstanceType: 'r7g.large' }]);
    expect(g.MixedInstancesPolicy.InstancesDistribution).toEqual({ OnDemandAllocationStrategy: 'prioritized', OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 100 });
    expect(g).not.toHaveProperty('CapacityRebalance');
  });

  test('the prompt cache is sized by the type with the least memory: every instance gets the same --cache-ram', () => {
    const need = servingMemory(minimal().model, 4, 4096)!;
    const t = synth({ instanceType: GravitonInstanceType.of('m7g.xlarge'), additionalInstanceTypes: [GravitonInstanceType.of('c7g.xlarge')] });
    expect(bootEnv(t, 'GLLM_PROMPT_CACHE_MIB')).toBe(String(promptCacheMiB(need, findGravitonInstance('c7g.xlarge')!)));
    expect(promptCacheMiB(need, findGravitonInstance('c7g.xlarge')!)).toBeLessThan(promptCacheMiB(need, findGravitonInstance('m7g.xlarge')!));
  });

  test('each additional type must pass the memory fit check: the message names the type that fails', () => {
    const e = thrownBy({
      model: LlamaModel.LLAMA_3_1_8B_INSTRUCT_Q8_0,
      instanceType: GravitonInstanceType.of('m7g.2xlarge'),
      additionalInstanceTypes: [GravitonInstanceType.of('r7g.xlarge'), GravitonInstanceType.of('c7g.large')],
    }) as PropsError;
    expect(e.problems.map((p) => p.field)).toEqual(['additionalInstanceTypes[1]']);
    expect(e.message).toMatch(/additionalInstanceTypes\[1\]: got "c7g.large"; Llama 3.1 8B Instruct Q8_0 with 4 slots of 4096 tokens needs .* but c7g.large has 4 GiB/);
  });

  test('instanceType again, a type twice, a deploy-time type: each refused, naming the entry; a type of another generation is accepted', () => {
    const e = thrownBy({
      additionalInstanceTypes: [GravitonInstanceType.of('c8g.xlarge'), GravitonInstanceType.of('c7g.xlarge'), GravitonInstanceType.of('m7g.xlarge'), GravitonInstanceType.of('m7g.xlarge')],
    }) as PropsError;
    expect(e.problems).toEqual([
      { field: 'additionalInstanceTypes[1]', given: 'c7g.xlarge', expected: expect.stringContaining('expected a type other than instanceType (c7g.xlarge)') },
      { field: 'additionalInstanceTypes[3]', given: 'm7g.xlarge', expected: 'expected each type once' },
    ]);
    // Several generations: one build (and one builder) each.
    expect(thrownBy({ additionalInstanceTypes: [GravitonInstanceType.of('c8g.xlarge'), GravitonInstanceType.of('c6g.xlarge')] })).toBeUndefined();
    const later = thrownBy({}, (stack) => ({
      additionalInstanceTypes: [GravitonInstanceType.chosenAtDeployTime({ instanceType: new CfnParameter(stack, 'Type').valueAsString, generation: 3, cpuPart: '0xd40', armArch: 'armv8.4-a+sve+i8mm+bf16+dotprod+fp16' })],
    })) as PropsError;
    expect(later.problems).toEqual([{ field: 'additionalInstanceTypes[0]', expected: expect.stringContaining('expected a type of the kit\'s Graviton catalog') }]);
    expect((thrownBy({ additionalInstanceTypes: ['m7g.xlarge'] as never }) as PropsError).problems)
      .toEqual([{ field: 'additionalInstanceTypes[0]', given: 'm7g.xlarge', expected: expect.stringContaining('expected a GravitonInstanceType') }]);
  });

  test('a warm pool with Spot or several types is refused: AWS has no warm pool for such a group; the message says what to choose', () => {
    const spot = thrownBy({ purchaseOption: PurchaseOption.SPOT, warmPoolSize: 1 }) as PropsError;
    expect(spot.problems).toEqual([{ field: 'warmPoolSize', given: 1, expected: expect.stringContaining('expected 0: purchaseOption is \'spot\', and AWS does not support a warm pool') }]);
    expect(spot.message).toContain('Choose a warm pool (one instance type, on demand: faster scale-out) or Spot and several types');
    const types = thrownBy({ additionalInstanceTypes: [GravitonInstanceType.of('m7g.xlarge')], warmPoolSize: 1 }) as PropsError;
    expect(types.problems).toEqual([{ field: 'warmPoolSize', given: 1, expected: expect.stringContaining('additionalInstanceTypes (m7g.xlarge) make the group a mixed instances group') }]);
    expect(thrownBy({ warmPoolSize: 1 })).toBeUndefined();
    // A pool larger than the fleet is named once, by that rule.
    expect((thrownBy({ purchaseOption: PurchaseOption.SPOT, warmPoolSize: 5 }) as PropsError).problems.map((p) => p.expected)).toEqual([expect.stringContaining('expected at most maxCapacity (3)')]);
  });

  const delay = (t: Template) => (Object.values(t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'))[0].Properties.TargetGroupAttributes as { Key: string; Value: string }[])
    .find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;

  test('the deregistration delay: the drain\'s budget on Spot when none is given, at most that when one is; on demand 600 as before', () => {
    expect(SPOT_DEREGISTRATION_DELAY_SECONDS).toBe(DRAIN_BUDGET_SECONDS);
    expect(delay(synth({ purchaseOption: PurchaseOption.SPOT }))).toBe(String(SPOT_DEREGISTRATION_DELAY_SECONDS));
    expect(delay(synth({ purchaseOption: PurchaseOption.SPOT, deregistrationDelay: Duration.seconds(30) }))).toBe('30');
    expect(thrownBy({ purchaseOption: PurchaseOption.SPOT, deregistrationDelay: Duration.seconds(SPOT_DEREGISTRATION_DELAY_SECONDS) })).toBeUndefined();
    // On demand: the kit's 600, the same template as a delay of 600 given, and any delay its range allows.
    const onDemand = synth({});
    expect(delay(onDemand)).toBe('600');
    expect(JSON.stringify(synth({ deregistrationDelay: Duration.seconds(600) }).toJSON())).toBe(JSON.stringify(onDemand.toJSON()));
    expect(thrownBy({ deregistrationDelay: Duration.seconds(900) })).toBeUndefined();
  });

  test('a delay above the drain\'s budget with Spot is refused: the field, the value, the limit and why', () => {
    const e = thrownBy({ purchaseOption: PurchaseOption.SPOT, deregistrationDelay: Duration.minutes(2) }) as PropsError;
    expect(e.problems).toEqual([{ field: 'deregistrationDelay', given: 120, expected: expect.stringContaining(`expected at most ${SPOT_DEREGISTRATION_DELAY_SECONDS} seconds with purchaseOption 'spot'`) }]);
    expect(e.message).toContain('two minutes after its interruption notice ("Spot Instance interruption notices", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html)');
    expect(e.message).toContain('("Deregistration delay", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay)');
    // Out of its range it is named once, by the range.
    expect((thrownBy({ purchaseOption: PurchaseOption.SPOT, deregistrationDelay: Duration.seconds(4000) }) as PropsError).problems)
      .toEqual([{ field: 'deregistrationDelay', given: 4000, expected: 'expected a whole number of seconds from 0 to 3600' }]);
    // A deploy-time delay is the template's.
    expect(thrownBy({ purchaseOption: PurchaseOption.SPOT }, (stack) => ({ deregistrationDelay: Duration.seconds(new CfnParameter(stack, 'Delay', { type: 'Number' }).valueAsNumber) }))).toBeUndefined();
  });

  type Widget = { type: string; y: number; properties: { title: string; query?: string; metrics?: unknown[][]; period?: number } };
  /** The dashboard's widgets, with each CloudFormation value written as its JSON (a Ref to the log group: {"Ref":"..."}). */
  const widgets = (t: Template): Widget[] => {
    const join = Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody['Fn::Join'][1] as unknown[];
    return JSON.parse(join.map((part) => (typeof part === 'string' ? part : JSON.stringify(part).replace(/"/g, '\'\''))).join('')).widgets;
  };

  test('a Spot group\'s dashboard lists its drains from the boot log group; an on-demand dashboard has no such widget', () => {
    const spot = synth({ purchaseOption: PurchaseOption.SPOT });
    const bootLogs = Object.keys(spot.findResources('AWS::Logs::LogGroup')).find((id) => id.includes('BootLogs'))!;
    const logWidgets = widgets(spot).filter((w) => w.type === 'log');
    expect(logWidgets).toHaveLength(1);
    expect(logWidgets[0].properties.query).toBe(`SOURCE '{''Ref'':''${bootLogs}''}' | ${drainLogQueryLines().join('\n| ')}`);
    expect(widgets(synth({})).filter((w) => w.type === 'log')).toEqual([]);
    // No alarm reads the boot log: the widget pages nothing.
    expect(JSON.stringify(spot.findResources('AWS::CloudWatch::Alarm'))).not.toContain(bootLogs);
  });

  test('a Spot group\'s dashboard graphs its drains by reason, Sum per 5 minutes, beside the table; no alarm reads the drain metric', () => {
    const spot = synth({ purchaseOption: PurchaseOption.SPOT });
    const drawn = widgets(spot).filter((w) => JSON.stringify(w.properties.metrics ?? []).includes(`"${DRAIN_METRICS.drains.name}"`));
    expect(drawn).toHaveLength(1);
    const [graph] = drawn;
    // One line per reason, each the Sum over 5 minutes of the fleet's drains of that reason.
    expect(graph.properties.metrics!.map((m) => [m[0], m[1], m[2], m[4], m[5], m[6]])).toEqual(DRAIN_REASONS.map((reason) => [
      METRIC_NAMESPACE, DRAIN_METRICS.drains.name, FLEET_DIMENSION, DRAIN_REASON_DIMENSION, reason, { label: reason, stat: 'Sum' },
    ]));
    // The metrics' common period is the widget's.
    expect(graph.properties.period).toBe(300);
    // Beside the table: the same row.
    const table = widgets(spot).find((w) => w.type === 'log')!;
    expect(table.y).toBe(graph.y);
    expect(widgets(synth({})).filter((w) => JSON.stringify(w.properties.metrics ?? []).includes(`"${DRAIN_METRICS.drains.name}"`))).toEqual([]);
    // No alarm on drains, so none pages on an interruption by itself: an interruption is the Spot
    // contract, not a failure, and a capacity it costs already fires HealthyHostsBelowMinimum (or the
    // 5xx and queueing alarms) when the other instances cannot absorb it.
    const alarms = Object.values(spot.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms.filter((a) => JSON.stringify(a).includes(`"${DRAIN_METRICS.drains.name}"`))).toEqual([]);
  });

  test('the on-demand base and percentage: Spot only, in range, the base within maxCapacity; an unknown purchase option', () => {
    expect((thrownBy({ onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 50 }) as PropsError).problems).toEqual([
      { field: 'onDemandBaseCapacity', given: 1, expected: expect.stringContaining('applies only with purchaseOption \'spot\'') },
      { field: 'onDemandPercentageAboveBaseCapacity', given: 50, expected: expect.stringContaining('applies only with purchaseOption \'spot\'') },
    ]);
    expect((thrownBy({ purchaseOption: PurchaseOption.SPOT, onDemandBaseCapacity: 4, onDemandPercentageAboveBaseCapacity: 101 }) as PropsError).problems).toEqual([
      { field: 'onDemandPercentageAboveBaseCapacity', given: 101, expected: 'expected a whole number from 0 to 100' },
      { field: 'onDemandBaseCapacity', given: 4, expected: 'expected at most maxCapacity (3): the base is the group\'s first instances' },
    ]);
    expect((thrownBy({ purchaseOption: 'spot-only' as PurchaseOption }) as PropsError).problems)
      .toEqual([{ field: 'purchaseOption', given: 'spot-only', expected: 'expected \'on-demand\' or \'spot\' (PurchaseOption.ON_DEMAND or PurchaseOption.SPOT)' }]);
  });
});
