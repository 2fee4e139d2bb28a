import { Aws } from 'aws-cdk-lib';
import { GravitonInstance } from '../catalogs/graviton-instances';
import { DEFAULT_MODEL_ID, findCatalogModel } from '../catalogs/model-catalog';
import { LLAMA_CPP_DEFAULT_REF, llamaCppCommitOf } from '../catalogs/llama-cpp-release';
import { servingMemory } from '../constructs/endpoint-checks';
import { imageOf } from '../constructs/fleet-image';
import { ENDPOINT_DEFAULTS, GravitonLlmEndpointProps, endpointPropProblems } from '../constructs/graviton-llm-endpoint';
import { GravitonInstanceType } from '../instances/graviton-instance-type';
import { LlamaModel, catalogModelExpectation, customModelProblems } from '../models/llama-model';
import { MemoryNeed } from '../sizing/memory-fit';
import { PropsError } from '../base/problems';
import { ConfigError, ConfigProblem } from './config-error';
import { DURATION_FIELDS, configFieldOf, durationOf, settingsProps } from './endpoint-props';
import { rangeProblems } from '../constructs/prop-ranges';
import { fieldSource } from './load';
import { KitConfig } from './schema';

export type NetworkPlan =
  | { readonly kind: 'new'; readonly cidr: string; readonly maxAzs: number; readonly natGateways: number }
  | { readonly kind: 'existing'; readonly vpcId: string; readonly privateSubnetIds: readonly string[]; readonly publicSubnetIds?: readonly string[] };

/** A configuration that passed every check, with catalog entries and defaults filled in. */
export interface ResolvedConfig extends Omit<KitConfig, 'model' | 'customModel' | 'llamaCppRef' | 'apiKeyParameterName' | 'rootVolumeGiB' | 'additionalInstanceTypes'> {
  readonly instance: GravitonInstance;
  /** additionalInstanceTypes' catalog entries, in order; none where the field is unset. */
  readonly additionalInstances: readonly GravitonInstance[];
  readonly model: LlamaModel;
  readonly llamaCppRef: string;
  /** The commit llamaCppRef names, which instances fetch and check. */
  readonly llamaCppCommit: string;
  readonly apiKeyParameterName: string;
  readonly network: NetworkPlan;
  readonly rootVolumeGiB: number;
  readonly memory: MemoryNeed;
}

export const DEFAULT_VPC_CIDR = ENDPOINT_DEFAULTS.vpcCidr;

/**
 * Checks a configuration the schema read, and fills in what depends on it.
 * The values' rules are the constructs': the configuration is mapped to the
 * props GravitonLlmEndpoint, LlamaModel.custom and GravitonInstanceType.of
 * take, their own checks run on them, and each problem is named by the field
 * it came from (`bootTimeout` as bootTimeoutMinutes, `vpcProps.cidr` as
 * vpcCidr) and the file or `-c` key that gave it. Only the rules about fields
 * that have no prop are this file's: model or customModel, an existing VPC's
 * ids, and the region an AMI id needs. Collects every problem before throwing.
 */
export function resolveConfig(config: KitConfig): ResolvedConfig {
  const problems: ConfigProblem[] = [];
  const instanceType = built(problems, () => GravitonInstanceType.of(config.instanceType));
  // Each entry is GravitonInstanceType.of's to judge; its problem is named by the entry (additionalInstanceTypes.1).
  const additionalTypes = (config.additionalInstanceTypes ?? []).map((name, i) => {
    const entryProblems: ConfigProblem[] = [];
    const type = built(entryProblems, () => GravitonInstanceType.of(name));
    problems.push(...entryProblems.map((p) => ({ ...p, field: `additionalInstanceTypes.${i}` })));
    return type;
  });
  const model = resolveModel(config, problems);
  const network = resolveNetwork(config, problems);

  // An AMI id exists in one region only; without region, the AWS CLI's current one would decide where it is looked for.
  if (config.amiId !== undefined && config.region === undefined) {
    problems.push({
      field: 'region',
      expected: `required with amiId (${config.amiId}): an AMI id belongs to one region, so set region to the region whose AMI it is`,
    });
  }

  // A value no Duration holds (a negative amount) cannot become its prop: it is held to the prop's range here.
  problems.push(...rangeProblems((Object.keys(DURATION_FIELDS) as (keyof typeof DURATION_FIELDS)[])
    .filter((field) => config[field] !== undefined && durationOf(config[field], DURATION_FIELDS[field]) === undefined)
    .map((field) => ({ field, setting: field, value: config[field], unit: DURATION_FIELDS[field] }))));

  // The endpoint's own checks, on the props this configuration maps to. The model and instance type
  // reported their problems above (as customModel.*, model, instanceType); without them, the checks
  // that need them are left out. The region a configuration does not name is checked by the app, which knows it.
  const props = {
    ...settingsProps(config),
    model,
    instanceType,
    // Only a whole list: the checks across the types (one generation, no warm pool beside them) wait for every name to be known.
    additionalInstanceTypes: additionalTypes.every((t) => t !== undefined) && additionalTypes.length > 0 ? additionalTypes : undefined,
    vpcProps: config.vpcId === undefined ? { cidr: config.vpcCidr, maxAzs: config.maxAzs, natGateways: config.natGateways } : undefined,
    machineImage: config.amiId !== undefined ? imageOf(config.amiId) : undefined,
  } as GravitonLlmEndpointProps;
  problems.push(...endpointPropProblems(props, {
    region: config.region ?? Aws.REGION,
    regionSource: 'the region field',
    existingVpc: config.vpcId !== undefined ? `vpcId (${config.vpcId})` : undefined,
  })
    .filter((p) => !((p.field === 'model' && !model) || (p.field === 'instanceType' && !instanceType)))
    .map((p) => ({ ...p, field: configFieldOf(p.field) })));

  const llamaCppRef = config.llamaCppRef ?? LLAMA_CPP_DEFAULT_REF;
  const { commit: llamaCppCommit } = llamaCppCommitOf(llamaCppRef, config.llamaCppCommit);
  const memory = model ? servingMemory(model, config.parallelSlots, config.contextTokensPerSlot) : undefined;
  const instance = instanceType?.catalogEntry;
  if (problems.length > 0 || !instance || !model || !memory || !network || !llamaCppCommit) {
    // A value the user gave is named with the file or flag it came from.
    throw new ConfigError(problems.map((p) => (p.source !== undefined || p.given === undefined ? p : { ...p, source: fieldSource(config, p.field) })));
  }

  const { model: _m, customModel: _c, additionalInstanceTypes: _a, ...rest } = config;
  return {
    ...rest,
    instance,
    additionalInstances: additionalTypes.map((t) => t!.catalogEntry!),
    model,
    llamaCppRef,
    llamaCppCommit,
    apiKeyParameterName: config.apiKeyParameterName ?? `/graviton-llm/${config.stackName}/api-key`,
    network,
    rootVolumeGiB: config.rootVolumeGiB ?? model.minimumRootVolumeGiB(),
    memory,
  };
}

/**
 * What a construct's factory returns, or undefined with its problems
 * recorded: GravitonInstanceType.of checks its own argument.
 */
function built<T>(problems: ConfigProblem[], build: () => T): T | undefined {
  try {
    return build();
  } catch (e) {
    if (e instanceof PropsError) {
      problems.push(...e.problems);
      return undefined;
    }
    throw e;
  }
}

function resolveModel(config: KitConfig, problems: ConfigProblem[]): LlamaModel | undefined {
  if (config.model !== undefined && config.customModel !== undefined) {
    problems.push({
      field: 'customModel',
      given: config.customModel.source,
      expected: `give either model (a catalog id, here "${config.model}") or customModel (your own file), not both`,
    });
    return undefined;
  }
  const custom = config.customModel;
  if (custom) {
    // LlamaModel.custom's own checks, with the fields (and the messages' mentions of them) under customModel.
    const modelProblems = customModelProblems(custom, 'customModel.');
    problems.push(...modelProblems);
    return modelProblems.length === 0 ? LlamaModel.custom(custom) : undefined;
  }
  const id = config.model ?? DEFAULT_MODEL_ID;
  if (!findCatalogModel(id)) {
    problems.push({ field: 'model', given: id, expected: catalogModelExpectation('set customModel') });
    return undefined;
  }
  return LlamaModel.fromCatalog(id);
}

function resolveNetwork(config: KitConfig, problems: ConfigProblem[]): NetworkPlan | undefined {
  if (config.vpcId !== undefined) {
    const before = problems.length;
    for (const field of ['vpcCidr', 'maxAzs', 'natGateways'] as const) {
      if (config[field] !== undefined) {
        problems.push({
          field,
          given: config[field],
          expected: `applies only to a new VPC, but vpcId (${config.vpcId}) selects an existing one; remove ${field} or vpcId`,
        });
      }
    }
    if (!config.privateSubnetIds) {
      problems.push({
        field: 'privateSubnetIds',
        expected: `required with vpcId: the ids of at least two private subnets of ${config.vpcId}, in different AZs, that route to the internet `
          + '(instances fetch llama.cpp from GitHub and catalog models from Hugging Face; README, "Deploy into an existing VPC")',
      });
    }
    if (config.internetFacing && !config.publicSubnetIds) {
      problems.push({ field: 'publicSubnetIds', expected: `required with vpcId when internetFacing is true: at least two public subnets of ${config.vpcId} for the load balancer` });
    }
    if (problems.length > before || !config.privateSubnetIds) {
      return undefined;
    }
    return { kind: 'existing', vpcId: config.vpcId, privateSubnetIds: config.privateSubnetIds, publicSubnetIds: config.publicSubnetIds };
  }
  for (const field of ['privateSubnetIds', 'publicSubnetIds'] as const) {
    if (config[field] !== undefined) {
      problems.push({ field, given: config[field], expected: 'applies only with vpcId (an existing VPC); remove it, or set vpcId' });
    }
  }
  // The new VPC's shape is GravitonLlmEndpoint's to check (vpcProps).
  return { kind: 'new', cidr: config.vpcCidr ?? DEFAULT_VPC_CIDR, maxAzs: config.maxAzs ?? ENDPOINT_DEFAULTS.maxAzs, natGateways: config.natGateways ?? ENDPOINT_DEFAULTS.natGateways };
}
