import { GravitonInstance, findGravitonInstance } from '../catalogs/graviton-instances';
import { explainNonGravitonType } from '../catalogs/instance-suggestions';
import { ARCHITECTURES, ModelArchitecture } from '../catalogs/model-architectures';
import { CATALOG_MODEL_IDS, DEFAULT_MODEL_ID, findCatalogModel, modelDownloadUrl } from '../catalogs/model-catalog';
import { BITS_PER_WEIGHT, Quantization } from '../catalogs/quantizations';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS, LLAMA_CPP_REPOSITORY } from '../catalogs/llama-cpp-release';
import { GIB, MemoryNeed, PROMPT_CACHE_MAX_MIB, fits, formatGiB, memoryNeed, promptCacheMiB, sizesThatFit, usableBytes } from '../sizing/memory-fit';
import { ConfigError, ConfigProblem } from './config-error';
import { fieldSource } from './load';
import { KitConfig, certificateRegion } from './schema';

/** The model an instance serves, wherever it comes from. */
export interface ResolvedModel {
  /** Catalog id, or `custom`. */
  readonly id: string;
  readonly displayName: string;
  /** `https://` or `s3://` location of the GGUF file. */
  readonly source: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** File name the instance stores it under. */
  readonly fileName: string;
  readonly architecture: ModelArchitecture;
  readonly quantization: Quantization;
  /** Quantize on the instance to this type before serving. */
  readonly quantizeTo?: Quantization;
  readonly license: string;
}

export type NetworkPlan =
  | { readonly kind: 'new'; readonly cidr: string; readonly maxAzs: number; readonly natGateways: number }
  | { readonly kind: 'existing'; readonly vpcId: string; readonly privateSubnetIds: readonly string[]; readonly publicSubnetIds?: readonly string[] };

/** A configuration that passed every check, with catalog entries and defaults filled in. */
export interface ResolvedConfig extends Omit<KitConfig, 'model' | 'customModel' | 'llamaCppRef' | 'apiKeyParameterName' | 'rootVolumeGiB'> {
  readonly instance: GravitonInstance;
  readonly model: ResolvedModel;
  readonly llamaCppRef: string;
  /** The commit llamaCppRef names, which instances fetch and check. */
  readonly llamaCppCommit: string;
  readonly apiKeyParameterName: string;
  readonly network: NetworkPlan;
  readonly rootVolumeGiB: number;
  readonly memory: MemoryNeed;
  /**
   * llama-server's RAM prompt cache (`--cache-ram`) in MiB: what the memory
   * fit check leaves on the instance, up to llama-server's own 8192 MiB
   * default (lib/sizing/memory-fit.ts promptCacheMiB); 0 disables it.
   */
  readonly promptCacheMiB: number;
}

export const DEFAULT_VPC_CIDR = '10.64.0.0/16';
const DEFAULT_MAX_AZS = 2;
const DEFAULT_NAT_GATEWAYS = 1;
/** Room on the root volume for the OS, the llama.cpp source and build, and logs. */
const ROOT_VOLUME_BASE_GIB = 20;

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

  if (config.minCapacity > config.maxCapacity) {
    problems.push({
      field: 'minCapacity',
      given: config.minCapacity,
      expected: `expected at most maxCapacity (${config.maxCapacity}); raise maxCapacity or lower minCapacity`,
    });
  }

  if (model && config.contextTokensPerSlot > model.architecture.contextLength) {
    problems.push({
      field: 'contextTokensPerSlot',
      given: config.contextTokensPerSlot,
      expected: `expected at most ${model.architecture.contextLength}, the context length ${model.displayName} was trained for`,
    });
  }

  const network = resolveNetwork(config, problems);

  // An AMI id exists in one region only; without region, the AWS CLI's current one would decide where it is looked for.
  if (config.amiId !== undefined && config.region === undefined) {
    problems.push({
      field: 'region',
      expected: `required with amiId (${config.amiId}): an AMI id belongs to one region, so set region to the region whose AMI it is`,
    });
  }

  for (const [i, schedule] of (config.scheduledCapacity ?? []).entries()) {
    if (schedule.minCapacity > schedule.maxCapacity) {
      problems.push({
        field: `scheduledCapacity.${i}.minCapacity`,
        given: schedule.minCapacity,
        expected: `expected at most this schedule's maxCapacity (${schedule.maxCapacity})`,
      });
    }
  }
  const names = (config.scheduledCapacity ?? []).map((s) => s.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) {
    problems.push({ field: 'scheduledCapacity', given: repeated, expected: 'expected each schedule to have its own name' });
  }
  if (config.warmPoolSize > config.maxCapacity) {
    problems.push({ field: 'warmPoolSize', given: config.warmPoolSize, expected: `expected at most maxCapacity (${config.maxCapacity}): a warm pool holds instances the fleet can grow into` });
  }

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

  const memory = model ? memoryNeed({
    modelBytes: servedModelBytes(model),
    architecture: model.architecture,
    parallelSlots: config.parallelSlots,
    contextTokensPerSlot: config.contextTokensPerSlot,
  }) : undefined;

  if (instance && model && memory && !fits(memory, instance)) {
    const alternatives = sizesThatFit(memory, instance).map((i) => `${i.instanceType} (${i.memoryGiB} GiB)`);
    problems.push({
      field: 'instanceType',
      given: config.instanceType,
      expected: `${model.displayName} ${model.quantization} with ${config.parallelSlots} slots of ${config.contextTokensPerSlot} tokens needs ${formatGiB(memory.totalBytes)} `
        + `(model ${formatGiB(memory.modelBytes)} + KV cache ${formatGiB(memory.kvCacheBytes)} + compute buffers ${formatGiB(memory.computeBytes)}), `
        + `but ${instance.instanceType} has ${instance.memoryGiB} GiB, of which ${formatGiB(Math.max(0, usableBytes(instance)))} is usable after the OS reserve and 10% headroom. `
        + `llama-server's RAM prompt cache (--cache-ram) is not in this need: it is sized from what the need leaves, up to ${PROMPT_CACHE_MAX_MIB} MiB, and 0 where nothing is left. `
        + (alternatives.length > 0
          ? `Sizes that fit: ${alternatives.join(', ')}; or lower parallelSlots or contextTokensPerSlot`
          : 'No Graviton size fits; lower parallelSlots or contextTokensPerSlot, or pick a smaller quantization'),
    });
  }

  const minRootGiB = model ? minimumRootVolumeGiB(model) : ROOT_VOLUME_BASE_GIB;
  if (config.rootVolumeGiB !== undefined && config.rootVolumeGiB < minRootGiB) {
    problems.push({
      field: 'rootVolumeGiB',
      given: config.rootVolumeGiB,
      expected: `expected at least ${minRootGiB} GiB: the model (and its cached copy while it is verified) plus ${ROOT_VOLUME_BASE_GIB} GiB for the OS and the llama.cpp build`,
    });
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
    rootVolumeGiB: config.rootVolumeGiB ?? minRootGiB,
    memory,
    promptCacheMiB: promptCacheMiB(memory, instance),
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

/** The commit to build: the ref itself when it is one, else the known or the configured commit of the tag. */
function resolveLlamaCppCommit(config: KitConfig, problems: ConfigProblem[]): string | undefined {
  const ref = config.llamaCppRef ?? LLAMA_CPP_DEFAULT_REF;
  const known = /^[0-9a-f]{40}$/.test(ref) ? ref : LLAMA_CPP_RELEASE_COMMITS[ref];
  const given = config.llamaCppCommit;
  if (given !== undefined && known !== undefined && given !== known) {
    problems.push({
      field: 'llamaCppCommit',
      given,
      expected: `${known}, the commit of llamaCppRef ${ref}; drop llamaCppCommit, or set llamaCppRef to the release it belongs to`,
    });
    return undefined;
  }
  const commit = given ?? known;
  if (commit === undefined) {
    problems.push({
      field: 'llamaCppCommit',
      expected: `required with llamaCppRef ${ref}, a tag the kit does not know the commit of (it knows ${Object.keys(LLAMA_CPP_RELEASE_COMMITS).join(', ')}): `
        + `instances build a commit, never a tag that could be moved. \`git ls-remote ${LLAMA_CPP_REPOSITORY} refs/tags/${ref}\` prints it`,
    });
  }
  return commit;
}

function resolveModel(config: KitConfig, problems: ConfigProblem[]): ResolvedModel | undefined {
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
    if (custom.quantizeTo && custom.quantization !== 'F16') {
      problems.push({
        field: 'customModel.quantizeTo',
        given: custom.quantizeTo,
        expected: `on-instance quantization needs an F16 source; customModel.quantization is ${custom.quantization}. Remove quantizeTo, or give an F16 file`,
      });
    }
    if (custom.source.startsWith('https://') && new URL(custom.source).port !== '') {
      problems.push({
        field: 'customModel.source',
        given: custom.source,
        expected: 'an https:// URL on the default port 443: the instances\' security group lets out HTTPS on port 443 only. Serve the file on 443, or from S3',
      });
    }
    const architecture = ARCHITECTURES[custom.architecture];
    return {
      id: 'custom',
      displayName: `custom model (${architecture.displayName} architecture)`,
      source: custom.source,
      sha256: custom.sha256,
      sizeBytes: custom.sizeBytes,
      fileName: `custom-${custom.sha256.slice(0, 16)}.gguf`,
      architecture,
      quantization: custom.quantization,
      quantizeTo: custom.quantizeTo,
      license: `as the model's publisher states; fine-tunes of ${architecture.displayName} inherit: ${architecture.license}`,
    };
  }
  const id = config.model ?? DEFAULT_MODEL_ID;
  const entry = findCatalogModel(id);
  if (!entry) {
    problems.push({ field: 'model', given: id, expected: `expected a catalog model id: ${CATALOG_MODEL_IDS.join(', ')}; or set customModel for your own file` });
    return undefined;
  }
  const architecture = ARCHITECTURES[entry.architecture];
  return {
    id: entry.id,
    displayName: architecture.displayName,
    source: modelDownloadUrl(entry),
    sha256: entry.sha256,
    sizeBytes: entry.sizeBytes,
    fileName: entry.file,
    architecture,
    quantization: entry.quantization,
    license: architecture.license,
  };
}

/** The bytes held in memory while serving: on-instance quantization shrinks an F16 source. */
function servedModelBytes(model: ResolvedModel): number {
  if (!model.quantizeTo) {
    return model.sizeBytes;
  }
  return Math.ceil(model.sizeBytes * BITS_PER_WEIGHT[model.quantizeTo] / BITS_PER_WEIGHT.F16);
}

function minimumRootVolumeGiB(model: ResolvedModel): number {
  // The download and the verified file coexist briefly; an F16 source and its quantized output do too.
  const modelGiB = (model.sizeBytes * 2 + (model.quantizeTo ? servedModelBytes(model) : 0)) / GIB;
  return ROOT_VOLUME_BASE_GIB + Math.ceil(modelGiB);
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
  const maxAzs = config.maxAzs ?? DEFAULT_MAX_AZS;
  const natGateways = config.natGateways ?? DEFAULT_NAT_GATEWAYS;
  if (natGateways > maxAzs) {
    problems.push({ field: 'natGateways', given: natGateways, expected: `expected at most maxAzs (${maxAzs}): one NAT gateway per availability zone is the most that helps` });
    return undefined;
  }
  const cidr = config.vpcCidr ?? DEFAULT_VPC_CIDR;
  const prefix = Number(cidr.split('/')[1]);
  if (prefix < 16 || prefix > 22) {
    problems.push({ field: 'vpcCidr', given: cidr, expected: 'expected a prefix from /16 to /22: the range is split into a public and a private subnet per AZ, each needing room for the instances and endpoints' });
    return undefined;
  }
  return { kind: 'new', cidr, maxAzs, natGateways };
}

/**
 * Why an instance type is refused. EC2's type names are lowercase with no
 * spaces; a name that differs only in that is named as meant, so the message
 * points at the case or the space rather than at the family.
 */
function instanceTypeExpectation(given: string): string {
  const normalized = given.trim().toLowerCase();
  if (normalized === given || normalized === '') {
    return explainNonGravitonType(given);
  }
  const how = [given !== given.trim() ? 'without spaces' : '', given.trim() !== normalized ? 'in lowercase' : ''].filter((w) => w).join(' and ');
  const meant = findGravitonInstance(normalized);
  return `EC2 instance type names are written ${how}: "${normalized}"${meant ? '' : `, and ${explainNonGravitonType(normalized)}`}`;
}
