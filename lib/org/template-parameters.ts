import { Aws, CfnCondition, CfnMapping, CfnParameter, CfnRule, Fn, ICfnConditionExpression, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AL2023_ARM64_AMI_PARAMETER } from '../catalogs/amazon-linux';
import { GENERATIONS, GravitonGeneration } from '../catalogs/graviton-generations';
import { GravitonInstance, allGravitonInstances } from '../catalogs/graviton-instances';
import { ResolvedConfig } from '../config/resolve';
import { anyOf } from '../constructs/inference-endpoint';
import { imageOf } from '../constructs/fleet-image';
import { ExistingVpcChoice } from '../constructs/inference-network';
import { LlamaModel } from '../models/llama-model';
import { fits, formatGiB, promptCacheMiB, sizesThatFit } from '../sizing/memory-fit';
import { OrgModelChoice, ResolvedOrgConfig } from './org-config';

/** The org template's parameters, by logical id. */
export const ORG_PARAMETERS = {
  vpcId: 'VpcId',
  privateSubnetIds: 'PrivateSubnetIds',
  allowedCidr: 'AllowedCidr',
  model: 'Model',
  instanceType: 'InstanceType',
  minCapacity: 'MinCapacity',
  maxCapacity: 'MaxCapacity',
  alarmEmail: 'AlarmEmail',
  amiParameter: 'AmiParameter',
  permissionsBoundary: 'PermissionsBoundary',
} as const;

/** Subnets per existing VPC: one per AZ of the new VPC an environment-agnostic stack creates. */
export const ORG_SUBNET_COUNT = 2;

const SUBNET_ID = 'subnet-[0-9a-f]{8,17}';
const CIDR = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}/(3[0-2]|[12]?\\d)';

/** What the shared wiring needs to build the endpoint from the parameters. */
export interface OrgTemplateInputs {
  /** The kit configuration with every per-account value a CloudFormation token. */
  readonly config: ResolvedConfig;
  /** llama-server's RAM prompt cache in MiB: the fit check's figure for the Model and InstanceType chosen (the PromptCacheMiB mapping). */
  readonly promptCacheMiB: number;
  readonly existingVpcChoice: ExistingVpcChoice;
  readonly allowedCidrs: string[];
  /** The instances' AMI: the value of the SSM parameter AmiParameter names, read at each create and update. */
  readonly machineImage: ec2.IMachineImage;
  /** The ARN of the PermissionsBoundary parameter's policy in the deploying account, or no value when the parameter is empty. */
  readonly permissionsBoundaryArn: string;
  /**
   * PermissionsBoundary is set: the stack is a Service Catalog launch's (its launch role creates roles only with
   * the boundary), not the StackSet's (which passes it empty).
   */
  readonly hasPermissionsBoundary: CfnCondition;
}

/**
 * Adds the org template's parameters, and the mappings, conditions and rules
 * that turn them into the kit's settings: all generated from the model and
 * Graviton catalogs and the memory fit check, so that the template and the
 * single-account stack can never disagree on a model's file or a generation's
 * build flags, and a model that does not fit the chosen instance type fails
 * at stack creation with the reason.
 *
 * CloudFormation's FindInMap keys may hold only letters, digits, `-` and `.`
 * (second-level keys letters and digits only: mappingKey), and may come only
 * from Ref or FindInMap: a catalog id (`..._q4_k_m`) cannot be a key, nor can
 * an instance type's family. So conditions on the parameters pick the row,
 * and the mappings hold the rows.
 */
export function addOrgTemplateParameters(stack: Stack, org: ResolvedOrgConfig): OrgTemplateInputs {
  const p = org.parameters;
  const instances = allGravitonInstances();

  const vpcId = new CfnParameter(stack, ORG_PARAMETERS.vpcId, {
    type: 'String',
    default: '',
    allowedPattern: '^(vpc-[0-9a-f]{8,17})?$',
    constraintDescription: 'must be empty (a new VPC) or a VPC id like vpc-0123456789abcdef0',
    description: 'Existing VPC to deploy into; empty creates a new VPC (10.64.0.0/16 unless the template says otherwise) with NAT and endpoints.',
  });
  const privateSubnetIds = new CfnParameter(stack, ORG_PARAMETERS.privateSubnetIds, {
    type: 'String',
    default: '',
    allowedPattern: `^(${SUBNET_ID},${SUBNET_ID})?$`,
    constraintDescription: `must be empty (a new VPC) or exactly ${ORG_SUBNET_COUNT} subnet ids separated by a comma, without spaces`,
    description: `With VpcId: exactly ${ORG_SUBNET_COUNT} private subnets of that VPC in different AZs, comma-separated, with a route to the internet (NAT): instances fetch llama.cpp from GitHub and models from Hugging Face.`,
  });
  const allowedCidr = new CfnParameter(stack, ORG_PARAMETERS.allowedCidr, {
    type: 'String',
    default: p.allowedCidr ?? '',
    allowedPattern: `^(${CIDR})?$`,
    constraintDescription: 'must be empty (the new VPC\'s range) or an IPv4 CIDR block like 10.0.0.0/8',
    description: 'Client range the internal load balancer admits; empty admits the new VPC\'s range (required with VpcId).',
  });
  const model = new CfnParameter(stack, ORG_PARAMETERS.model, {
    type: 'String',
    default: p.model,
    allowedValues: org.models.map((m) => m.id),
    description: 'Model to serve (graviton-llm catalog id; "custom" is the organization\'s own file, if it has one).',
  });
  const instanceType = new CfnParameter(stack, ORG_PARAMETERS.instanceType, {
    type: 'String',
    default: p.instanceType,
    allowedValues: instances.map((i) => i.instanceType),
    description: 'Graviton instance type; a rule checks that the model fits its memory.',
  });
  const minCapacity = new CfnParameter(stack, ORG_PARAMETERS.minCapacity, {
    type: 'Number',
    default: p.minCapacity,
    minValue: 1,
    maxValue: p.capacityLimit,
    description: 'Fewest instances.',
  });
  const maxCapacity = new CfnParameter(stack, ORG_PARAMETERS.maxCapacity, {
    type: 'Number',
    default: p.maxCapacity,
    minValue: 1,
    maxValue: p.capacityLimit,
    description: 'Most instances (at least MinCapacity).',
  });
  const alarmEmail = new CfnParameter(stack, ORG_PARAMETERS.alarmEmail, {
    type: 'String',
    default: p.alarmEmail ?? '',
    allowedPattern: '^([^@\\s]+@[^@\\s]+\\.[^@\\s]+)?$',
    constraintDescription: 'must be empty (no subscription) or an e-mail address',
    description: 'Address subscribed to the alarm topic (AWS sends a confirmation e-mail); empty for none.',
  });
  // One template serves every region, and an AMI id belongs to one: the template names the
  // parameter that holds the id, which CloudFormation reads in the stack's region at each
  // create and update (so a StackSet update also moves every stack to the AMI it names then).
  const amiParameter = new CfnParameter(stack, ORG_PARAMETERS.amiParameter, {
    type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
    default: AL2023_ARM64_AMI_PARAMETER,
    description: 'SSM parameter holding the Amazon Linux 2023 arm64 AMI id, read at each create and update of the stack: the default, AWS\'s public one, '
      + 'names the newest AMI then. To pin the AMI, name a parameter under /graviton-llm/ that holds the id you choose.',
  });
  const permissionsBoundary = new CfnParameter(stack, ORG_PARAMETERS.permissionsBoundary, {
    type: 'String',
    default: org.serviceCatalog.permissionsBoundaryName,
    allowedPattern: '^([\\w+=,.@-]{1,128})?$',
    constraintDescription: 'must be empty or the name of an IAM managed policy of this account',
    description: 'Managed policy of this account set as the permissions boundary of every role the stack creates. A Service Catalog launch needs the default (the launch role may create roles only with it); the StackSet passes empty (none).',
  });
  stack.templateOptions.metadata = {
    'AWS::CloudFormation::Interface': {
      ParameterGroups: [
        { Label: { default: 'Model and instances' }, Parameters: [model.logicalId, instanceType.logicalId, minCapacity.logicalId, maxCapacity.logicalId, amiParameter.logicalId] },
        { Label: { default: 'Network (leave empty for a new VPC)' }, Parameters: [vpcId.logicalId, privateSubnetIds.logicalId, allowedCidr.logicalId] },
        { Label: { default: 'Alarms' }, Parameters: [alarmEmail.logicalId] },
        { Label: { default: 'Permissions' }, Parameters: [permissionsBoundary.logicalId] },
      ],
    },
  };

  // --- Network: a new VPC unless VpcId is given.
  const createVpc = new CfnCondition(stack, 'CreateVpc', { expression: Fn.conditionEquals(vpcId.valueAsString, '') });
  const newVpcRange = new CfnCondition(stack, 'AllowNewVpcRange', { expression: Fn.conditionEquals(allowedCidr.valueAsString, '') });
  new CfnRule(stack, 'ExistingVpcInputs', {
    ruleCondition: Fn.conditionNot(Fn.conditionEquals(vpcId.valueAsString, '')),
    assertions: [
      {
        assert: Fn.conditionNot(Fn.conditionEquals(privateSubnetIds.valueAsString, '')),
        assertDescription: `PrivateSubnetIds is required with VpcId: ${ORG_SUBNET_COUNT} private subnets of that VPC in different AZs, comma-separated.`,
      },
      {
        assert: Fn.conditionNot(Fn.conditionEquals(allowedCidr.valueAsString, '')),
        assertDescription: 'AllowedCidr is required with VpcId: the client range the load balancer admits (the template cannot read an existing VPC\'s range).',
      },
    ],
  });
  new CfnRule(stack, 'NewVpcInputs', {
    ruleCondition: Fn.conditionEquals(vpcId.valueAsString, ''),
    assertions: [{
      assert: Fn.conditionEquals(privateSubnetIds.valueAsString, ''),
      assertDescription: 'PrivateSubnetIds applies only with VpcId (an existing VPC); leave it empty for a new VPC, or set VpcId.',
    }],
  });
  const subnetList = Fn.split(',', privateSubnetIds.valueAsString, ORG_SUBNET_COUNT);
  const network = org.kit.network;
  if (network.kind !== 'new') {
    throw new Error('the org template\'s kit settings must plan a new VPC');
  }

  // --- Capacity: MinCapacity <= MaxCapacity (and the warm pool fits under MaxCapacity).
  const values = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  const capacityAssertions = values(2, p.capacityLimit).map((k) => ({
    assert: Fn.conditionOr(
      Fn.conditionNot(Fn.conditionContains(values(Number(k), p.capacityLimit), minCapacity.valueAsString)),
      Fn.conditionContains(values(Number(k), p.capacityLimit), maxCapacity.valueAsString),
    ),
    assertDescription: `MinCapacity must not exceed MaxCapacity (MinCapacity is ${k} or more, MaxCapacity less than ${k}).`,
  }));
  const warmPool = org.kit.warmPoolSize;
  if (warmPool > 1) {
    capacityAssertions.push({
      assert: Fn.conditionContains(values(warmPool, p.capacityLimit), maxCapacity.valueAsString),
      assertDescription: `MaxCapacity must be at least the template's warm pool size (${warmPool}): a warm pool holds instances the fleet can grow into.`,
    });
  }
  new CfnRule(stack, 'CapacityRange', { assertions: capacityAssertions });

  // --- Models: the catalog as a mapping; conditions on Model pick the row.
  const modelRows = org.models.map((m) => ({ choice: m, key: mappingKey(m.id) }));
  const rootVolumeGiB = org.templateSettings.rootVolumeGiB;
  const modelCatalog = new CfnMapping(stack, 'ModelCatalog', {
    mapping: Object.fromEntries(modelRows.map(({ choice, key }) => [key, {
      Source: choice.resolved.model.source,
      Sha256: choice.resolved.model.sha256,
      // A string: it goes into the boot environment (Fn::Join takes strings only).
      SizeBytes: String(choice.resolved.model.sizeBytes),
      FileName: choice.resolved.model.fileName,
      // A number: it is the launch template's VolumeSize.
      RootVolumeGiB: choice.resolved.rootVolumeGiB,
    }])),
  });
  const pickModel = pickRow(stack, 'ModelIs', modelRows.map(({ choice, key }) => ({
    key,
    name: choice.id,
    expression: Fn.conditionEquals(model.valueAsString, choice.id),
  })));
  const modelValue = (attribute: string) => pickModel((key) => modelCatalog.findInMap(key, attribute));
  const custom = org.models.find((m) => m.resolved.model.quantizeTo !== undefined);
  const quantizeTo = custom
    ? Fn.conditionIf(new CfnCondition(stack, 'QuantizeOnInstance', { expression: Fn.conditionEquals(model.valueAsString, custom.id) }).logicalId,
      custom.resolved.model.quantizeTo!, '').toString()
    : undefined;

  // --- Instance types: generations' build flags as a mapping; conditions on the family pick the row.
  const generations = [...new Set(instances.map((i) => i.generationSpec.generation))].sort();
  const generationMapping = new CfnMapping(stack, 'GravitonGenerations', {
    mapping: Object.fromEntries(Object.values(GENERATIONS).map((g) => [g.name, { Number: String(g.generation), CpuPart: g.cpuPart, ArmArch: g.armArch }])),
  });
  const family = Fn.select(0, Fn.split('.', instanceType.valueAsString));
  const pickGeneration = pickRow(stack, 'InstanceIs', generations.map((g) => ({
    key: GENERATIONS[g].name,
    name: GENERATIONS[g].name,
    expression: anyOf(familiesOf(instances, g).map((f) => Fn.conditionEquals(family, f))),
  })));
  const generationValue = (attribute: string) => pickGeneration((key) => generationMapping.findInMap(key, attribute));

  // --- The prompt cache: the fit check's figure for the chosen model on the chosen instance type
  // (promptCacheMiB, 0 where the model does not fit, which the fit rules refuse anyway). A mapping
  // keyed by model and by the group of instance types that give every model the same cache; a
  // condition on InstanceType picks the group, as ModelIs picks the model. Neither parameter can be a
  // key itself: Model values hold '_', and InstanceType values hold '.', which only a top-level key
  // may (mappingKey), in more than the 200 top-level keys a mapping may have; and split over several
  // mappings, the FindInMap of a branch not taken would name a key its mapping lacks. Every key
  // here is literal, and every entry exists.
  const cacheGroups = promptCacheGroups(modelRows.map(({ choice }) => choice), instances);
  const promptCacheMapping = new CfnMapping(stack, 'PromptCacheMiB', {
    mapping: Object.fromEntries(modelRows.map(({ choice, key }, m) => [key, Object.fromEntries(cacheGroups.map((g) => [g.attribute, String(g.cacheMiB[m])]))])),
  });
  const pickCacheGroup = pickRow(stack, 'InstanceMemoryIs', cacheGroups.map((g) => ({
    key: g.attribute,
    name: g.attribute,
    expression: anyOf(g.instanceTypes.map((type) => Fn.conditionEquals(instanceType.valueAsString, type))),
  })));
  const promptCacheValue = pickCacheGroup((groupKey) => pickModel((modelKey) => promptCacheMapping.findInMap(modelKey, groupKey)));

  // --- The memory fit check, per model, as the single-account synth does it.
  for (const { choice, key } of modelRows) {
    addFitRule(stack, choice, key, instances, org.kit.instance, instanceType.valueAsString, model.valueAsString);
  }

  const base = org.kit;
  const config: ResolvedConfig = {
    ...base,
    stackName: Aws.STACK_NAME,
    apiKeyParameterName: org.templateSettings.apiKeyParameterName ?? `/graviton-llm/${Aws.STACK_NAME}/api-key`,
    // Only the instance type and the build flags are read by the constructs; the rest
    // (vCPUs, memory) is the default type's and stands for nothing in the template.
    instance: {
      ...base.instance,
      instanceType: instanceType.valueAsString,
      generationSpec: {
        ...base.instance.generationSpec,
        generation: Token.asNumber(generationValue('Number')) as GravitonGeneration,
        cpuPart: generationValue('CpuPart'),
        armArch: generationValue('ArmArch'),
      },
    },
    // The architecture (and so the KV-cache shape) is the default model's and stands for nothing:
    // each model's fit is a rule of the template (addFitRule), not a synth check.
    model: LlamaModel.custom({
      displayName: 'the model of the Model parameter',
      source: modelValue('Source'),
      sha256: modelValue('Sha256'),
      sizeBytes: Token.asNumber(modelValue('SizeBytes')),
      fileName: modelValue('FileName'),
      architecture: base.model.architecture.id,
      quantization: base.model.quantization,
      quantizeTo,
    }),
    rootVolumeGiB: rootVolumeGiB ?? Token.asNumber(modelValue('RootVolumeGiB')),
    minCapacity: minCapacity.valueAsNumber,
    maxCapacity: maxCapacity.valueAsNumber,
    alarmEmail: alarmEmail.valueAsString,
    allowedCidrs: undefined,
  };

  const hasPermissionsBoundary = new CfnCondition(stack, 'HasPermissionsBoundary', { expression: Fn.conditionNot(Fn.conditionEquals(permissionsBoundary.valueAsString, '')) });
  return {
    config,
    promptCacheMiB: Token.asNumber(promptCacheValue),
    existingVpcChoice: {
      createVpc,
      vpcId: vpcId.valueAsString,
      privateSubnetIds: subnetList,
    },
    allowedCidrs: [Fn.conditionIf(newVpcRange.logicalId, network.cidr, allowedCidr.valueAsString).toString()],
    machineImage: imageOf(amiParameter.valueAsString),
    permissionsBoundaryArn: Fn.conditionIf(
      hasPermissionsBoundary.logicalId,
      `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy/${permissionsBoundary.valueAsString}`,
      Aws.NO_VALUE,
    ).toString(),
    hasPermissionsBoundary,
  };
}

/**
 * CloudFormation's rules for mapping keys, written once: a top-level key holds
 * letters, digits, `-` and `.` (mappingKey), a second-level key letters and
 * digits only (mappingAttribute), and either is taken from a parameter only as
 * it is (Ref), so a key a parameter's value would need sanitizing for cannot be
 * looked up from that parameter. As cfn-lint checks them (its schema of the
 * Mappings section, cfnlint/data/schemas/other/mappings/configuration.json),
 * after https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/mappings-section-structure.html.
 */
export function mappingKey(id: string): string {
  return id.replace(/[^A-Za-z0-9.-]/g, '-');
}

/** A second-level mapping key (an attribute name): letters and digits only. See mappingKey. */
export function mappingAttribute(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '');
}

/** Instance types that give every model the same prompt cache, and that cache, per model in order. */
export interface PromptCacheGroup {
  /** Its second-level key in the PromptCacheMiB mapping: `Memory<MiB>MiB`, or `Memory<least>To<most>MiB`. */
  readonly attribute: string;
  readonly instanceTypes: string[];
  readonly cacheMiB: number[];
}

/**
 * The instance types grouped by the prompt cache each model gets on them
 * (promptCacheMiB; where a model does not fit, 0), the largest group last: it
 * is the one pickRow takes when no other group's condition holds, so its types
 * need no condition.
 */
export function promptCacheGroups(models: readonly OrgModelChoice[], instances: readonly GravitonInstance[]): PromptCacheGroup[] {
  const byCache = new Map<string, GravitonInstance[]>();
  for (const i of instances) {
    const key = JSON.stringify(models.map((m) => promptCacheMiB(m.resolved.memory, i)));
    byCache.set(key, [...(byCache.get(key) ?? []), i]);
  }
  const groups = [...byCache.entries()].map(([key, members]) => {
    const mib = [...new Set(members.map((i) => i.memoryGiB * 1024))].sort((a, b) => a - b);
    const attribute = mappingAttribute(mib.length === 1 ? `Memory${mib[0]}MiB` : `Memory${mib[0]}To${mib[mib.length - 1]}MiB`);
    return { attribute, instanceTypes: members.map((i) => i.instanceType), cacheMiB: JSON.parse(key) as number[] };
  });
  if (new Set(groups.map((g) => g.attribute)).size !== groups.length) {
    throw new Error(`two groups of instance types with different prompt caches share a memory size: ${groups.map((g) => g.attribute).join(', ')}`);
  }
  const largest = groups.reduce((a, b) => (b.instanceTypes.length > a.instanceTypes.length ? b : a));
  return [...groups.filter((g) => g !== largest), largest];
}

/** A logical id from a catalog name: `llama-3.2-1b-instruct-q4_0` → `Llama321bInstructQ40`. */
export function logicalName(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

interface Row {
  readonly key: string;
  /** Names the row's condition. */
  readonly name: string;
  readonly expression: ICfnConditionExpression;
}

/**
 * A value from the row whose condition holds: nested Fn::If over the rows'
 * conditions, the last row being the one left, each branch the lookup of its
 * row's key. Conditions are created for every row but the last.
 */
function pickRow(stack: Stack, prefix: string, rows: Row[]): (lookup: (key: string) => string) => string {
  const keys = new Set(rows.map((r) => r.key));
  if (keys.size !== rows.length) {
    throw new Error(`${prefix}: two rows share a mapping key`);
  }
  const conditions = rows.slice(0, -1).map((r) => new CfnCondition(stack, `${prefix}${logicalName(r.name)}`, { expression: r.expression }));
  return (lookup) => {
    let value = lookup(rows[rows.length - 1].key);
    for (let i = rows.length - 2; i >= 0; i--) {
      value = Fn.conditionIf(conditions[i].logicalId, lookup(rows[i].key), value).toString();
    }
    return value;
  };
}

function familiesOf(instances: GravitonInstance[], generation: GravitonGeneration): string[] {
  return [...new Set(instances.filter((i) => i.generationSpec.generation === generation).map((i) => i.family))];
}

/**
 * One rule per model: when it is chosen, InstanceType must be one whose
 * memory holds it, by the same fit check (and the same parallelSlots and
 * contextTokensPerSlot) as the single-account synth; the message says how
 * much it needs and names the smallest types that fit. The shorter of the
 * lists of fitting and non-fitting types is written out.
 */
function addFitRule(stack: Stack, choice: OrgModelChoice, key: string, instances: GravitonInstance[], near: GravitonInstance, instanceType: string, model: string): void {
  const need = choice.resolved.memory;
  const fitting = instances.filter((i) => fits(need, i)).map((i) => i.instanceType);
  const notFitting = instances.filter((i) => !fits(need, i)).map((i) => i.instanceType);
  if (notFitting.length === 0) {
    return;
  }
  const smallest = sizesThatFit(need, near, 4).map((i) => `${i.instanceType} (${i.memoryGiB} GiB)`).join(', ');
  const r = choice.resolved;
  new CfnRule(stack, `Fit${logicalName(key)}`, {
    ruleCondition: Fn.conditionEquals(model, choice.id),
    assertions: [{
      assert: fitting.length <= notFitting.length
        ? Fn.conditionContains(fitting, instanceType)
        : Fn.conditionNot(Fn.conditionContains(notFitting, instanceType)),
      assertDescription: `Model ${choice.id} with ${r.parallelSlots} slots of ${r.contextTokensPerSlot} tokens needs ${formatGiB(need.totalBytes)} of memory `
        + `(after 1 GiB for the OS and 10% headroom), more than this InstanceType has. Types that fit include: ${smallest}.`,
    }],
  });
}
