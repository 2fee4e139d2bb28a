import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AL2023_ARM64_AMI_PARAMETER } from '../../lib/catalogs/amazon-linux';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { allGravitonInstances, findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { CATALOG_MODELS, CATALOG_MODEL_IDS, modelDownloadUrl } from '../../lib/catalogs/model-catalog';
import { parseOrgConfig } from '../../lib/org/org-config';
import { addOrgTemplateParameters, mappingKey } from '../../lib/org/template-parameters';
import { fits, promptCacheMiB } from '../../lib/sizing/memory-fit';
import { REPO_ROOT } from '../support/synth';
import { Evaluation, condition, evaluate, failingAssertions, parameterValues } from './support/cfn-eval';
import { OrgSynthesized, exampleOrgConfig, synthOrg } from './support/org-synth';

const PREFIX = 'graviton-llm-org-assets-example';
const REGION_PATTERN = /\b[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d\b/g;

let s: OrgSynthesized;
let t: any;
const resources = (type: string) => Object.entries(t.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
const only = (type: string) => {
  const found = resources(type);
  expect(found).toHaveLength(1);
  return found[0][1];
};
const evalWith = (overrides: Record<string, string> = {}, region?: string): Evaluation => ({ template: t, parameters: parameterValues(t, overrides), region });

beforeAll(() => {
  s = synthOrg();
  t = s.template;
});

test('one environment-agnostic template: no account, no region, no bootstrap version, no lookups', () => {
  const stack = s.org.template;
  expect(stack.resolve(stack.account)).toEqual({ Ref: 'AWS::AccountId' });
  expect(stack.resolve(stack.region)).toEqual({ Ref: 'AWS::Region' });
  expect(t.Parameters.BootstrapVersion).toBeUndefined();
  expect(t.Rules.CheckBootstrapVersion).toBeUndefined();
  const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(s.org.templateFile), 'manifest.json'), 'utf8'));
  expect(manifest.missing ?? []).toEqual([]);
  expect(manifest.artifacts.GravitonLlmOrgTemplate.environment).toBe('aws://unknown-account/unknown-region');
});

test('no literal account id, region or stack name in the template (but the administrator account, which owns the asset buckets)', () => {
  // The one regional table is the Elastic Load Balancing log-delivery accounts (aws-cdk-lib's region facts).
  const { Mappings, Conditions, ...rest } = t;
  // The one account is the administrator's, in the fleet's and the builder's read of the boot program (below).
  const administrator = exampleOrgConfig().administratorAccount;
  expect(JSON.stringify(t).split(administrator)).toHaveLength(3);
  const ownerCondition = JSON.stringify({ 's3:ResourceAccount': administrator });
  const elbMapping = Object.keys(Mappings).filter((k) => k.includes('ElbLogDeliveryAccounts'));
  const elbCondition = Object.keys(Conditions).filter((k) => k.includes('ElbLogDeliveryByAccount'));
  expect(elbMapping).toHaveLength(1);
  expect(elbCondition).toHaveLength(1);
  const others = JSON.stringify({
    ...rest,
    Mappings: Object.fromEntries(Object.entries(Mappings).filter(([k]) => !elbMapping.includes(k))),
    Conditions: Object.fromEntries(Object.entries(Conditions).filter(([k]) => !elbCondition.includes(k))),
  });
  expect(others.split(ownerCondition).join('').match(/\b\d{12}\b/g)).toBeNull();
  expect(others.match(REGION_PATTERN)).toBeNull();
  expect(others).not.toMatch(/cdk-hnb659fds|bootstrap/i);
  // The construct id is in logical ids and construct paths (Name tags, descriptions), never in a
  // physical name: every copy of the template in an account needs its own names.
  const named: string[] = [];
  const walk = (node: any, at: string[]) => {
    if (typeof node === 'string' && node.includes('GravitonLlmOrgTemplate') && !at.includes('Tags') && at[at.length - 1] !== 'Description') {
      named.push(`${at.join('.')}: ${node}`);
    } else if (node && typeof node === 'object') {
      Object.entries(node).forEach(([k, v]) => walk(v, [...at, k]));
    }
  };
  walk(t.Resources, []);
  expect(named).toEqual([]);
  expect(only('AWS::CloudWatch::CompositeAlarm').Properties.AlarmName).toEqual({ 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'EndpointDegraded']] });
});

test('parameters: VPC and subnets (empty for a new VPC), client range, model, instance type, capacity, alarm address', () => {
  const p = t.Parameters;
  expect(p.VpcId).toMatchObject({ Type: 'String', Default: '', AllowedPattern: '^(vpc-[0-9a-f]{8,17})?$' });
  expect(p.PrivateSubnetIds).toMatchObject({ Type: 'String', Default: '' });
  const subnets = new RegExp(p.PrivateSubnetIds.AllowedPattern);
  expect(subnets.test('')).toBe(true);
  expect(subnets.test('subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2')).toBe(true);
  expect(subnets.test('subnet-0aaaaaaaaaaaaaaa1')).toBe(false);
  expect(subnets.test('subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2,subnet-0aaaaaaaaaaaaaaa3')).toBe(false);
  expect(subnets.test('subnet-0aaaaaaaaaaaaaaa1, subnet-0aaaaaaaaaaaaaaa2')).toBe(false);
  expect(p.AllowedCidr).toMatchObject({ Type: 'String', Default: '' });
  expect(new RegExp(p.AllowedCidr.AllowedPattern).test('10.0.0.0/8')).toBe(true);
  expect(new RegExp(p.AllowedCidr.AllowedPattern).test('10.0.0.0')).toBe(false);
  expect(p.Model).toEqual(expect.objectContaining({ Type: 'String', Default: 'llama-3.2-3b-instruct-q4_k_m', AllowedValues: CATALOG_MODEL_IDS }));
  expect(p.InstanceType).toEqual(expect.objectContaining({ Type: 'String', Default: 'c7g.2xlarge', AllowedValues: allGravitonInstances().map((i) => i.instanceType) }));
  expect(p.MinCapacity).toMatchObject({ Type: 'Number', Default: 1, MinValue: 1, MaxValue: 20 });
  expect(p.MaxCapacity).toMatchObject({ Type: 'Number', Default: 3, MinValue: 1, MaxValue: 20 });
  expect(p.AlarmEmail).toMatchObject({ Type: 'String', Default: '' });
  expect(new RegExp(p.AlarmEmail.AllowedPattern).test('')).toBe(true);
  expect(new RegExp(p.AlarmEmail.AllowedPattern).test('oncall@example.com')).toBe(true);
  expect(t.Metadata['AWS::CloudFormation::Interface'].ParameterGroups).toHaveLength(4);
});

test('the AMI is the value of the SSM parameter AmiParameter names, AWS\'s public one by default, read in the stack\'s region', () => {
  const imageParameters = Object.entries(t.Parameters as Record<string, any>).filter(([, p]) => p.Type === 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>');
  expect(imageParameters.map(([id]) => id)).toEqual(['AmiParameter']);
  expect(t.Parameters.AmiParameter.Default).toBe(AL2023_ARM64_AMI_PARAMETER);
  expect(t.Parameters.AmiParameter.Description).toMatch(/read at each create and update.*under \/graviton-llm\//);
  expect(only('AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.ImageId).toEqual({ Ref: 'AmiParameter' });
  const groups = t.Metadata['AWS::CloudFormation::Interface'].ParameterGroups.flatMap((g: any) => g.Parameters);
  expect(groups).toContain('AmiParameter');
});

describe('the VPC: created under a condition, or the given one', () => {
  test('every resource of the new VPC, and the provider that empties its default security group, carries CreateVpc', () => {
    const vpcTypes = ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::Route', 'AWS::EC2::SubnetRouteTableAssociation',
      'AWS::EC2::NatGateway', 'AWS::EC2::EIP', 'AWS::EC2::InternetGateway', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::FlowLog',
      'Custom::VpcRestrictDefaultSG'];
    for (const type of vpcTypes) {
      const found = resources(type);
      expect(found.length).toBeGreaterThan(0);
      for (const [id, r] of found) {
        expect([id, r.Condition]).toEqual([id, 'CreateVpc']);
      }
    }
    const provider = Object.entries(t.Resources as Record<string, any>).filter(([id]) => id.startsWith('CustomVpcRestrictDefaultSGCustomResourceProvider'));
    expect(provider.map(([, r]) => r.Condition)).toEqual(['CreateVpc', 'CreateVpc']);
    expect(condition('CreateVpc', evalWith())).toBe(true);
    expect(condition('CreateVpc', evalWith({ VpcId: 'vpc-0123456789abcdef0' }))).toBe(false);
  });

  test('no resource that always exists refers to one that may not, outside Fn::If on its condition', () => {
    const conditionOf = new Map(Object.entries(t.Resources as Record<string, any>).map(([id, r]) => [id, r.Condition as string | undefined]));
    const problems: string[] = [];
    const walk = (node: any, holds: Set<string>, where: string) => {
      if (node === null || typeof node !== 'object') {
        return;
      }
      if (Array.isArray(node)) {
        node.forEach((n) => walk(n, holds, where));
        return;
      }
      if ('Fn::If' in node) {
        const [c, yes, no] = node['Fn::If'];
        walk(yes, new Set([...holds, c]), where);
        walk(no, holds, where);
        return;
      }
      const target = node.Ref ?? (Array.isArray(node['Fn::GetAtt']) ? node['Fn::GetAtt'][0] : undefined);
      const needed = typeof target === 'string' ? conditionOf.get(target) : undefined;
      if (needed && !holds.has(needed)) {
        problems.push(`${where} -> ${target} (${needed})`);
      }
      Object.values(node).forEach((v) => walk(v, holds, where));
    };
    for (const [id, r] of Object.entries(t.Resources as Record<string, any>)) {
      const holds = new Set<string>(r.Condition ? [r.Condition] : []);
      walk(r.Properties, holds, id);
      walk(r.Metadata, holds, id);
      for (const dependency of [r.DependsOn ?? []].flat()) {
        const needed = conditionOf.get(dependency);
        if (needed && !holds.has(needed)) {
          problems.push(`${id} DependsOn ${dependency} (${needed})`);
        }
      }
    }
    walk(t.Outputs, new Set(), 'Outputs');
    expect(problems).toEqual([]);
  });

  test('the group, load balancer and canary use the new subnets or the given ones (Fn::If), and wait for the new VPC\'s routes', () => {
    const group = only('AWS::AutoScaling::AutoScalingGroup');
    expect(group.Properties.VPCZoneIdentifier).toEqual([0, 1].map((i) => ({
      'Fn::If': ['CreateVpc', { Ref: expect.stringMatching(new RegExp(`^NetworkVpcprivateSubnet${i + 1}Subnet`)) },
        { 'Fn::Select': [i, { 'Fn::Split': [',', { Ref: 'PrivateSubnetIds' }] }] }],
    })));
    const lb = only('AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(lb.Properties.Subnets).toEqual(group.Properties.VPCZoneIdentifier);
    expect(lb.Properties.Scheme).toBe('internal');
    const canary = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('CanaryFunction'))![1];
    expect(canary.Properties.VpcConfig.SubnetIds).toEqual(group.Properties.VPCZoneIdentifier);
    expect(only('AWS::ElasticLoadBalancingV2::TargetGroup').Properties.VpcId)
      .toEqual({ 'Fn::If': ['CreateVpc', { Ref: expect.stringMatching(/^NetworkVpc/) }, { Ref: 'VpcId' }] });
    // Evaluated: the given subnets when VpcId is set.
    const existing = evalWith({ VpcId: 'vpc-0123456789abcdef0', PrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2', AllowedCidr: '10.20.0.0/16' });
    expect(evaluate(group.Properties.VPCZoneIdentifier, existing)).toEqual(['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2']);
    // The network's handle (the builder's own is FleetBuilderHandle...).
    const handles = resources('AWS::CloudFormation::WaitConditionHandle').filter(([id]) => !id.startsWith('FleetBuilderHandle'));
    expect(handles).toHaveLength(1);
    const [readyId, ready] = handles[0];
    expect(ready.Metadata.WaitsFor['Fn::If'][0]).toBe('CreateVpc');
    expect(ready.Metadata.WaitsFor['Fn::If'][1]).toHaveLength(4);
    expect(group.DependsOn).toContain(readyId);
    expect(canary.DependsOn).toContain(readyId);
    // The builder fetches the source and the model too: it starts once the new VPC routes out.
    const [[, builder]] = resources('AWS::EC2::Instance').filter(([id]) => id.startsWith('FleetBuilderInstance'));
    expect(builder.DependsOn).toContain(readyId);
  });

  test('rules: subnets and a client range with an existing VPC, no subnets without one', () => {
    expect(failingAssertions(evalWith())).toEqual([]);
    expect(failingAssertions(evalWith({ VpcId: 'vpc-0123456789abcdef0' }))).toEqual([
      expect.stringMatching(/^PrivateSubnetIds is required with VpcId/),
      expect.stringMatching(/^AllowedCidr is required with VpcId/),
    ]);
    expect(failingAssertions(evalWith({ PrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2' })))
      .toEqual([expect.stringMatching(/^PrivateSubnetIds applies only with VpcId/)]);
    expect(failingAssertions(evalWith({ VpcId: 'vpc-0123456789abcdef0', PrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2', AllowedCidr: '10.0.0.0/8' }))).toEqual([]);
  });

  test('the load balancer admits the new VPC\'s range, or AllowedCidr', () => {
    const sg = resources('AWS::EC2::SecurityGroup').find(([, r]) => /load balancer/.test(r.Properties.GroupDescription))![1];
    const cidr = sg.Properties.SecurityGroupIngress[0].CidrIp;
    expect(evaluate(cidr, evalWith())).toBe('10.64.0.0/16');
    expect(evaluate(cidr, evalWith({ AllowedCidr: '10.0.0.0/8' }))).toBe('10.0.0.0/8');
  });
});

describe('the catalogs as mappings, picked by conditions on the parameters', () => {
  test('ModelCatalog holds every catalog model\'s file, as the single-account stack serves it', () => {
    expect(Object.keys(t.Mappings.ModelCatalog)).toEqual(CATALOG_MODELS.map((m) => mappingKey(m.id)));
    for (const m of CATALOG_MODELS) {
      expect(t.Mappings.ModelCatalog[mappingKey(m.id)]).toMatchObject({
        Source: modelDownloadUrl(m), Sha256: m.sha256, SizeBytes: String(m.sizeBytes), FileName: m.file, RootVolumeGiB: expect.any(Number),
      });
    }
  });

  test('each Model value yields its own file in the boot environment and root volume', () => {
    const lt = only('AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData;
    const userData = lt.UserData;
    for (const m of CATALOG_MODELS) {
      const text = (evaluate(userData, evalWith({ Model: m.id })) as any)['Fn::Base64']['Fn::Join'][1]
        .map((part: unknown) => (typeof part === 'string' ? part : '')).join('');
      expect(text).toContain(`GLLM_MODEL_SOURCE=${modelDownloadUrl(m)}\n`);
      expect(text).toContain(`GLLM_MODEL_SHA256=${m.sha256}\n`);
      expect(text).toContain(`GLLM_MODEL_SIZE_BYTES=${m.sizeBytes}\n`);
      expect(text).toContain(`GLLM_MODEL_FILE=${m.file}\n`);
      expect(evaluate(lt.BlockDeviceMappings[0].Ebs.VolumeSize, evalWith({ Model: m.id }))).toBe(t.Mappings.ModelCatalog[mappingKey(m.id)].RootVolumeGiB);
    }
    expect(lt.InstanceType).toEqual({ Ref: 'InstanceType' });
  });

  test('each Model and InstanceType pair yields the prompt cache the fit check computes for that pair, through a mapping CloudFormation accepts', () => {
    const parts: any[] = only('AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1];
    const cache = parts[parts.findIndex((p) => typeof p === 'string' && p.endsWith('\nGLLM_PROMPT_CACHE_MIB=')) + 1];
    const org = s.org.config;
    const pairs: string[] = [];
    for (const choice of org.models) {
      for (const instance of allGravitonInstances()) {
        // cfn-eval's FindInMap throws on a key the mapping lacks, as CloudFormation fails the stack.
        const value = Number(evaluate(cache, evalWith({ Model: choice.id, InstanceType: instance.instanceType })));
        const expected = promptCacheMiB(choice.resolved.memory, instance);
        expect([choice.id, instance.instanceType, value]).toEqual([choice.id, instance.instanceType, expected]);
        if (fits(choice.resolved.memory, instance)) pairs.push(`${choice.id} ${instance.instanceType}`);
      }
    }
    // Every pair the fit rule admits is one of those (the rules test refuses the others), and the cache is
    // no longer one figure per model: the 1B Q8_0 model gets more than the smallest type's 80 MiB on a larger type.
    expect(pairs.length).toBeGreaterThan(1000);
    const q8 = org.models.find((m) => m.id === 'llama-3.2-1b-instruct-q8_0')!;
    expect(Number(evaluate(cache, evalWith({ Model: q8.id, InstanceType: 'c7g.2xlarge' })))).toBe(promptCacheMiB(q8.resolved.memory, findGravitonInstance('c7g.2xlarge')!));
    expect(promptCacheMiB(q8.resolved.memory, findGravitonInstance('c7g.2xlarge')!)).toBe(8192);

    // CloudFormation's mapping rules, as cfn-lint 1.51 encodes them (its schema for the Mappings section,
    // cfnlint/data/schemas/other/mappings/configuration.json, after
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/mappings-section-structure.html and
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html): mapping names
    // alphanumeric, top-level keys letters, digits, '-' and '.', second-level keys alphanumeric, at most 200 of
    // each per level. And every FindInMap names its map and keys literally (no key taken from a parameter
    // that some allowed value would miss, in a branch taken or not), and names an entry that exists.
    for (const [name, mapping] of Object.entries(t.Mappings as Record<string, any>)) {
      expect(name).toMatch(/^[a-zA-Z0-9]+$/);
      expect(Object.keys(mapping).length).toBeLessThanOrEqual(200);
      for (const [top, attributes] of Object.entries(mapping as Record<string, any>)) {
        expect([name, top]).toEqual([name, expect.stringMatching(/^[a-zA-Z0-9.-]+$/)]);
        expect(Object.keys(attributes).length).toBeLessThanOrEqual(200);
        for (const second of Object.keys(attributes)) expect([name, top, second]).toEqual([name, top, expect.stringMatching(/^[a-zA-Z0-9]+$/)]);
      }
    }
    const lookups: any[][] = [];
    const walk = (node: any) => {
      if (node === null || typeof node !== 'object') return;
      if (!Array.isArray(node) && 'Fn::FindInMap' in node) lookups.push(node['Fn::FindInMap']);
      Object.values(node).forEach(walk);
    };
    walk(cache);
    expect(lookups.length).toBeGreaterThan(0);
    for (const [map, top, second] of lookups) {
      expect([map, top, second].every((k) => typeof k === 'string')).toBe(true);
      expect([map, top, second, t.Mappings[map]?.[top]?.[second] !== undefined]).toEqual([map, top, second, true]);
    }
  });

  test('GravitonGenerations holds every generation\'s build flags; each InstanceType value yields its generation\'s', () => {
    for (const g of Object.values(GENERATIONS)) {
      expect(t.Mappings.GravitonGenerations[g.name]).toEqual({ Number: String(g.generation), CpuPart: g.cpuPart, ArmArch: g.armArch });
    }
    const userData = only('AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData;
    const parts: any[] = userData['Fn::Base64']['Fn::Join'][1];
    const valueAfter = (key: string) => parts[parts.findIndex((p) => typeof p === 'string' && p.endsWith(`\n${key}=`)) + 1];
    for (const instance of allGravitonInstances()) {
      const e = evalWith({ InstanceType: instance.instanceType });
      const spec = instance.generationSpec;
      expect([instance.instanceType, evaluate(valueAfter('GLLM_ARM_ARCH'), e)]).toEqual([instance.instanceType, spec.armArch]);
      expect(evaluate(valueAfter('GLLM_CPU_PART'), e)).toBe(spec.cpuPart);
      expect(evaluate(valueAfter('GLLM_GENERATION'), e)).toBe(String(spec.generation));
    }
  });

  test('the pins file\'s one entry is keyed by the InstanceType\'s generation (graviton<N>), as the boot selects it', () => {
    const userData = only('AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData;
    const parts: any[] = userData['Fn::Base64']['Fn::Join'][1];
    const pins = parts.find((p) => typeof p === 'object' && p['Fn::Base64']?.['Fn::Join'] !== undefined)['Fn::Base64']['Fn::Join'][1];
    expect(pins[0]).toBe('{"graviton');
    expect(pins.slice(2)).toEqual(['":', { 'Fn::GetAtt': [expect.stringMatching(/^FleetBuilderDone/), 'Data'] }, '}']);
    for (const type of ['c6g.xlarge', 'c7g.2xlarge', 'c8g.2xlarge']) {
      expect(evaluate(pins[1], evalWith({ InstanceType: type }))).toBe(String(findGravitonInstance(type)!.generationSpec.generation));
    }
  });

  test('the memory fit check as rules: each model and InstanceType pair passes exactly when the fit check says it fits', () => {
    const org = s.org.config;
    for (const choice of org.models) {
      for (const instance of allGravitonInstances()) {
        const failures = failingAssertions(evalWith({ Model: choice.id, InstanceType: instance.instanceType }));
        const expected = fits(choice.resolved.memory, instance) ? [] : [expect.stringContaining(`Model ${choice.id} with 4 slots of 4096 tokens needs`)];
        expect([choice.id, instance.instanceType, failures]).toEqual([choice.id, instance.instanceType, expected]);
      }
    }
    // The message names the model, its need and types that fit.
    const [message] = failingAssertions(evalWith({ Model: 'llama-3.1-8b-instruct-q8_0', InstanceType: 'c7g.large' }));
    expect(message).toMatch(/^Model llama-3.1-8b-instruct-q8_0 with 4 slots of 4096 tokens needs \d+\.\d GiB of memory .*Types that fit include: .*GiB\)/);
    expect(findGravitonInstance('c7g.large')).toBeDefined();
  });

  test('capacity rule: MinCapacity may not exceed MaxCapacity', () => {
    for (let min = 1; min <= 20; min++) {
      for (let max = 1; max <= 20; max++) {
        const failures = failingAssertions(evalWith({ MinCapacity: String(min), MaxCapacity: String(max) }));
        expect([min, max, failures.length > 0]).toEqual([min, max, min > max]);
      }
    }
    const failures = failingAssertions(evalWith({ MinCapacity: '5', MaxCapacity: '2' }));
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f).toMatch(/^MinCapacity must not exceed MaxCapacity/);
    }
  });
});

describe('per-account values reach the resources', () => {
  test('capacity: group sizes, creation signals and the healthy-hosts alarm follow the parameters', () => {
    const group = resources('AWS::AutoScaling::AutoScalingGroup')[0][1];
    expect(group.Properties).toMatchObject({ MinSize: { Ref: 'MinCapacity' }, MaxSize: { Ref: 'MaxCapacity' } });
    expect(group.CreationPolicy.ResourceSignal.Count).toEqual({ Ref: 'MinCapacity' });
    const alarm = resources('AWS::CloudWatch::Alarm').find(([id]) => id.startsWith('AlarmsHealthyHostsBelowMinimum'))![1];
    expect(alarm.Properties.Threshold).toEqual({ Ref: 'MinCapacity' });
    expect(alarm.Properties.AlarmDescription).toEqual({ 'Fn::Join': ['', ['Fewer than ', { Ref: 'MinCapacity' }, ' healthy instances behind the load balancer for 5 minutes.']] });
    expect(JSON.stringify(t)).not.toMatch(/e\+28\d/);
  });

  test('the alarm e-mail subscription exists only when AlarmEmail is set', () => {
    const subscription = only('AWS::SNS::Subscription');
    expect(subscription).toMatchObject({ Condition: expect.any(String), Properties: { Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } } });
    expect(condition(subscription.Condition, evalWith())).toBe(false);
    expect(condition(subscription.Condition, evalWith({ AlarmEmail: 'oncall@example.com' }))).toBe(true);
  });

  test('every role, the custom-resource providers\' included, takes the PermissionsBoundary parameter\'s policy, or none when it is empty', () => {
    const roles = resources('AWS::IAM::Role');
    // The fleet's, the canary's, the API key function's, and aws-cdk-lib's stack-wide providers'.
    expect(roles.length).toBeGreaterThanOrEqual(5);
    for (const [id, role] of roles) {
      const unset = evaluate(role.Properties.PermissionsBoundary, evalWith({ PermissionsBoundary: '' }));
      const set = JSON.stringify(evaluate(role.Properties.PermissionsBoundary, evalWith({ PermissionsBoundary: 'TeamBoundary' })));
      expect({ id, unset }).toEqual({ id, unset: { Ref: 'AWS::NoValue' } });
      expect({ id, set }).toEqual({ id, set: expect.stringMatching(/":iam::".*"<AWS::AccountId>".*":policy\/".*"TeamBoundary"/) });
    }
  });

  test('names follow the deploy-time stack name (StackSet-..., SC-...)', () => {
    const group = resources('AWS::AutoScaling::AutoScalingGroup')[0][1];
    expect(group.Properties.AutoScalingGroupName).toEqual({ 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '-fleet']] });
    expect(only('Custom::GravitonLlmApiKey').Properties.ParameterName).toEqual({ 'Fn::Join': ['', ['/graviton-llm/', { Ref: 'AWS::StackName' }, '/api-key']] });
    const parts: any[] = only('AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1];
    expect(parts[parts.findIndex((p) => typeof p === 'string' && p.endsWith('\nGLLM_STACK_NAME=')) + 1]).toEqual({ Ref: 'AWS::StackName' });
    expect(t.Outputs.ApiKeyParameterName.Value).toEqual({ 'Fn::Join': ['', ['/graviton-llm/', { Ref: 'AWS::StackName' }, '/api-key']] });
  });

  test('the access-log bucket admits the load balancer\'s log delivery in any region: the ELB account where there is one, else the service', () => {
    const policy = resources('AWS::S3::BucketPolicy').find(([, r]) => JSON.stringify(r.Properties.PolicyDocument).includes('load-balancer/AWSLogs'))![1];
    const statement = policy.Properties.PolicyDocument.Statement.find((st: any) => st.Principal?.Service?.['Fn::If']);
    const condition = statement.Principal.AWS['Fn::If'][0];
    const inOldRegion = evaluate(statement.Principal, { template: t, parameters: {}, region: 'us-east-1' });
    expect(inOldRegion.AWS).toEqual({ 'Fn::Join': ['', ['arn:', '<AWS::Partition>', ':iam::', '127311923021', ':root']] });
    expect(inOldRegion.Service).toEqual({ Ref: 'AWS::NoValue' });
    const inNewRegion = evaluate(statement.Principal, { template: t, parameters: {}, region: 'ap-southeast-5' });
    expect(inNewRegion.Service).toBe('logdelivery.elasticloadbalancing.amazonaws.com');
    expect(inNewRegion.AWS).toEqual({ Ref: 'AWS::NoValue' });
    expect(t.Conditions[condition]).toBeDefined();
  });
});

describe('file assets live in the org asset bucket of the region the template is deployed in', () => {
  test('Lambda code and the boot program point at PREFIX-${AWS::Region}', () => {
    const functions = resources('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const [, fn] of functions) {
      expect(fn.Properties.Code.S3Bucket).toEqual({ 'Fn::Sub': `${PREFIX}-\${AWS::Region}` });
    }
    const userData = JSON.stringify(only('AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData);
    expect(userData).toContain(`{"Fn::Sub":"${PREFIX}-\${AWS::Region}"}`);
    const instanceRead = resources('AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
      .find((st: any) => st.Action === 's3:GetObject' && JSON.stringify(st.Resource).includes('.js'));
    expect(JSON.stringify(instanceRead.Resource)).toContain(`${PREFIX}-\${AWS::Region}`);
    // Bucket names are predictable: a PREFIX-REGION bucket of any other account (in a region whose
    // bucket was never created, or was deleted) cannot serve the instances a program.
    expect(instanceRead.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': exampleOrgConfig().administratorAccount } });
  });

  test('the publishing manifest has one destination per configured region, PREFIX-REGION', () => {
    const manifest = JSON.parse(fs.readFileSync(s.org.assetManifestFile, 'utf8'));
    const inner = JSON.parse(fs.readFileSync(path.join(path.dirname(s.org.templateFile), 'GravitonLlmOrgTemplate.assets.json'), 'utf8'));
    expect(Object.keys(manifest.files)).toEqual(Object.keys(inner.files));
    for (const [hash, file] of Object.entries(manifest.files) as [string, any][]) {
      expect(file.destinations).toEqual({
        'us-east-1': { bucketName: `${PREFIX}-us-east-1`, objectKey: inner.files[hash].destinations[Object.keys(inner.files[hash].destinations)[0]].objectKey, region: 'us-east-1' },
        'eu-west-1': { bucketName: `${PREFIX}-eu-west-1`, objectKey: expect.any(String), region: 'eu-west-1' },
      });
    }
    // Every object the template names is in the manifest.
    const keys = new Set(Object.values(manifest.files).map((f: any) => f.destinations['us-east-1'].objectKey));
    for (const [, fn] of resources('AWS::Lambda::Function')) {
      expect(keys.has(fn.Properties.Code.S3Key)).toBe(true);
    }
  });
});

test('cdk-nag and CloudFormation Validate ran on the template, in its own App: nothing unacknowledged', () => {
  const report = JSON.parse(fs.readFileSync(path.join(path.dirname(s.org.templateFile), 'validation-report.json'), 'utf8'));
  expect(report.pluginReports.map((p: any) => p.pluginName).sort()).toEqual(expect.arrayContaining(['AwsSolutions']));
  for (const plugin of report.pluginReports) {
    expect([plugin.pluginName, plugin.violations]).toEqual([plugin.pluginName, []]);
    expect(plugin.conclusion).toBe('success');
  }
  const acknowledged = report.pluginReports.flatMap((p: any) => p.suppressedViolations ?? []).map((v: any) => v.acknowledgedId);
  expect(acknowledged).toEqual(expect.arrayContaining(['AwsSolutions::AwsSolutions-EC23', 'CloudFormation-Validate::W1035']));
});

test('an organization model of its own: "custom" is a Model value, quantized on the instance only when chosen', () => {
  const org = parseOrgConfig({
    ...exampleOrgConfig(),
    template: {
      warmPoolSize: 2,
      customModel: {
        source: 'https://models.example.com/tuned-3b-f16.gguf', sha256: 'a'.repeat(64), sizeBytes: 6_400_000_000,
        architecture: 'llama-3.2-3b', quantization: 'F16', quantizeTo: 'Q4_K_M',
      },
    },
  }, 'test.json', REPO_ROOT);
  const stack = new Stack(new App(), 'Parameters');
  const inputs = addOrgTemplateParameters(stack, org);
  const template = Template.fromStack(stack).toJSON();
  expect(template.Parameters.Model.AllowedValues).toEqual([...CATALOG_MODEL_IDS, 'custom']);
  expect(template.Mappings.ModelCatalog.custom).toMatchObject({ Source: 'https://models.example.com/tuned-3b-f16.gguf', Sha256: 'a'.repeat(64) });
  const quantizeTo = stack.resolve(inputs.config.model.quantizeTo);
  const e = (overrides: Record<string, string>): Evaluation => ({ template, parameters: parameterValues(template, overrides) });
  expect(evaluate(quantizeTo, e({ Model: 'custom' }))).toBe('Q4_K_M');
  expect(evaluate(quantizeTo, e({}))).toBe('');
  expect(evaluate(stack.resolve(inputs.config.model.source), e({ Model: 'custom' }))).toBe('https://models.example.com/tuned-3b-f16.gguf');
  // The warm pool must fit under MaxCapacity.
  expect(failingAssertions(e({ MinCapacity: '1', MaxCapacity: '1' }))).toEqual([expect.stringMatching(/MaxCapacity must be at least the template's warm pool size \(2\)/)]);
  expect(failingAssertions(e({ MinCapacity: '1', MaxCapacity: '2' }))).toEqual([]);
});
