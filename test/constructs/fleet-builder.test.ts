import { CfnParameter, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { type BootEnvironment } from '../../runtime/boot/contract';
import { PropsError } from '../../lib/base/problems';
import { BUILDER_WAIT_MARGIN, FleetBuilder, WAIT_CONDITION_MAX_SECONDS, waitTimeoutSeconds } from '../../lib/constructs/fleet-builder';
import { PurchaseOption } from '../../lib/constructs/fleet-purchase';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { GravitonInstanceType } from '../../lib/instances/graviton-instance-type';
import { PROP_RANGES } from '../../lib/constructs/prop-ranges';
import { ACCOUNT, Built, KEY_ARN, REGION, build, only } from '../support/fleet-alone';
import { IamRequest, RolePolicies, decideSameAccount, resolveIntrinsics } from '../support/iam-eval';
import { constructTestApp, synthWith } from '../support/synth';
import { templateGraph } from '../support/template-graph';

/** The logical ids of the builder's three resources in a built fleet. */
function builderIds(s: Built): { handle: string; done: string; instance: string } {
  const b = s.fleet.builder!;
  return {
    handle: s.stack.getLogicalId(b.handle),
    done: s.stack.getLogicalId(b.waitCondition),
    instance: s.stack.getLogicalId(b.instance),
  };
}

/** The three ids in a template, by type. */
function idsInTemplate(t: Template): string[] {
  return ['AWS::CloudFormation::WaitConditionHandle', 'AWS::CloudFormation::WaitCondition', 'AWS::EC2::Instance']
    .map((type) => Object.keys(t.findResources(type))).map((ids) => {
      expect(ids).toHaveLength(1);
      return ids[0];
    });
}

/** User data as text, each CloudFormation value written as its JSON (`{"Ref":"X"}`). */
function userDataText(userData: any): string {
  const joined = userData['Fn::Base64'];
  const parts: unknown[] = typeof joined === 'string' ? [joined] : joined['Fn::Join'][1];
  return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
}
const envLines = (text: string) => text.slice(text.indexOf("<<'GLLM_ENV'\n"), text.indexOf('\nGLLM_ENV\n')).split('\n').slice(1);
const fromTrampoline = (text: string) => text.slice(text.indexOf('install -d -m 0755 /var/lib/cloud/scripts/per-boot'));

describe('FleetBuilder, as the fleet makes it', () => {
  let s: Built;
  let ids: ReturnType<typeof builderIds>;
  let resources: Record<string, any>;
  beforeAll(() => {
    s = build({ account: ACCOUNT, region: REGION });
    ids = builderIds(s);
    resources = s.t.toJSON().Resources;
  });

  test('the handle, the wait condition and the instance: construct ids ending with the same 8-hex hash', () => {
    const b = s.fleet.builder!;
    expect(b.inputsHash).toMatch(/^[0-9a-f]{8}$/);
    expect([b.handle.node.id, b.waitCondition.node.id, b.instance.node.id]).toEqual([`Handle${b.inputsHash}`, `Done${b.inputsHash}`, `Instance${b.inputsHash}`]);
    expect(b.node.path).toBe('Fleet/Fleet/Builder');
    expect(resources[ids.handle].Type).toBe('AWS::CloudFormation::WaitConditionHandle');
  });

  test('the wait condition: one signal, to its handle, within the boot timeout and the margin; created after the builder', () => {
    const wc = resources[ids.done];
    expect(wc.Type).toBe('AWS::CloudFormation::WaitCondition');
    expect(wc.Properties).toEqual({ Handle: { Ref: ids.handle }, Count: 1, Timeout: String(40 * 60 + BUILDER_WAIT_MARGIN.toSeconds()) });
    // Its timer starts when it is created: after the instance, not beside it.
    expect(wc.DependsOn).toContain(ids.instance);
  });

  test('the longest boot timeout the kit allows still gives a Timeout within a wait condition\'s 12 hours', () => {
    expect(waitTimeoutSeconds(Duration.minutes(PROP_RANGES.bootTimeoutMinutes.max))).toBeLessThanOrEqual(WAIT_CONDITION_MAX_SECONDS);
  });

  test('the instance: the fleet\'s AMI and type, IMDSv2 only, terminates when it shuts down, an encrypted gp3 root of the fleet\'s size, the first private subnet', () => {
    const i = resources[ids.instance].Properties;
    const lt = only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData;
    expect(i.ImageId).toEqual(lt.ImageId);
    expect(i.InstanceType).toEqual(lt.InstanceType);
    expect(i.InstanceInitiatedShutdownBehavior).toBe('terminate');
    expect(i.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(i.BlockDeviceMappings).toEqual([{
      DeviceName: '/dev/xvda',
      Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true, Iops: 3000, DeleteOnTermination: true },
    }]);
    const vpc = s.stack.node.findChild('Vpc') as ec2.Vpc;
    const sgId = s.stack.getLogicalId(s.fleet.builder!.securityGroup.node.defaultChild as any);
    expect(i.NetworkInterfaces).toEqual([{
      DeviceIndex: '0', SubnetId: s.stack.resolve(vpc.privateSubnets[0].subnetId), GroupSet: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }], AssociatePublicIpAddress: false,
    }]);
    expect(i.Monitoring).toBe(true);
    // No launch template of its own: the fleet's is the only one.
    s.t.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
  });

  test('its own role, instance profile and security group (HTTPS out only, nothing in)', () => {
    const i = resources[ids.instance].Properties;
    const roleId = s.stack.getLogicalId(s.fleet.builder!.role.node.defaultChild as any);
    expect(roleId).not.toBe(s.stack.getLogicalId(s.fleet.role.node.defaultChild as any));
    expect(resources[i.IamInstanceProfile.Ref].Properties.Roles).toEqual([{ Ref: roleId }]);
    const sgId = s.stack.getLogicalId(s.fleet.builder!.securityGroup.node.defaultChild as any);
    expect(i.NetworkInterfaces[0].GroupSet).toEqual([{ 'Fn::GetAtt': [sgId, 'GroupId'] }]);
    expect(resources[sgId].Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' })]);
    expect(resources[sgId].Properties.SecurityGroupIngress).toBeUndefined();
  });

  test('the builder\'s user data: the fleet\'s boot.env plus its role and signal file, no pins; the handle\'s URL in its own file; the fleet\'s trampoline', () => {
    const builder = userDataText(resources[ids.instance].Properties.UserData);
    const fleet = userDataText(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData);
    expect(builder).toContain("cat > /etc/graviton-llm/boot.env <<'GLLM_ENV'\n");
    // The role keys, and the fleet's own drain keys: its target group and drain metric (its drain watcher's; a builder serves in none).
    const roleKeys = /^GLLM_(ROLE|PINS_FILE|BUILDER_SIGNAL_FILE|TARGET_GROUP_ARN|DRAIN_METRIC)=/;
    expect(envLines(builder).filter((l) => roleKeys.test(l))).toEqual(['GLLM_ROLE=builder', 'GLLM_BUILDER_SIGNAL_FILE=/etc/graviton-llm/builder-signal-url']);
    expect(envLines(builder).filter((l) => !roleKeys.test(l))).toEqual(envLines(fleet).filter((l) => !roleKeys.test(l)));
    expect(builder).not.toContain('GLLM_PINS_FILE');
    expect(builder).toContain(`\ncat > /etc/graviton-llm/builder-signal-url <<'GLLM_SIGNAL'\n{"Ref":"${ids.handle}"}\nGLLM_SIGNAL\n`);
    expect(builder).toContain('install -m 0600 /dev/null /etc/graviton-llm/builder-signal-url\n');
    expect(fromTrampoline(builder)).toEqual(fromTrampoline(fleet));
    expect(fromTrampoline(builder)).toContain('exec /var/lib/cloud/scripts/per-boot/graviton-llm.sh');
  });

  test('the fleet\'s user data: GLLM_PINS_FILE, and the pins written from the wait condition\'s Data under its generation, base64', () => {
    const fleet = userDataText(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData);
    expect(envLines(fleet)).toContain('GLLM_PINS_FILE=/etc/graviton-llm/pins.json');
    expect(envLines(fleet).filter((l) => /^GLLM_(ROLE|BUILDER_SIGNAL_FILE)=/.test(l))).toEqual([]);
    const pins = { 'Fn::Base64': { 'Fn::Join': ['', ['{"graviton3":', { 'Fn::GetAtt': [ids.done, 'Data'] }, '}']] } };
    expect(fleet).toContain(`\ninstall -m 0644 /dev/null /etc/graviton-llm/pins.json\necho '${JSON.stringify(pins)}' | base64 -d > /etc/graviton-llm/pins.json\n`);
  });

  test('CloudFormation order: builder, then wait condition, then the launch template and the group', () => {
    // Order as the template states it, through Ref/GetAtt/DependsOn (template-graph.ts cites the DependsOn page).
    const graph = templateGraph(s.t.toJSON() as { Resources: Record<string, any> });
    const group = only(s.t, 'AWS::AutoScaling::AutoScalingGroup').id;
    const lt = only(s.t, 'AWS::EC2::LaunchTemplate').id;
    expect(graph.directDependencies(lt).has(ids.done)).toBe(true);
    expect(graph.createdAfter(group, ids.done)).toBe(true);
    expect(graph.createdAfter(ids.done, ids.instance)).toBe(true);
    expect(graph.createdAfter(ids.instance, ids.done)).toBe(false);
  });
});

describe('several generations (instanceType c7g.2xlarge, additionalInstanceTypes m7g.2xlarge, c8g.2xlarge, r8g.xlarge): one builder each', () => {
  let s: Built;
  let resources: Record<string, any>;
  let g3: FleetBuilder;
  let g4: FleetBuilder;
  beforeAll(() => {
    s = build({ account: ACCOUNT, region: REGION }, () => ({
      instanceType: GravitonInstanceType.of('c7g.2xlarge'),
      additionalInstanceTypes: ['m7g.2xlarge', 'c8g.2xlarge', 'r8g.xlarge'].map((t) => GravitonInstanceType.of(t)),
      purchaseOption: PurchaseOption.SPOT,
    }));
    resources = s.t.toJSON().Resources;
    [g3, g4] = s.fleet.builders;
  });
  const idsOf = (b: FleetBuilder) => ({ handle: s.stack.getLogicalId(b.handle), done: s.stack.getLogicalId(b.waitCondition), instance: s.stack.getLogicalId(b.instance) });

  test('two builders, in the order of the generations: the first is `Builder` (fleet.builder), the other `BuilderGraviton4`', () => {
    expect(s.fleet.builders).toHaveLength(2);
    expect(s.fleet.builder).toBe(g3);
    expect([g3.node.id, g4.node.id]).toEqual(['Builder', 'BuilderGraviton4']);
    expect(g3.inputsHash).not.toEqual(g4.inputsHash);
    for (const type of ['AWS::CloudFormation::WaitConditionHandle', 'AWS::CloudFormation::WaitCondition', 'AWS::EC2::Instance']) {
      expect([type, Object.keys(s.t.findResources(type)).length]).toEqual([type, 2]);
    }
  });

  test('each builder runs on the first type of its generation, and its boot.env names only its generation (and that generation\'s types)', () => {
    const env = (b: FleetBuilder) => envLines(userDataText(resources[idsOf(b).instance].Properties.UserData));
    const generationKeys = (lines: string[]) => lines.filter((l) => /^GLLM_(INSTANCE_TYPE|GENERATION|CPU_PART|ARM_ARCH)=/.test(l));
    expect(resources[idsOf(g3).instance].Properties.InstanceType).toBe('c7g.2xlarge');
    expect(resources[idsOf(g4).instance].Properties.InstanceType).toBe('c8g.2xlarge');
    expect(generationKeys(env(g3))).toEqual([
      'GLLM_INSTANCE_TYPE=c7g.2xlarge,m7g.2xlarge', 'GLLM_GENERATION=3', `GLLM_CPU_PART=${GENERATIONS[3].cpuPart}`, `GLLM_ARM_ARCH=${GENERATIONS[3].armArch}`,
    ]);
    expect(generationKeys(env(g4))).toEqual([
      'GLLM_INSTANCE_TYPE=c8g.2xlarge,r8g.xlarge', 'GLLM_GENERATION=4', `GLLM_CPU_PART=${GENERATIONS[4].cpuPart}`, `GLLM_ARM_ARCH=${GENERATIONS[4].armArch}`,
    ]);
    // Everything else as the fleet's: the same boot, for another CPU.
    const rest = (lines: string[]) => lines.filter((l) => !/^GLLM_(INSTANCE_TYPE|GENERATION|CPU_PART|ARM_ARCH|ROLE|PINS_FILE|BUILDER_SIGNAL_FILE|TARGET_GROUP_ARN|DRAIN_METRIC)=/.test(l));
    const fleet = envLines(userDataText(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData));
    expect(rest(env(g3))).toEqual(rest(fleet));
    expect(rest(env(g4))).toEqual(rest(fleet));
  });

  test('the fleet\'s boot.env lists every type in the group\'s order and each generation, parallel, the first type\'s first', () => {
    const fleet = envLines(userDataText(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData));
    expect(fleet.filter((l) => /^GLLM_(INSTANCE_TYPE|GENERATION|CPU_PART|ARM_ARCH)=/.test(l))).toEqual([
      'GLLM_INSTANCE_TYPE=c7g.2xlarge,m7g.2xlarge,c8g.2xlarge,r8g.xlarge',
      'GLLM_GENERATION=3,4',
      `GLLM_CPU_PART=${GENERATIONS[3].cpuPart},${GENERATIONS[4].cpuPart}`,
      `GLLM_ARM_ARCH=${GENERATIONS[3].armArch},${GENERATIONS[4].armArch}`,
    ]);
  });

  test('the pins file joins each builder\'s Data under its generation, in order', () => {
    const fleet = userDataText(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData);
    const join = ['{"graviton3":', { 'Fn::GetAtt': [idsOf(g3).done, 'Data'] }, ',"graviton4":', { 'Fn::GetAtt': [idsOf(g4).done, 'Data'] }, '}'];
    expect(fleet).toContain(`echo '${JSON.stringify({ 'Fn::Base64': { 'Fn::Join': ['', join] } })}' | base64 -d > /etc/graviton-llm/pins.json\n`);
  });

  test('CloudFormation order: the launch template and the group only after every builder\'s wait condition, each after its own builder', () => {
    // Order as the template states it, through Ref/GetAtt/DependsOn (template-graph.ts cites the DependsOn page;
    // Fn::GetAtt makes the same implicit dependency, "Fn::GetAtt", AWS CloudFormation User Guide,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getatt.html).
    const graph = templateGraph(s.t.toJSON() as { Resources: Record<string, any> });
    const group = only(s.t, 'AWS::AutoScaling::AutoScalingGroup').id;
    const lt = only(s.t, 'AWS::EC2::LaunchTemplate').id;
    for (const b of [g3, g4]) {
      const ids = idsOf(b);
      expect(graph.directDependencies(lt).has(ids.done)).toBe(true);
      expect(graph.createdAfter(group, ids.done)).toBe(true);
      expect(graph.createdAfter(ids.done, ids.instance)).toBe(true);
    }
    // Independent of each other: the two builders run at once.
    expect(graph.createdAfter(idsOf(g4).instance, idsOf(g3).done)).toBe(false);
    expect(graph.createdAfter(idsOf(g3).instance, idsOf(g4).done)).toBe(false);
  });

  test('one bucket statement lets both builders, and no one else, write the cache', () => {
    const statements = Object.values(resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement).filter((st: any) => st.Sid === 'OnlyTheBuilderWritesTheCache');
    expect(statements).toHaveLength(1);
    const roleArn = (b: FleetBuilder) => ({ 'Fn::GetAtt': [s.stack.getLogicalId(b.role.node.defaultChild as any), 'Arn'] });
    expect(statements[0].Condition).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': [roleArn(g3), roleArn(g4)] } });
  });
});

describe('FleetBuilder\'s hash', () => {
  test('does not depend on token sequence numbers: an app that makes other tokens and constructs first has the same ids', () => {
    const plain = build({ account: ACCOUNT, region: REGION });
    const busy = build({ account: ACCOUNT, region: REGION }, (stack: Stack) => {
      new CfnParameter(stack, 'Unrelated', { default: 'x' });
      for (let n = 0; n < 50; n++) Lazy.string({ produce: () => `v${n}` });
      return {};
    });
    // The same value is a different token in the two apps: a hash of token text would differ.
    expect(plain.fleet.bootLogGroup.logGroupName).not.toEqual(busy.fleet.bootLogGroup.logGroupName);
    expect(busy.fleet.builder!.inputsHash).toBe(plain.fleet.builder!.inputsHash);
    expect(builderIds(busy)).toEqual(builderIds(plain));
  });

  describe('in the app', () => {
    const base = synthWith({}, { bundle: false }).template;
    const ids = idsInTemplate(base);

    test('an alarm threshold changes the alarm and keeps the builder\'s three ids (nothing is built)', () => {
      const t = synthWith({ errorRateAlarmPercent: '17' }, { bundle: false }).template;
      expect(JSON.stringify(t.findResources('AWS::CloudWatch::Alarm'))).not.toEqual(JSON.stringify(base.findResources('AWS::CloudWatch::Alarm')));
      expect(idsInTemplate(t)).toEqual(ids);
    });

    test.each([
      ['another llama.cpp commit', { llamaCppRef: '0123456789abcdef0123456789abcdef01234567' }],
      ['another model', { model: 'llama-3.2-1b-instruct-q8_0' }],
      ['another instance type', { instanceType: 'c8g.2xlarge' }],
    ])('%s: three new ids (a new handle, wait condition and builder)', (_, context) => {
      const t = synthWith(context, { bundle: false }).template;
      const now = idsInTemplate(t);
      now.forEach((id, n) => expect(id).not.toEqual(ids[n]));
    });
  });
});

describe('FleetBuilder IAM: the fleet reads the cache, the builder alone writes it, only there', () => {
  const t = synthWith({}, { bundle: false }).template.toJSON();
  const resources: Record<string, any> = t.Resources;
  const [[, bucketPolicy]] = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r).includes('OnlyTheBuilderWritesTheCache'));
  const bucketId: string = bucketPolicy.Properties.Bucket.Ref;
  const BUCKET = `<${bucketId}.Arn>`;
  const values = { account: ACCOUNT, region: REGION };
  const roleIds = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::IAM::Role');
  const fleetRoleId = roleIds.find((id) => /^FleetRole[0-9A-F]{8}$/.test(id))!;
  const builderRoleId = roleIds.find((id) => /^FleetBuilderRole[0-9A-F]{8}$/.test(id))!;
  const policiesOf = (roleId: string): RolePolicies => ({
    identity: resolveIntrinsics(Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((r) => r.Properties.PolicyDocument.Statement), values),
  });
  const resourcePolicy = resolveIntrinsics(bucketPolicy.Properties.PolicyDocument.Statement, values);
  const decision = (roleId: string, request: IamRequest) => decideSameAccount(policiesOf(roleId), resourcePolicy, request, { arn: `<${roleId}.Arn>`, account: ACCOUNT });
  const WRITES = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:AbortMultipartUpload', 's3:PutObjectAcl', 's3:PutObjectVersionAcl',
    's3:PutObjectTagging', 's3:DeleteObjectTagging', 's3:RestoreObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:ReplicateObject'];
  const CACHED = [`${BUCKET}/cache/builds/abc/llama.tar.zst`, `${BUCKET}/cache/models/m.gguf`];

  test('the two roles are found', () => {
    expect([fleetRoleId, builderRoleId].every(Boolean)).toBe(true);
  });

  test.each(WRITES)('the fleet role cannot %s anything under cache/', (action) => {
    CACHED.forEach((resource) => expect([action, resource, decision(fleetRoleId, { action, resource })]).not.toContainEqual('allow'));
  });

  test('the fleet role reads the cache by version, and lists only its prefix', () => {
    expect(decision(fleetRoleId, { action: 's3:GetObjectVersion', resource: CACHED[0] })).toBe('allow');
    expect(decision(fleetRoleId, { action: 's3:ListBucketVersions', resource: BUCKET, context: { 's3:prefix': 'cache/builds/' } })).toBe('allow');
    expect(decision(fleetRoleId, { action: 's3:ListBucketVersions', resource: BUCKET, context: { 's3:prefix': 'other/' } })).not.toBe('allow');
  });

  test('a PutObject under cache/ by anyone but the builder is denied outright by the bucket policy, whatever their IAM policies say', () => {
    expect(decision(fleetRoleId, { action: 's3:PutObject', resource: CACHED[0] })).toBe('deny');
    const admin: RolePolicies = { identity: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    expect(decideSameAccount(admin, resourcePolicy, { action: 's3:PutObject', resource: CACHED[0] }, { arn: `arn:aws:iam::${ACCOUNT}:role/Admin`, account: ACCOUNT })).toBe('deny');
  });

  test('the builder role writes under cache/, and nowhere else in the bucket or in another bucket; deletes nothing', () => {
    CACHED.forEach((resource) => expect(decision(builderRoleId, { action: 's3:PutObject', resource })).toBe('allow'));
    expect(decision(builderRoleId, { action: 's3:AbortMultipartUpload', resource: CACHED[0] })).toBe('allow');
    for (const resource of [`${BUCKET}/other/x`, `${BUCKET}/cachex/y`, 'arn:aws:s3:::another-bucket/cache/builds/x']) {
      expect([resource, decision(builderRoleId, { action: 's3:PutObject', resource })]).toEqual([resource, 'implicit-deny']);
    }
    for (const action of WRITES.filter((a) => a !== 's3:PutObject' && a !== 's3:AbortMultipartUpload')) {
      expect([action, decision(builderRoleId, { action, resource: CACHED[0] })]).toEqual([action, 'implicit-deny']);
    }
  });

  test('the builder role has none of the fleet\'s serving rights: no API key, no lifecycle action, no stack signal', () => {
    const statements = JSON.stringify(policiesOf(builderRoleId).identity);
    expect(statements).not.toMatch(/autoscaling:CompleteLifecycleAction|cloudformation:SignalResource/);
    const reads = policiesOf(builderRoleId).identity.filter((st: any) => [st.Action].flat().includes('ssm:GetParameter')).flatMap((st: any) => [st.Resource].flat());
    expect(reads.join(' ')).not.toContain('api-key');
    expect(reads).toHaveLength(2);
    expect(decision(builderRoleId, { action: 'ssm:GetParameter', resource: reads[0] })).toBe('allow');
  });
});

describe('trustedBuilder: false, the cache without a builder', () => {
  let s: Built;
  beforeAll(() => {
    s = build({ account: ACCOUNT, region: REGION }, () => ({ trustedBuilder: false }));
  });

  test('no builder, wait condition or handle; the fleet\'s user data has no pins', () => {
    expect(s.fleet.builder).toBeUndefined();
    expect(s.fleet.builders).toEqual([]);
    for (const type of ['AWS::CloudFormation::WaitConditionHandle', 'AWS::CloudFormation::WaitCondition', 'AWS::EC2::Instance']) {
      expect([type, Object.keys(s.t.findResources(type))]).toEqual([type, []]);
    }
    const fleet = userDataText(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData);
    expect(envLines(fleet).filter((l) => /^GLLM_(PINS_FILE|ROLE|BUILDER_SIGNAL_FILE)=/.test(l))).toEqual([]);
    expect(envLines(fleet)).toContainEqual(expect.stringMatching(/^GLLM_TARGET_GROUP_ARN=/));
    expect(fleet).not.toContain('pins.json');
  });

  test('the fleet role may then write the cache (its first instances fill it), and no bucket policy denies it', () => {
    const resources = s.t.toJSON().Resources;
    const roleId = s.stack.getLogicalId(s.fleet.role.node.defaultChild as any);
    const identity = resolveIntrinsics(Object.values<any>(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((r) => r.Properties.PolicyDocument.Statement), { account: ACCOUNT, region: REGION });
    const bucketId = s.stack.getLogicalId(s.bucket.node.defaultChild as any);
    const bucketPolicies = Object.values<any>(resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === bucketId);
    const resourcePolicy = resolveIntrinsics(bucketPolicies.flatMap((r) => r.Properties.PolicyDocument.Statement), { account: ACCOUNT, region: REGION });
    const request = { action: 's3:PutObject', resource: `<${bucketId}.Arn>/cache/builds/abc/llama.tar.zst` };
    expect(decideSameAccount({ identity }, resourcePolicy, request, { arn: `<${roleId}.Arn>`, account: ACCOUNT })).toBe('allow');
    expect(decideSameAccount({ identity }, resourcePolicy, { ...request, resource: `<${bucketId}.Arn>/other/x` }, { arn: `<${roleId}.Arn>`, account: ACCOUNT })).not.toBe('allow');
  });
});

describe('FleetBuilder checks its own props', () => {
  test('role keys in the environment, no trampoline, a boot timeout past the wait condition\'s limit, no subnet: each named', () => {
    const stack = new Stack(constructTestApp(), 'Alone', { env: { account: ACCOUNT, region: REGION } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
    let e: PropsError | undefined;
    try {
      new FleetBuilder(stack, 'Builder', {
        vpc,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        machineImage: ec2.MachineImage.genericLinux({ [REGION]: 'ami-0123456789abcdef0' }),
        instanceType: 'c7g.xlarge',
        rootVolumeGiB: 30,
        bootTimeout: Duration.hours(12),
        bootEnvironment: { GLLM_MODE: 'aws', GLLM_PINS_FILE: '/etc/graviton-llm/pins.json' } as BootEnvironment,
        bootProgram: { s3ObjectKey: 'boot.js' } as s3assets.Asset,
        trampolineCommands: [],
        artifactBucket: s3.Bucket.fromBucketName(stack, 'Cache', 'team-llm-cache'),
        bootLogGroup: logs.LogGroup.fromLogGroupName(stack, 'Logs', 'boot'),
        readableParameterArns: [KEY_ARN],
        modelSource: 'https://example.com/m.gguf',
      });
    } catch (err) {
      e = err as PropsError;
    }
    expect(e).toBeInstanceOf(PropsError);
    expect(e!.problems.map((p) => p.field).sort()).toEqual(['bootEnvironment', 'bootTimeout', 'subnets', 'trampolineCommands']);
    expect(e!.message).toContain('a wait condition waits 12 hours at most');
    expect(e!.message).toContain('GLLM_PINS_FILE');
  });
});
