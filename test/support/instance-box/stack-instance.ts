/**
 * What one instance of a synthesized stack sees, for the instance box: the
 * launch template's user data with every CloudFormation token resolved to the
 * box's values (as CloudFormation would resolve them to the stack's), and the
 * AWS side the stack and `cdk deploy` would have made (buckets, the published
 * boot script asset, the SSM parameters, the group and its lifecycle hooks).
 *
 * The resolver is strict: a token it does not know fails, so a new kind of
 * value in the user data is noticed rather than passed through as text. A
 * wait condition handle's Ref is the box's presigned URL for it, and a wait
 * condition's Data is made from the signals the box's AWS took (wait-condition.ts),
 * so a fleet instance's user data resolves only once its builder signalled.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { HandlePut, handleUrl, waitConditionData } from './wait-condition';

export const BOX_ACCOUNT = '123456789012';

export interface StackInstance {
  /** The user data as the instance receives it (decoded). */
  readonly userData: string;
  /** The spec box_aws.py's setup reads. */
  readonly awsSpec: AwsSpec;
  /** Resolved boot environment (boot.env) values, for the test's expectations. */
  readonly bootEnv: Record<string, string>;
  /** The same, as the file the user data writes. */
  readonly bootEnvText: string;
  readonly region: string;
}

export interface AwsSpec {
  readonly region: string;
  readonly architecture: 'x86_64' | 'aarch64';
  readonly metricNamespace: string;
  readonly buckets: string[];
  /** Of `buckets`, those the template makes versioned. */
  readonly versionedBuckets: string[];
  readonly objects: { bucket: string; key: string; file: string }[];
  readonly parameters: { name: string; value: string; type: 'String' | 'SecureString' }[];
  /** How the instance is launched: one more of the group, pending on its hooks, or the stack's own EC2 instance (the builder). */
  readonly launch: { kind: 'group' } | { kind: 'instance'; instanceType: string };
  readonly group: {
    name: string;
    instanceType: string;
    creationSignals: number;
    /** The launch hooks that hold a new instance (the group's own list). */
    hooks: { name: string; transition: string; heartbeatTimeout: number; defaultResult: string }[];
  };
  /** The stack's target groups, made in moto's elbv2 with the ARN their Ref resolves to (box_aws.py TARGET_GROUP_ID). */
  readonly targetGroups: { arn: string; name: string; protocol: string; port: number }[];
}

export interface StackInstanceOptions {
  /** The synthesized template (Template.toJSON()) and the assembly directory holding its assets. */
  readonly template: any;
  readonly assemblyDir: string;
  readonly stackName: string;
  /** The generated API key's value, which the stack's custom resource would have written to SSM. */
  readonly apiKey: string;
  readonly architecture: 'x86_64' | 'aarch64';
  /** Extra objects the box's AWS holds (the model a customModel's s3:// source names, a warm cache). */
  readonly extraObjects?: { bucket: string; key: string; file: string }[];
  /**
   * The size of the model file the box really serves, where it differs from the template's. The tests'
   * tiny stand-in model (a few MB) is far smaller than the architecture it is served as, which the
   * configuration refuses (customModel.sizeBytes has a floor): the stack is synthesized with the
   * floor, and the boot environment in the user data is given the stand-in's real size.
   */
  readonly modelSizeBytes?: number;
  /**
   * The PUTs the box's wait condition handle URLs took (BoxObservation.handlePuts): where the user data
   * reads a wait condition's Data (the fleet's pins), it is made from these, as CloudFormation makes it
   * from the builder's signal. Without them such user data does not resolve.
   */
  readonly handlePuts?: readonly HandlePut[];
}

function resourcesOfType(template: any, type: string): [string, any][] {
  return Object.entries<any>(template.Resources).filter(([, r]) => r.Type === type);
}

/** What a token resolves against: the template, the box's stack, and what the box's AWS has recorded. */
export interface ResolveContext {
  readonly template: any;
  readonly region: string;
  readonly stackName: string;
  /** When handle URLs are made (one time for all of them, so one handle has one URL). */
  readonly nowMs: number;
  /** The PUTs the box's handle URLs took (BoxObservation.handlePuts), which a wait condition's Data is made from. */
  readonly handlePuts?: readonly HandlePut[];
}

/** The ARN of the box's stack, with a stack id made from its name. */
function stackArn(region: string, stackName: string): string {
  const h = createHash('sha256').update(stackName).digest('hex');
  return `arn:aws:cloudformation:${region}:${BOX_ACCOUNT}:stack/${stackName}/${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The S3 object a handle's URL names (its path): the stack's ARN and the handle's logical id. */
export function handleArn(region: string, stackName: string, logicalId: string): string {
  return `${stackArn(region, stackName)}/${logicalId}`;
}

function resourceOf(ctx: ResolveContext, logicalId: string, what: string): any {
  const resource = ctx.template.Resources[logicalId];
  if (!resource) throw new Error(`${what} ${logicalId}, which is not a resource of the template`);
  return resource;
}

/** The box's name for a resource's physical id (what Ref returns). */
function physicalId(ctx: ResolveContext, logicalId: string): string {
  const resource = resourceOf(ctx, logicalId, 'Ref to');
  switch (resource.Type) {
    case 'AWS::S3::Bucket':
      return `box-${logicalId.toLowerCase()}`.slice(0, 63);
    case 'AWS::Logs::LogGroup':
      return `/box/${ctx.stackName}/${logicalId}`;
    case 'AWS::SSM::Parameter':
      if (typeof resource.Properties.Name !== 'string') throw new Error(`parameter ${logicalId} has a computed name`);
      return resource.Properties.Name;
    case 'AWS::AutoScaling::AutoScalingGroup':
      if (typeof resource.Properties.AutoScalingGroupName !== 'string') throw new Error(`group ${logicalId} has no fixed name`);
      return resource.Properties.AutoScalingGroupName;
    case 'AWS::CloudFormation::WaitConditionHandle':
      // Ref returns the handle's presigned URL (AWS::CloudFormation::WaitConditionHandle, Return values).
      return handleUrl(handleArn(ctx.region, ctx.stackName, logicalId), ctx.nowMs);
    default:
      throw new Error(`the instance box does not know what Ref returns for ${resource.Type} (${logicalId})`);
  }
}

/** `Fn::GetAtt`: a wait condition's Data alone, made from the signals its handle took. */
function attribute(ctx: ResolveContext, arg: unknown): string {
  const [logicalId, name] = typeof arg === 'string' ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)] : (arg as string[]);
  const resource = resourceOf(ctx, logicalId, 'Fn::GetAtt of');
  if (resource.Type !== 'AWS::CloudFormation::WaitCondition' || name !== 'Data') {
    throw new Error(`the instance box cannot resolve Fn::GetAtt ${logicalId}.${name} (${resource.Type})`);
  }
  const handleRef = resource.Properties?.Handle?.Ref;
  if (typeof handleRef !== 'string' || resourceOf(ctx, handleRef, 'the handle').Type !== 'AWS::CloudFormation::WaitConditionHandle') {
    throw new Error(`wait condition ${logicalId}'s Handle is ${JSON.stringify(resource.Properties?.Handle)}, not a Ref to a WaitConditionHandle`);
  }
  if (!/^[1-9]\d*$/.test(String(resource.Properties.Count))) throw new Error(`wait condition ${logicalId} has Count ${JSON.stringify(resource.Properties.Count)}`);
  if (ctx.handlePuts === undefined) {
    throw new Error(`the user data reads wait condition ${logicalId}'s Data: give the instance the handle PUTs its builder made (handlePuts)`);
  }
  const handle = handleArn(ctx.region, ctx.stackName, handleRef);
  return waitConditionData(logicalId, Number(resource.Properties.Count), ctx.handlePuts.filter((p) => p.handle === handle).map((p) => p.body));
}

/** The box's name for a target group (at most 32 characters, as ELB allows). */
function targetGroupName(logicalId: string): string {
  return `box-${logicalId.slice(0, 20)}`;
}

/**
 * What Ref returns for a target group: its ARN, as moto makes it in the box
 * (its name, and the fixed id box_aws.py gives every target group).
 */
function targetGroupArn(logicalId: string, region: string): string {
  return `arn:aws:elasticloadbalancing:${region}:${BOX_ACCOUNT}:targetgroup/${targetGroupName(logicalId)}/0123456789abcdef`;
}

function pseudo(name: string, region: string, stackName: string): string {
  const values: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': BOX_ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': stackName,
  };
  if (!(name in values)) throw new Error(`the instance box has no value for ${name}`);
  return values[name];
}

/** Resolves Ref, Fn::Join, Fn::Sub (without a variable map), Fn::Base64 and a wait condition's Fn::GetAtt Data to a string. */
export function resolveToString(node: any, ctx: ResolveContext): string {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  const keys = Object.keys(node ?? {});
  if (keys.length !== 1) throw new Error(`cannot resolve ${JSON.stringify(node).slice(0, 200)}`);
  const [fn] = keys;
  const arg = node[fn];
  const again = (n: any) => resolveToString(n, ctx);
  switch (fn) {
    case 'Ref':
      if (ctx.template.Resources[arg]?.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup') return targetGroupArn(arg, ctx.region);
      return arg.startsWith('AWS::') ? pseudo(arg, ctx.region, ctx.stackName) : physicalId(ctx, arg);
    case 'Fn::Join':
      return (arg[1] as any[]).map(again).join(arg[0]);
    case 'Fn::Base64':
      return Buffer.from(again(arg), 'utf8').toString('base64');
    case 'Fn::GetAtt':
      return attribute(ctx, arg);
    case 'Fn::Sub':
      if (typeof arg !== 'string') throw new Error('Fn::Sub with a variable map is not supported by the instance box');
      return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
        name.startsWith('AWS::') ? pseudo(name, ctx.region, ctx.stackName) : physicalId(ctx, name));
    default:
      throw new Error(`the instance box cannot resolve ${fn}`);
  }
}

/** An instance's UserData as the instance reads it: the template gives it base64-encoded (Fn::Base64), EC2 hands it over decoded. */
export function resolveUserData(node: any, ctx: ResolveContext): string {
  if (Object.keys(node ?? {}).length !== 1 || node['Fn::Base64'] === undefined) {
    throw new Error(`UserData is ${JSON.stringify(node).slice(0, 200)}, not Fn::Base64 of the script`);
  }
  return resolveToString(node['Fn::Base64'], ctx);
}

function single(template: any, type: string): [string, any] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** A generation's builder as the fleet's pins file reads it: its wait condition (whose Data is the entry) and that condition's handle. */
export interface PinsWaitCondition {
  readonly generation: number;
  readonly waitCondition: string;
  readonly handle: string;
}

/**
 * The wait conditions the launch template's pins file is made of, by
 * generation: each `"graviton<N>":` in the user data's Fn::Join followed by
 * `Fn::GetAtt [<wait condition>, Data]` (runtime/boot/pins.ts reads the file).
 * A test signals those handles as each generation's builder would.
 */
export function pinsWaitConditions(template: any): PinsWaitCondition[] {
  const [, launchTemplate] = single(template, 'AWS::EC2::LaunchTemplate');
  const found: PinsWaitCondition[] = [];
  const walk = (node: any): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => {
        const key = typeof n === 'string' ? /"graviton([1-9][0-9]*)":$/.exec(n) : null;
        const att = node[i + 1]?.['Fn::GetAtt'];
        if (key && Array.isArray(att) && att[1] === 'Data') {
          const handle = resourceOf({ template } as ResolveContext, att[0], 'the pins file reads').Properties?.Handle?.Ref;
          if (typeof handle !== 'string') throw new Error(`wait condition ${att[0]} has no Handle Ref`);
          found.push({ generation: Number(key[1]), waitCondition: att[0], handle });
        }
        walk(n);
      });
    } else if (node !== null && typeof node === 'object') {
      Object.values(node).forEach(walk);
    }
  };
  walk(launchTemplate.Properties.LaunchTemplateData.UserData);
  return found;
}

/** A fleet instance: a launch of the group, from its launch template's user data (with a builder's pins: after it signalled). */
export function stackInstance(options: StackInstanceOptions): StackInstance {
  const [, launchTemplate] = single(options.template, 'AWS::EC2::LaunchTemplate');
  return instanceOf(options, launchTemplate.Properties.LaunchTemplateData.UserData, { kind: 'group' });
}

/**
 * The builder: the stack's own AWS::EC2::Instance (the trusted builder,
 * docs/design/trusted-builder.md), from its UserData. It is launched alone,
 * in no group; the group waits on its wait condition and is not there yet.
 */
export function builderInstance(options: StackInstanceOptions): StackInstance {
  const [, instance] = single(options.template, 'AWS::EC2::Instance');
  if (typeof instance.Properties.InstanceType !== 'string') throw new Error('the builder instance has a computed InstanceType');
  return instanceOf(options, instance.Properties.UserData, { kind: 'instance', instanceType: instance.Properties.InstanceType });
}

function instanceOf(options: StackInstanceOptions, userDataNode: any, launch: AwsSpec['launch']): StackInstance {
  const { template, stackName } = options;
  const [, launchTemplate] = single(template, 'AWS::EC2::LaunchTemplate');
  // The region a stack resolves at deploy time; an environment-agnostic one deploys anywhere.
  const regionHint = /GLLM_REGION=([a-z0-9-]+)/.exec(JSON.stringify(userDataNode));
  const region = regionHint?.[1] ?? 'us-east-1';
  const ctx: ResolveContext = { template, region, stackName, nowMs: Date.now(), ...(options.handlePuts !== undefined ? { handlePuts: options.handlePuts } : {}) };
  let userData = resolveUserData(userDataNode, ctx);
  if (options.modelSizeBytes !== undefined) {
    if (!/^GLLM_MODEL_SIZE_BYTES=\d+$/m.test(userData)) throw new Error('the user data sets no GLLM_MODEL_SIZE_BYTES');
    userData = userData.replace(/^GLLM_MODEL_SIZE_BYTES=\d+$/m, `GLLM_MODEL_SIZE_BYTES=${options.modelSizeBytes}`);
  }

  const envBlock = /<<'GLLM_ENV'\n([\s\S]*?)\nGLLM_ENV\n/.exec(userData);
  if (!envBlock) throw new Error('the user data writes no boot environment');
  const bootEnv = Object.fromEntries(envBlock[1].split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

  // What `cdk deploy` publishes: the file assets, into the bootstrap bucket.
  const manifestFile = path.join(options.assemblyDir, `${stackName}.assets.json`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const objects: AwsSpec['objects'] = [];
  for (const asset of Object.values<any>(manifest.files)) {
    const file = path.resolve(options.assemblyDir, asset.source.path);
    if (asset.source.packaging !== 'file' || !existsSync(file) || !statSync(file).isFile()) continue;
    for (const dest of Object.values<any>(asset.destinations)) {
      objects.push({ bucket: resolveToString({ 'Fn::Sub': dest.bucketName }, ctx), key: dest.objectKey, file });
    }
  }
  objects.push(...(options.extraObjects ?? []));

  const parameters: AwsSpec['parameters'] = resourcesOfType(template, 'AWS::SSM::Parameter').map(([, r]) => ({
    name: r.Properties.Name,
    value: resolveToString(r.Properties.Value, ctx),
    type: 'String' as const,
  }));
  // The API key is a SecureString the stack's custom resource writes at deploy time.
  parameters.push({ name: bootEnv.GLLM_API_KEY_PARAMETER, value: options.apiKey, type: 'SecureString' });

  const [, group] = single(template, 'AWS::AutoScaling::AutoScalingGroup');
  // The launch hooks the group carries from its creation (none as separate resources: see launch-paths.test.ts).
  const specs: any[] = group.Properties.LifecycleHookSpecificationList ?? [];
  const hooks = specs.map((h) => ({
    name: h.LifecycleHookName as string,
    transition: h.LifecycleTransition as string,
    heartbeatTimeout: Number(h.HeartbeatTimeout),
    defaultResult: h.DefaultResult as string,
  }));
  const buckets = [...new Set([
    ...resourcesOfType(template, 'AWS::S3::Bucket').map(([id]) => physicalId(ctx, id)),
    ...objects.map((o) => o.bucket),
  ])];
  return {
    userData,
    bootEnv,
    bootEnvText: `${envBlock[1]}\n`,
    region,
    awsSpec: {
      region,
      architecture: options.architecture,
      metricNamespace: bootEnv.GLLM_METRIC_NAMESPACE,
      buckets,
      versionedBuckets: resourcesOfType(template, 'AWS::S3::Bucket')
        .filter(([, r]) => r.Properties?.VersioningConfiguration?.Status === 'Enabled')
        .map(([id]) => physicalId(ctx, id)),
      objects,
      parameters,
      launch,
      group: {
        name: group.Properties.AutoScalingGroupName,
        instanceType: launchTemplate.Properties.LaunchTemplateData.InstanceType,
        // The creation policy's count: CloudFormation takes this many signals, then refuses more.
        creationSignals: Number(group.CreationPolicy?.ResourceSignal?.Count ?? 0),
        hooks,
      },
      targetGroups: resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::TargetGroup').map(([id, r]) => ({
        arn: targetGroupArn(id, region),
        name: targetGroupName(id),
        protocol: r.Properties.Protocol,
        port: Number(r.Properties.Port),
      })),
    },
  };
}

/** A file the box's S3 holds, with what a configuration says of it (its SHA-256 and size). */
export interface S3File {
  readonly bucket: string;
  readonly key: string;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

export function s3File(bucket: string, key: string, file: string): S3File {
  const data = readFileSync(file);
  return { bucket, key, file, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}
