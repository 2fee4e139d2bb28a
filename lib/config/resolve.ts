import { GravitonInstance, findGravitonInstance } from '../catalogs/graviton-instances';
import { CATALOG_MODEL_IDS, DEFAULT_MODEL_ID, findCatalogModel } from '../catalogs/model-catalog';
import { LLAMA_CPP_DEFAULT_REF } from '../catalogs/llama-cpp-release';
import {
  capacityProblems, contextProblems, llamaCppCommitOf, memoryFitProblems, newVpcProblems, rootVolumeProblems, scheduleProblems, servingMemory,
} from '../constructs/endpoint-checks';
import { ENDPOINT_DEFAULTS } from '../constructs/graviton-llm-endpoint';
import { instanceTypeExpectation } from '../instances/graviton-instance-type';
import { LlamaModel, customModelProblems } from '../models/llama-model';
import { MemoryNeed } from '../sizing/memory-fit';
import { ConfigError, ConfigProblem } from './config-error';
import { fieldSource } from './load';
import { certificateRegion } from '../constructs/inference-endpoint';
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

  problems.push(...endpointTlsProblems(config));
  if (!config.internetFacing && config.canaryUrl) {
    problems.push({
      field: 'canaryUrl',
      given: config.canaryUrl,
      expected: 'applies only to an internet-facing endpoint (internetFacing true); an internal endpoint\'s canary calls the load balancer itself, '
        + 'or domainName with certificateArn; remove canaryUrl',
    });
  }
  const everyone = (config.allowedCidrs ?? []).find((cidr) => cidr.endsWith('/0'));
  if (!config.internetFacing && everyone) {
    problems.push({
      field: 'allowedCidrs',
      given: everyone,
      expected: 'expected the ranges your clients are in (e.g. 10.0.0.0/8, or leave allowedCidrs unset for the VPC\'s own range): an internal load balancer '
        + `with ${everyone} would admit every address any connected network routes to it, which the kit's security checks refuse (cdk-nag AwsSolutions-EC23); `
        + 'only an internet-facing endpoint (HTTPS with the API key) may admit everyone',
    });
  }
  if (config.internetFacing && !config.allowedCidrs) {
    problems.push({
      field: 'allowedCidrs',
      expected: 'required when internetFacing is true: list the client ranges to admit (0.0.0.0/0 admits everyone, who still need the API key)',
    });
  }

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

/**
 * What an endpoint's HTTPS needs: an internet-facing endpoint serves HTTPS
 * only, so it needs a certificate; an internal one with a certificate needs
 * the domain name the certificate covers, because no certificate can cover
 * the load balancer's own DNS name; a domain name means nothing without a
 * certificate. The certificate's region is checked here when the
 * configuration names the region, else by `certificateRegionProblem` once
 * the app knows which region the stack deploys to.
 */
function endpointTlsProblems(config: KitConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.internetFacing && !config.certificateArn) {
    problems.push({
      field: 'certificateArn',
      expected: 'required when internetFacing is true: an internet-facing endpoint serves HTTPS only, with an ACM certificate for its domain',
    });
  }
  if (!config.internetFacing && config.certificateArn && !config.domainName) {
    problems.push({
      field: 'domainName',
      expected: 'required with certificateArn on an internal endpoint: the name the certificate covers, which clients use and your DNS points at the load balancer '
        + '(no certificate can cover the load balancer\'s own DNS name); or remove certificateArn to serve plain HTTP inside the VPC',
    });
  }
  if (config.domainName && config.internetFacing) {
    problems.push({
      field: 'domainName',
      given: config.domainName,
      expected: 'applies only to an internal endpoint (internetFacing false); an internet-facing endpoint\'s canary reaches your domain through canaryUrl',
    });
  } else if (config.domainName && !config.certificateArn) {
    problems.push({
      field: 'domainName',
      given: config.domainName,
      expected: 'applies only with certificateArn: the endpoint serves HTTPS for this name with that certificate; add certificateArn, or remove domainName',
    });
  }
  if (config.certificateArn && config.region) {
    const problem = certificateRegionProblem(config.certificateArn, config.region, 'the region field');
    if (problem) problems.push(problem);
  }
  return problems;
}

/**
 * The problem with a certificate that is not in the stack's region (an
 * Application Load Balancer can use only a certificate of its own region),
 * or undefined. `regionSource` says where the region came from.
 */
export function certificateRegionProblem(certificateArn: string, region: string, regionSource: string): ConfigProblem | undefined {
  const inRegion = certificateRegion(certificateArn);
  if (inRegion === undefined || inRegion === region) {
    return undefined;
  }
  return {
    field: 'certificateArn',
    given: certificateArn,
    expected: `expected a certificate in ${region}, the region the stack deploys to (${regionSource}), but this one is in ${inRegion}: `
      + `a load balancer can use only an ACM certificate of its own region; request or import the certificate in ${region}`,
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
    problems.push({ field: 'model', given: id, expected: `expected a catalog model id: ${CATALOG_MODEL_IDS.join(', ')}; or set customModel for your own file` });
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
    if (!config.allowedCidrs) {
      problems.push({ field: 'allowedCidrs', expected: `required with vpcId: the client ranges the load balancer admits (the kit cannot read ${config.vpcId}'s range without AWS credentials)` });
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
