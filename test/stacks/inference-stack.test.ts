import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AL2023_ARM64_AMI_PARAMETER } from '../../lib/catalogs/amazon-linux';
import { ConfigError } from '../../lib/config/config-error';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { findCatalogModel, modelDownloadUrl } from '../../lib/catalogs/model-catalog';
import { findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { ARCHITECTURES } from '../../lib/catalogs/model-architectures';
import { PROMPT_CACHE_MAX_MIB, memoryNeed, promptCacheMiB } from '../../lib/sizing/memory-fit';
import { UNPINNED_IMAGE_NOTE } from '../../lib/constructs/fleet-image';
import { Synthesized, synthWith } from '../support/synth';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

function userDataOf(template: Template): string {
  const lt = Object.values(template.findResources('AWS::EC2::LaunchTemplate'))[0];
  return JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
}

function launchTemplateImage(template: Template): unknown {
  return Object.values(template.findResources('AWS::EC2::LaunchTemplate'))[0].Properties.LaunchTemplateData.ImageId;
}

function policyStatements(template: Template, roleLogicalIdPrefix: string): any[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

/** Every outbound rule of every security group, inline or separate, as [group logical id, rule]. */
function egressRules(template: Template): [string, any][] {
  const inline = Object.entries(template.findResources('AWS::EC2::SecurityGroup'))
    .flatMap(([id, g]) => (g.Properties.SecurityGroupEgress ?? []).map((r: any): [string, any] => [id, r]));
  const separate = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'))
    .map((r): [string, any] => [r.Properties.GroupId['Fn::GetAtt'][0], r.Properties]);
  return [...inline, ...separate];
}

/** The logical id of the one security group whose id starts with this prefix. */
function groupId(template: Template, prefix: string): string {
  const ids = Object.keys(template.findResources('AWS::EC2::SecurityGroup')).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** The outbound rules of one group, reduced to what a rule allows: protocol, ports and destination. */
function egressOf(template: Template, prefix: string): Record<string, unknown>[] {
  const id = groupId(template, prefix);
  return egressRules(template).filter(([g]) => g === id).map(([, r]) => ({
    IpProtocol: r.IpProtocol,
    FromPort: r.FromPort,
    ToPort: r.ToPort,
    ...(r.CidrIp ? { CidrIp: r.CidrIp } : {}),
    ...(r.DestinationSecurityGroupId ? { DestinationSecurityGroupId: r.DestinationSecurityGroupId } : {}),
  }));
}

const HTTPS_ANYWHERE = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' };

describe('default configuration', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthWith();
  });

  test('a new VPC: private subnets in two AZs, one NAT, endpoints for S3, SSM and CloudWatch, flow logs', () => {
    const t = s.template;
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.64.0.0/16' });
    const privateSubnets = Object.values(t.findResources('AWS::EC2::Subnet')).filter((r) => r.Properties.MapPublicIpOnLaunch === false);
    expect(privateSubnets).toHaveLength(2);
    expect(new Set(privateSubnets.map((r) => JSON.stringify(r.Properties.AvailabilityZone))).size).toBe(2);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
    const interfaceServices = Object.values(t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }))
      .map((r) => JSON.stringify(r.Properties.ServiceName));
    for (const svc of ['.ssm', '.ssmmessages', '.ec2messages', '.logs', '.monitoring']) {
      expect(interfaceServices.some((n) => n.includes(svc))).toBe(true);
    }
    t.resourceCountIs('AWS::EC2::FlowLog', 1);
  });

  test('artifact bucket: encrypted, TLS only, no public access, access-logged', () => {
    const t = s.template;
    const buckets = t.findResources('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.anyValue() } });
    expect(Object.keys(buckets)).toHaveLength(1);
    const [id, bucket] = Object.entries(buckets)[0];
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('launch template: AL2023 arm64, IMDSv2, encrypted gp3, no SSH key; without an account the AMI is read at deploy, and synth says so', () => {
    const t = s.template;
    // No account (no credentials, none configured): nothing to record a lookup under.
    const params = t.toJSON().Parameters as Record<string, { Type: string; Default: string }>;
    const [amiParameter] = Object.entries(params).find(([, p]) => p.Type === 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>')!;
    expect(params[amiParameter].Default).toBe(AL2023_ARM64_AMI_PARAMETER);
    expect(launchTemplateImage(t)).toEqual({ Ref: amiParameter });
    Annotations.fromStack(s.stack).hasInfo('/GravitonLlm/Default/Fleet', Match.stringLikeRegexp(`^\\[${UNPINNED_IMAGE_NOTE}\\] The AMI is not pinned.*set amiId`));
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'c7g.2xlarge',
        MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
        BlockDeviceMappings: [{
          DeviceName: '/dev/xvda',
          Ebs: { VolumeType: 'gp3', Encrypted: true, VolumeSize: 24, Iops: 3000, Throughput: 250, DeleteOnTermination: true },
        }],
        IamInstanceProfile: Match.anyValue(),
      }),
    });
    const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0];
    expect(lt.Properties.LaunchTemplateData.KeyName).toBeUndefined();
  });

  test('user data only writes the boot environment and runs the boot program through the trampoline', () => {
    const ud = userDataOf(s.template);
    const m = findCatalogModel('llama-3.2-3b-instruct-q4_k_m')!;
    expect(ud).toContain('GLLM_MODE=aws');
    expect(ud).toContain(`GLLM_ARM_ARCH=${GENERATIONS[3].armArch}`);
    expect(ud).toContain(`GLLM_CPU_PART=${GENERATIONS[3].cpuPart}`);
    expect(ud).toContain(`GLLM_MODEL_SOURCE=${modelDownloadUrl(m)}`);
    expect(ud).toContain(`GLLM_MODEL_SHA256=${m.sha256}`);
    expect(ud).toContain('GLLM_API_KEY_PARAMETER=/graviton-llm/GravitonLlm/api-key');
    // The trampoline's download of the bundle and its retries run for real in the instance box (test/integration/instance-box.test.ts).
    expect(ud).toContain('exec /var/lib/cloud/scripts/per-boot/graviton-llm.sh');
    expect(ud).toContain('BUNDLE=/opt/graviton-llm/boot.js');
    // EC2 rejects user data over 16 KB.
    expect(Buffer.byteLength(ud)).toBeLessThan(16 * 1024);
  });

  test('instance role: reads its cache prefix, own API key, own logs, own target group\'s deregistration, Session Manager; nothing else', () => {
    const t = s.template;
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
      ManagedPolicyArns: [Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':iam::aws:policy/AmazonSSMManagedInstanceCore'])]) })],
    });
    const statements = policyStatements(t, 'FleetRole');
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions.sort()).toEqual([
      'autoscaling:CompleteLifecycleAction',
      'cloudformation:SignalResource',
      'cloudwatch:PutMetricData',
      'elasticloadbalancing:DeregisterTargets',
      'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents',
      's3:GetObject', 's3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions',
      'ssm:GetParameter',
    ].sort());
    // The cache: read only (any version, to read a pinned one); the builder is its only writer (test/constructs/fleet-builder.test.ts).
    const cache = statements.find((st) => [st.Action].flat().includes('s3:GetObjectVersion'));
    expect(JSON.stringify(cache.Resource)).toContain('/cache/*');
    expect([cache.Action].flat().sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(actions.filter((a) => /^s3:Delete|^s3:PutBucket|^s3:PutLifecycle/.test(a))).toEqual([]);
    const list = statements.find((st) => [st.Action].flat().includes('s3:ListBucket'));
    expect([list.Action].flat().sort()).toEqual(['s3:ListBucket', 's3:ListBucketVersions']);
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['cache/*'] } });
    const ssm = statements.find((st) => st.Action === 'ssm:GetParameter');
    expect(JSON.stringify(ssm.Resource)).toContain(':parameter/graviton-llm/GravitonLlm/api-key');
    // The one unscoped action (it has no resource-level permissions) is held to the kit's namespace.
    const unscoped = statements.filter((st) => st.Resource === '*');
    expect(unscoped).toEqual([expect.objectContaining({
      Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'cloudwatch:namespace': 'GravitonLlm' } },
    })]);
    // The drain: out of the fleet's own target group, by a Ref to it, and no other.
    const drain = statements.find((st) => st.Action === 'elasticloadbalancing:DeregisterTargets');
    expect(drain.Resource).toEqual({ Ref: expect.stringMatching(/Targets/) });
    const hook = statements.find((st) => st.Action === 'autoscaling:CompleteLifecycleAction');
    expect(JSON.stringify(hook.Resource)).toContain(':autoScalingGroup:*:autoScalingGroupName/GravitonLlm-fleet');
    // The boot program's bucket (CDK's bootstrap bucket) has a predictable name: only the stack's own account's will do.
    const script = statements.find((st) => st.Action === 's3:GetObject' && JSON.stringify(st.Resource).includes('cdk-hnb659fds-assets'));
    expect(script.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  test('Auto Scaling group: private subnets, ELB health checks with a grace period, creation waits for boot signals', () => {
    const t = s.template;
    t.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      Properties: Match.objectLike({
        MinSize: '1',
        MaxSize: '3',
        HealthCheckType: 'ELB',
        // The launch hook covers the boot; the grace covers only the target group's first checks.
        HealthCheckGracePeriod: 120,
        TargetGroupARNs: [Match.anyValue()],
      }),
      CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT40M' } },
    });
    const asg = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    const subnets = JSON.stringify(asg.Properties.VPCZoneIdentifier);
    expect(subnets).toContain('privateSubnet1');
    expect(subnets).not.toContain('public');
  });

  test('instances launch only once the API key exists and the private subnets route to the NAT gateway', () => {
    const t = s.template;
    const asg = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    const apiKey = Object.keys(t.findResources('Custom::GravitonLlmApiKey'));
    expect(apiKey).toHaveLength(1);
    const natRoutes = Object.entries(t.findResources('AWS::EC2::Route'))
      .filter(([, r]) => r.Properties.NatGatewayId).map(([id]) => id);
    expect(natRoutes).toHaveLength(2);
    expect(asg.DependsOn).toEqual(expect.arrayContaining([...apiKey, ...natRoutes]));
    const canary = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('CanaryFunction'))!;
    expect(canary[1].DependsOn).toEqual(expect.arrayContaining([...apiKey, ...natRoutes]));
  });

  test('the boot\'s own deadline ends two minutes before the launch hook times out, so it reports its failure itself', () => {
    const userData = userDataOf(s.template);
    // bootTimeoutMinutes 40: the hook waits 2400 s, the boot stops at 2280 s.
    expect(userData).toContain('GLLM_BOOT_DEADLINE_SECONDS=2280');
    expect(userData).toContain('GLLM_HEALTH_TIMEOUT_SECONDS=2280');
  });

  test('updates roll out as an instance refresh: new instances first, ready only when booted, rolled back on the boot, error and latency alarms', () => {
    const t = s.template;
    const [, asg] = Object.entries(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate).toBeUndefined();
    expect(asg.UpdatePolicy.AutoScalingInstanceRefresh).toEqual({
      Strategy: 'Rolling',
      Preferences: {
        MinHealthyPercentage: 100,
        MaxHealthyPercentage: 110,
        InstanceWarmup: 60,
        BakeTime: 900,
        AlarmSpecification: { Alarms: expect.any(Array) },
      },
    });
    const watched = asg.UpdatePolicy.AutoScalingInstanceRefresh.Preferences.AlarmSpecification.Alarms.map((a: { Ref: string }) => a.Ref);
    const alarmIds = Object.keys(t.findResources('AWS::CloudWatch::Alarm'));
    const idOf = (name: string) => alarmIds.find((id) => id.startsWith(`Alarms${name}`));
    expect(watched).toEqual(['BootFailing', 'LoadBalancer5xxRate', 'Target5xxRate', 'TimeToFirstTokenP90', 'TimePerOutputTokenP90', 'CanaryFailing'].map(idOf));
    // Capacity alarms would fire on the refresh's own churn.
    expect(watched).not.toContain(idOf('HealthyHostsBelowMinimum'));
    // Readiness during a refresh is the launch hook that the boot completes, in the group's own list,
    // present with or without a warm pool (test/stacks/launch-paths.test.ts checks every launch path).
    expect(asg.Properties.LifecycleHookSpecificationList).toEqual([{
      LifecycleHookName: 'graviton-llm-launch',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      HeartbeatTimeout: 2400,
      DefaultResult: 'ABANDON',
    }]);
    t.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
    t.resourceCountIs('AWS::AutoScaling::WarmPool', 0);
    // The boot reports a failure itself, under the metric the BootFailing alarm watches.
    const userData = JSON.stringify(t.findResources('AWS::EC2::LaunchTemplate'));
    expect(userData).toContain('GLLM_BOOT_FAILURE_METRIC=BootFailure');
    expect(userData).toContain('GLLM_METRIC_NAMESPACE=GravitonLlm');
    expect(userData).toContain('GLLM_LIFECYCLE_HOOK=graviton-llm-launch,graviton-llm-boot');
  });

  test('internal load balancer, long idle timeout, /health target checks, streams drain on deregistration', () => {
    const t = s.template;
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'idle_timeout.timeout_seconds', Value: '600' },
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
      ]),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      Protocol: 'HTTP',
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200' },
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: '600' },
        { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' },
      ]),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
  });

  test('instances accept traffic only from the load balancer, on the llama-server port', () => {
    const t = s.template;
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((r) => JSON.stringify(r.Properties.GroupId).includes('FleetSecurityGroup'));
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080 });
    expect(JSON.stringify(ingress[0].Properties.SourceSecurityGroupId)).toContain('EndpointSecurityGroup');
    expect(JSON.stringify(ingress[0].Properties.GroupId)).toContain('FleetSecurityGroup');
    // The load balancer admits the VPC's range only.
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('load balancer'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.64.0.0/16', FromPort: 80, ToPort: 80 })],
    });
  });

  test('security groups let out only what each part uses: HTTPS, and the canary to the listener', () => {
    const t = s.template;
    // No group anywhere allows every protocol out, and none is left without a rule
    // (EC2 gives a group created without one its allow-all default).
    for (const [id, rule] of egressRules(t)) {
      expect([id, rule.IpProtocol]).not.toEqual([id, '-1']);
    }
    const withRules = new Set(egressRules(t).map(([id]) => id));
    expect(Object.keys(t.findResources('AWS::EC2::SecurityGroup')).filter((id) => !withRules.has(id))).toEqual([]);
    // The instances: HTTPS only (AWS APIs, GitHub, Hugging Face, the package repositories in S3).
    expect(egressOf(t, 'FleetSecurityGroup')).toEqual([HTTPS_ANYWHERE]);
    // The canary: HTTPS (SSM) and the load balancer's listener port, to the load balancer only.
    const loadBalancer = groupId(t, 'EndpointSecurityGroup');
    expect(egressOf(t, 'CanarySecurityGroup')).toEqual(expect.arrayContaining([
      HTTPS_ANYWHERE,
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, DestinationSecurityGroupId: { 'Fn::GetAtt': [loadBalancer, 'GroupId'] } },
    ]));
    expect(egressOf(t, 'CanarySecurityGroup')).toHaveLength(2);
    // The load balancer reaches the instances on the llama-server port only.
    expect(egressOf(t, 'EndpointSecurityGroup')).toEqual([
      { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, DestinationSecurityGroupId: { 'Fn::GetAtt': [groupId(t, 'FleetSecurityGroup'), 'GroupId'] } },
    ]);
    // The VPC endpoints admit HTTPS from the VPC, which holds the instances and the canary.
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('VPC endpoints'),
      SecurityGroupIngress: [Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '10.64.0.0/16' })],
    });
  });

  test('artifact bucket: versioned; replaced models expire after 30 days, every version of a build is kept', () => {
    const t = s.template;
    const buckets = Object.values(t.findResources('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.anyValue() } }));
    expect(buckets).toHaveLength(1);
    expect(buckets[0].Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const rules = buckets[0].Properties.LifecycleConfiguration.Rules as any[];
    expect(rules).toEqual([
      { Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
      { Status: 'Enabled', Prefix: 'cache/models/', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true },
    ]);
    // A boot runs a build's oldest version that passes its checks: no rule may expire one under cache/builds/.
    const expiresBuilds = rules.filter((r) => r.NoncurrentVersionExpiration && 'cache/builds/x.tar.gz'.startsWith(r.Prefix ?? r.Filter?.Prefix ?? ''));
    expect(expiresBuilds).toEqual([]);
  });

  test('the API key is created by a custom resource and appears nowhere in the template', () => {
    const t = s.template;
    t.hasResourceProperties('Custom::GravitonLlmApiKey', { ParameterName: '/graviton-llm/GravitonLlm/api-key' });
    t.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    const text = JSON.stringify(t.toJSON());
    expect(text).not.toMatch(/gllm-[A-Za-z0-9_-]{20,}/);
    // The only parameters in the template are the agent's configuration, in plain String parameters.
    const parameters = Object.values(t.findResources('AWS::SSM::Parameter'));
    expect(parameters.map((p) => p.Properties.Type)).toEqual(['String', 'String']);
    expect(parameters.map((p) => p.Properties.Name)).not.toContain('/graviton-llm/GravitonLlm/api-key');
    // No output reads anything from the custom resource (which returns only the name).
    expect(JSON.stringify(t.toJSON().Outputs)).not.toContain('ApiKeyResource');
  });

  test('outputs: endpoint URL, API key parameter name, log group names', () => {
    const t = s.template;
    t.hasOutput('EndpointUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['http://', '/v1'])] } });
    t.hasOutput('ApiKeyParameterName', { Value: '/graviton-llm/GravitonLlm/api-key' });
    t.hasOutput('BootLogGroupName', { Value: Match.anyValue() });
    t.hasOutput('ServerLogGroupName', { Value: Match.anyValue() });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('a plain HTTP internal endpoint gives the canary no TLS server name', () => {
    const t = s.template;
    const canary = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('CanaryFunction'))![1];
    expect(canary.Properties.Environment.Variables.ENDPOINT_TLS_SERVER_NAME).toBeUndefined();
    expect(JSON.stringify(canary.Properties.Environment.Variables.ENDPOINT_URL)).toContain('http://');
  });

  test('cdk-nag and CloudFormation Validate: nothing unacknowledged, every acknowledgement has a reason', () => {
    const reportPath = path.join(s.outdir, 'validation-report.json');
    // synthWith() threw if any plugin failed; the report lists what was acknowledged.
    const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
    for (const plugin of report.pluginReports) {
      expect(plugin.violations).toEqual([]);
      expect(plugin.conclusion).toBe('success');
    }
    const acknowledged = report.pluginReports.flatMap((p: any) => p.suppressedViolations ?? []);
    expect(acknowledged.length).toBeGreaterThan(0);
    const metadata = JSON.stringify(s.app.node.findAll().map((c) => c.node.metadata));
    for (const v of acknowledged) {
      expect(metadata).toContain(v.acknowledgedId.replace(/^AwsSolutions::/, ''));
    }
  });
});

describe('the AMI is pinned in the configuration, not read at each deploy', () => {
  const RECORDED = 'ami-0aaaaaaaaaaaaaaa1';
  const PINNED = 'ami-0bbbbbbbbbbbbbbb2';
  const ACCOUNT = '123456789012';
  // The key CDK's SSM parameter lookup records its answer under in cdk.context.json.
  const LOOKUP_KEY = `ssm:account=${ACCOUNT}:parameterName=${AL2023_ARM64_AMI_PARAMETER}:region=us-east-1`;
  const noImageParameter = (t: Template) => expect(JSON.stringify(t.toJSON().Parameters ?? {})).not.toContain('AWS::EC2::Image::Id');

  test('amiId: the launch template names it, and no parameter is read at deploy; the boot program is read from the stack account\'s bucket only', () => {
    const { stack, template } = synthWith({ account: ACCOUNT, region: 'us-east-1', amiId: PINNED }, { bundle: false });
    expect(launchTemplateImage(template)).toBe(PINNED);
    noImageParameter(template);
    Annotations.fromStack(stack).hasNoInfo('*', Match.stringLikeRegexp('not pinned'));
    const script = policyStatements(template, 'FleetRole').find((st) => st.Action === 's3:GetObject' && JSON.stringify(st.Resource).includes('cdk-hnb659fds-assets'));
    expect(script.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': ACCOUNT } });
  });

  test('with an account and no amiId, the value cdk.context.json records is the AMI; amiId wins over it', () => {
    const recorded = synthWith({ account: ACCOUNT, region: 'us-east-1', [LOOKUP_KEY]: RECORDED }, { bundle: false });
    expect(launchTemplateImage(recorded.template)).toBe(RECORDED);
    noImageParameter(recorded.template);
    expect(recorded.app.synth().manifest.missing ?? []).toEqual([]);
    const pinned = synthWith({ account: ACCOUNT, region: 'us-east-1', [LOOKUP_KEY]: RECORDED, amiId: PINNED }, { bundle: false });
    expect(launchTemplateImage(pinned.template)).toBe(PINNED);
  });

  test('the first synth with an account asks the CLI for the lookup (and passes the template checks on its placeholder)', () => {
    // synthWith runs cdk-nag and CloudFormation Validate, which fail synth on an unacknowledged finding.
    const first = synthWith({ account: ACCOUNT, region: 'us-east-1' }, { bundle: false });
    const missing = first.app.synth().manifest.missing ?? [];
    expect(missing.map((m) => m.key)).toEqual([LOOKUP_KEY]);
    expect(missing[0].provider).toBe('ssm');
  });

  test('the same pin synthesizes the same template; another AMI changes the launch template\'s and the builder\'s image, and the builder\'s ids, and nothing else', () => {
    const context = { account: ACCOUNT, region: 'us-east-1' };
    const a = JSON.stringify(synthWith({ ...context, amiId: PINNED }, { bundle: false }).template.toJSON());
    // A newer AMI recorded for the account changes nothing while amiId pins the fleet.
    const again = JSON.stringify(synthWith({ ...context, amiId: PINNED, [LOOKUP_KEY]: 'ami-0ccccccccccccccc3' }, { bundle: false }).template.toJSON());
    expect(again).toBe(a);
    const moved = JSON.stringify(synthWith({ ...context, amiId: RECORDED }, { bundle: false }).template.toJSON());
    expect(moved).not.toBe(a);
    // The launch template's and the builder's; the builder's inputs changed, so its three ids carry another hash (a new builder).
    expect(moved.split(RECORDED)).toHaveLength(3);
    const hashOf = (text: string) => /FleetBuilderDone([0-9a-f]{8})/.exec(text)![1];
    expect(hashOf(moved)).not.toBe(hashOf(a));
    // The ids' CDK suffix follows the construct path, and so the hash too: compare with the three ids set aside.
    const ids = (text: string) => text.replace(/FleetBuilder(Handle|Done|Instance)[0-9a-f]{8}[0-9A-F]{8}/g, 'FleetBuilder$1')
      .replace(/(Builder\/Instance)[0-9a-f]{8}/g, '$1');
    expect(ids(moved.split(RECORDED).join(PINNED))).toBe(ids(a));
  });
});

describe('variants', () => {
  test('internet-facing: HTTPS with the certificate, HTTP redirected, only the given client ranges', () => {
    const { template: t } = synthWith({ internetFacing: 'true', certificateArn: CERT, allowedCidrs: '203.0.113.0/24' }, { bundle: false });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: CERT }], SslPolicy: Match.stringLikeRegexp('TLS13'),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80, Protocol: 'HTTP', DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Port: '443', Protocol: 'HTTPS' }) })],
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('load balancer'),
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '203.0.113.0/24', FromPort: 443 })]),
    });
    t.hasOutput('EndpointUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://'])] } });
  });

  describe('internal HTTPS: certificateArn and domainName on an internal endpoint', () => {
    const DOMAIN = 'llm.internal.example';
    let t: Template;
    beforeAll(() => {
      t = synthWith({ certificateArn: CERT, domainName: DOMAIN }, { bundle: false }).template;
    });

    test('one listener: HTTPS on 443 with the certificate and the TLS 1.3 policy, forwarding to the fleet; nothing on 80', () => {
      t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
      const listeners = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::Listener')).map((l) => l.Properties);
      expect(listeners).toEqual([expect.objectContaining({
        Port: 443,
        Protocol: 'HTTPS',
        Certificates: [{ CertificateArn: CERT }],
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        DefaultActions: [expect.objectContaining({ Type: 'forward' })],
      })]);
    });

    test('the load balancer admits clients and the canary on 443 only', () => {
      const sg = Object.values(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('load balancer') } }))[0];
      expect(sg.Properties.SecurityGroupIngress).toEqual([expect.objectContaining({ CidrIp: '10.64.0.0/16', FromPort: 443, ToPort: 443 })]);
      const fromCanary = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
        .filter((r) => JSON.stringify(r.Properties.SourceSecurityGroupId).includes('CanarySecurityGroup'));
      expect(fromCanary.map((r) => [r.Properties.FromPort, r.Properties.ToPort])).toEqual([[443, 443]]);
    });

    test('EndpointUrl is https:// and the domain; the canary calls the load balancer\'s own name over HTTPS, verifying the domain', () => {
      t.hasOutput('EndpointUrl', { Value: `https://${DOMAIN}/v1` });
      const canary = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('CanaryFunction'))![1];
      const env = canary.Properties.Environment.Variables;
      expect(env.ENDPOINT_TLS_SERVER_NAME).toBe(DOMAIN);
      expect(env.ENDPOINT_URL).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^EndpointLoadBalancer/), 'DNSName'] }, '/v1']] });
    });
  });

  describe('a certificate outside the stack\'s region is refused before synth, saying where the region came from', () => {
    const EU_CERT = CERT.replace('us-east-1', 'eu-west-1');
    const saved = process.env.CDK_DEFAULT_REGION;
    afterEach(() => {
      if (saved === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = saved;
    });
    const errorOf = (context: Record<string, unknown>) => {
      try {
        synthWith(context, { bundle: false });
      } catch (e) {
        return e as Error;
      }
      throw new Error('synth accepted the certificate');
    };

    test('the default region', () => {
      delete process.env.CDK_DEFAULT_REGION;
      const e = errorOf({ certificateArn: EU_CERT, domainName: 'llm.internal.example' });
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain(`certificateArn: got "${EU_CERT}"; expected a certificate in us-east-1, the region the stack deploys to `
        + '(the default, as neither the configuration nor the AWS CLI names a region), but this one is in eu-west-1');
    });

    test('the AWS CLI\'s region', () => {
      process.env.CDK_DEFAULT_REGION = 'ap-southeast-2';
      const e = errorOf({ certificateArn: CERT, domainName: 'llm.internal.example' });
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain('expected a certificate in ap-southeast-2, the region the stack deploys to (the AWS CLI\'s current region, CDK_DEFAULT_REGION');
    });
  });

  test('Graviton4 instance builds with SVE2 flags and a Graviton2 one with dotprod', () => {
    const g4 = userDataOf(synthWith({ instanceType: 'c8g.2xlarge' }, { bundle: false }).template);
    expect(g4).toContain(`GLLM_ARM_ARCH=${GENERATIONS[4].armArch}`);
    expect(g4).toContain('GLLM_CPU_PART=0xd4f');
    const g2 = userDataOf(synthWith({ instanceType: 'm6g.xlarge', model: 'llama-3.2-1b-instruct-q4_0' }, { bundle: false }).template);
    expect(g2).toContain(`GLLM_ARM_ARCH=${GENERATIONS[2].armArch}`);
    expect(g2).toContain('GLLM_GENERATION=2');
  });

  test('an existing VPC by id and subnet ids: nothing looked up, no VPC created', () => {
    const { template: t } = synthWith({
      vpcId: 'vpc-0123456789abcdef0',
      privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2',
      allowedCidrs: '10.20.0.0/16',
    }, { bundle: false });
    t.resourceCountIs('AWS::EC2::VPC', 0);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { VPCZoneIdentifier: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'] });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', Subnets: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'] });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { VpcId: 'vpc-0123456789abcdef0' });
    // The kit adds no endpoints to a VPC it does not own: its subnets must route to the internet (README).
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    expect(egressOf(t, 'FleetSecurityGroup')).toEqual([HTTPS_ANYWHERE]);
  });

  test('an internal endpoint with a certificate: the canary reaches the load balancer on 443, not 80', () => {
    const { template: t } = synthWith({ certificateArn: CERT, domainName: 'llm.internal.example' }, { bundle: false });
    const canary = groupId(t, 'CanarySecurityGroup');
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((r) => JSON.stringify(r.Properties.SourceSecurityGroupId ?? '').includes(canary))
      .map((r) => [r.Properties.FromPort, r.Properties.ToPort]);
    expect(ingress).toEqual([[443, 443]]);
    expect(egressOf(t, 'CanarySecurityGroup')).toEqual(expect.arrayContaining([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationSecurityGroupId: { 'Fn::GetAtt': [groupId(t, 'EndpointSecurityGroup'), 'GroupId'] } },
    ]));
  });

  test('a custom model from S3 lets the instances read that one object', () => {
    const { template: t } = synthWith({
      'graviton-llm': {
        customModel: { source: 's3://my-models/tuned/model-q4_0.gguf', sha256: 'd'.repeat(64), sizeBytes: 1_900_000_000, architecture: 'llama-3.2-3b', quantization: 'Q4_0' },
      },
    }, { bundle: false });
    const statements = policyStatements(t, 'FleetRole');
    expect(JSON.stringify(statements)).toContain('arn:aws:s3:::my-models/tuned/model-q4_0.gguf');
    expect(userDataOf(t)).toContain('GLLM_MODEL_SOURCE=s3://my-models/tuned/model-q4_0.gguf');
  });

  test('capacity and slots reach the group and the boot environment', () => {
    const { template: t } = synthWith({ minCapacity: '2', maxCapacity: '6', parallelSlots: '8', contextTokensPerSlot: '2048' }, { bundle: false });
    t.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      Properties: Match.objectLike({ MinSize: '2', MaxSize: '6' }),
      CreationPolicy: { ResourceSignal: { Count: 2, Timeout: 'PT40M' } },
    });
    const ud = userDataOf(t);
    expect(ud).toContain('GLLM_PARALLEL_SLOTS=8');
    expect(ud).toContain('GLLM_CONTEXT_PER_SLOT=2048');
  });

  test('the prompt cache the boot environment gives llama-server is what the fit check leaves on the instance', () => {
    const model = findCatalogModel('llama-3.2-1b-instruct-q4_0')!;
    const need = memoryNeed({ modelBytes: model.sizeBytes, architecture: ARCHITECTURES[model.architecture], parallelSlots: 4, contextTokensPerSlot: 4096 });
    const cacheOn = (instanceType: string) => {
      const { template: t } = synthWith({ instanceType, model: model.id }, { bundle: false });
      return /GLLM_PROMPT_CACHE_MIB=(\d+)\\n/.exec(userDataOf(t))?.[1];
    };
    const small = promptCacheMiB(need, findGravitonInstance('c7g.large')!);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThan(PROMPT_CACHE_MAX_MIB);
    expect(cacheOn('c7g.large')).toBe(String(small));
    expect(cacheOn('c7g.4xlarge')).toBe(String(PROMPT_CACHE_MAX_MIB));
  });
});
