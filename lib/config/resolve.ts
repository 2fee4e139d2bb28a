import { GravitonInstance, findGravitonInstance } from '../catalogs/graviton-instances';
import { DEFAULT_MODEL_ID, findCatalogModel } from '../catalogs/model-catalog';
import { LLAMA_CPP_DEFAULT_REF } from '../catalogs/llama-cpp-release';
import {
  canaryUrlProblems, capacityProblems, certificateRegionProblems, clientRangeProblems, contextProblems, llamaCppCommitOf, memoryFitProblems, newVpcProblems,
  rootVolumeProblems, scheduleProblems, servingMemory, tlsProblems,
} from '../constructs/endpoint-checks';
import { ENDPOINT_DEFAULTS } from '../constructs/graviton-llm-endpoint';
import { instanceTypeExpectation } from '../instances/graviton-instance-type';
import { LlamaModel, catalogModelExpectation, customModelProblems } from '../models/llama-model';
import { MemoryNeed } from '../sizing/memory-fit';
import { ConfigError, ConfigProblem } from './config-error';
import { fieldSource } from './load';
import { KitConfig } from './schema';

export type NetworkPlan =
  | { readonly kind: 'new'; readonly cidr: string; readonly maxAzs: number; readonly natGateways: number }
  | { readonly kind: 'existing'; readonly vpcId: string; readonly privateSubnetIds: readonly string[]; readonly publicSubnetIds?: readonly string[] };

/** A configuration that passed every check, with catalog entries and defaults filled in. */
export interface ResolvedConfig extends Omit<KitConfig, 'model' | 'customModel' | 'llamaCppRef' | 'apiKeyParameterName' | 'rootVolumeGiB'> {
  readonly instance: GravitonInstance;
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
 * Checks the rules that span several fields or need the catalogs, and fills
 * in what depends on them. Runs once every field is valid on its own, and
 * collects all of its problems before throwing.
 */
export function resolveConfig(config: KitConfig): ResolvedConfig {
  const problems: ConfigProblem[] = [];

  const instance = findGravitonInstance(config.instanceType);
  if (!instance) {
    problems.push({ field: 'instanceType', given: config.instanceType, expected: instanceTypeExpectation(config.instanceType) });
  }

  const model = resolveModel(config, problems);

  problems.push(...capacityProblems(config).filter((p) => p.field === 'minCapacity'));
  if (model) {
    problems.push(...contextProblems(model, config.contextTokensPerSlot));
  }

  const network = resolveNetwork(config, problems);

  // An AMI id exists in one region only; without region, the AWS CLI's current one would decide where it is looked for.
  if (config.amiId !== undefined && config.region === undefined) {
    problems.push({
      field: 'region',
      expected: `required with amiId (${config.amiId}): an AMI id belongs to one region, so set region to the region whose AMI it is`,
    });
  }

  problems.push(...scheduleProblems(config.scheduledCapacity ?? []));
  problems.push(...capacityProblems(config).filter((p) => p.field === 'warmPoolSize'));

  problems.push(...tlsProblems(config));
  // The region the configuration names; one taken from the AWS CLI or the default is checked by the app, which knows it.
  if (config.region !== undefined) {
    problems.push(...certificateRegionProblems(config.certificateArn, config.region, 'the region field'));
  }
  problems.push(...canaryUrlProblems(config.internetFacing, config.canaryUrl));
  problems.push(...clientRangeProblems({ ...config, existingVpc: config.vpcId !== undefined ? `vpcId (${config.vpcId})` : undefined }));

  const llamaCppCommit = resolveLlamaCppCommit(config, problems);

  const memory = model ? servingMemory(model, config.parallelSlots, config.contextTokensPerSlot) : undefined;
  if (instance && model) {
    problems.push(...memoryFitProblems(model, instance, config.parallelSlots, config.contextTokensPerSlot));
    problems.push(...rootVolumeProblems(model, config.rootVolumeGiB));
  }

  if (problems.length > 0 || !instance || !model || !memory || !network || !llamaCppCommit) {
    // A value the user gave is named with the file or flag it came from, as the schema's problems are.
    throw new ConfigError(problems.map((p) => (p.source !== undefined || p.given === undefined ? p : { ...p, source: fieldSource(config, p.field) })));
  }

  const { model: _m, customModel: _c, ...rest } = config;
  return {
    ...rest,
    instance,
    model,
    llamaCppRef: config.llamaCppRef ?? LLAMA_CPP_DEFAULT_REF,
    llamaCppCommit,
    apiKeyParameterName: config.apiKeyParameterName ?? `/graviton-llm/${config.stackName}/api-key`,
    network,
    rootVolumeGiB: config.rootVolumeGiB ?? model.minimumRootVolumeGiB(),
    memory,
  };
}

/** The commit to build (see llamaCppCommitOf), its problems recorded. */
function resolveLlamaCppCommit(config: KitConfig, problems: ConfigProblem[]): string | undefined {
  const { commit, problems: commitProblems } = llamaCppCommitOf(config.llamaCppRef ?? LLAMA_CPP_DEFAULT_REF, config.llamaCppCommit);
  problems.push(...commitProblems);
  return commit;
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
  const maxAzs = config.maxAzs ?? ENDPOINT_DEFAULTS.maxAzs;
  const natGateways = config.natGateways ?? ENDPOINT_DEFAULTS.natGateways;
  const cidr = config.vpcCidr ?? DEFAULT_VPC_CIDR;
  const vpcProblems = newVpcProblems(cidr, maxAzs, natGateways);
  problems.push(...vpcProblems);
  return vpcProblems.length === 0 ? { kind: 'new', cidr, maxAzs, natGateways } : undefined;
}
