import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { allGravitonInstances } from '../catalogs/graviton-instances';
import { CATALOG_MODEL_IDS, DEFAULT_MODEL_ID } from '../catalogs/model-catalog';
import { ConfigError, ConfigProblem } from '../config/config-error';
import { PROP_FORMATS } from '../constructs/prop-formats';
import { CONTEXT_OBJECT_KEY, loadConfig } from '../config/load';
import { ResolvedConfig, resolveConfig } from '../config/resolve';
import { KitConfig, cidrSchema, configSchema } from '../config/schema';
import { objectKeysAt, valueAt } from '../config/schema-paths';
import { duplicateKeyProblem, parseJsonText } from '../base/json-text';
import { formatText } from '../base/problems';
import { closest } from '../base/suggest';

/**
 * The org-wide rollout's configuration (`config/org.json`, or `-c orgConfig=FILE`):
 * where the one template goes (organization, OUs, regions), how the StackSet
 * rolls it out, the Service Catalog portfolio that offers it, the defaults of
 * the template's parameters, and the kit settings baked into the template.
 */

/** Context key naming the org configuration file. */
export const ORG_CONFIG_KEY = 'orgConfig';
/** The org configuration file read when `-c orgConfig` is not given, relative to the app's directory. */
export const DEFAULT_ORG_CONFIG_FILE = path.join('config', 'org.json');
/** Catalog value of the Model parameter that selects `template.customModel`. */
export const CUSTOM_MODEL_ID = 'custom';
/** The kit's default instance type and capacity, as the org template's parameter defaults. */
const KIT_DEFAULTS = {
  instanceType: configSchema.shape.instanceType.parse(undefined),
  minCapacity: configSchema.shape.minCapacity.parse(undefined),
  maxCapacity: configSchema.shape.maxCapacity.parse(undefined),
};

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const ACCOUNT_ID = /^\d{12}$/;
/** Longest region code AWS uses today is 14 characters (ap-southeast-1); bucket names stop at 63. */
const MAX_BUCKET_NAME = 63;

const regionSchema = z.string().regex(REGION, { message: 'expected an AWS region code like us-east-1' });

const operationPreferencesSchema = z.strictObject({
  regionConcurrencyType: z.enum(['SEQUENTIAL', 'PARALLEL']).default('PARALLEL')
    .describe('Deploy to the regions one after another or all at once.'),
  maxConcurrentPercentage: z.number().int().min(1).max(100).default(25)
    .describe('Share of an OU\'s accounts deployed at once, per region.'),
  failureTolerancePercentage: z.number().int().min(0).max(100).default(0)
    .describe('Share of accounts per region that may fail before the operation stops in that region.'),
  concurrencyMode: z.enum(['STRICT_FAILURE_TOLERANCE', 'SOFT_FAILURE_TOLERANCE']).default('SOFT_FAILURE_TOLERANCE')
    .describe('SOFT keeps deploying at maxConcurrentPercentage despite failures (up to the tolerance); STRICT lowers concurrency as failures occur.'),
});

const parametersSchema = z.strictObject({
  model: z.string().optional()
    .describe('Default of the Model parameter: a catalog model id, or "custom" for template.customModel.'),
  instanceType: z.string().default(KIT_DEFAULTS.instanceType)
    .describe('Default of the InstanceType parameter.'),
  minCapacity: z.number().int().min(1).max(100).default(KIT_DEFAULTS.minCapacity)
    .describe('Default of the MinCapacity parameter.'),
  maxCapacity: z.number().int().min(1).max(100).default(KIT_DEFAULTS.maxCapacity)
    .describe('Default of the MaxCapacity parameter.'),
  capacityLimit: z.number().int().min(2).max(100).default(20)
    .describe('Largest value MinCapacity and MaxCapacity accept in any account.'),
  allowedCidr: cidrSchema('10.0.0.0/8').optional()
    .describe('Default of the AllowedCidr parameter (client range of the internal load balancer). @default - the new VPC\'s range'),
  alarmEmail: z.string().regex(PROP_FORMATS.alarmEmail.pattern, { message: PROP_FORMATS.alarmEmail.expected }).optional()
    .describe('Default of the AlarmEmail parameter. @default - no subscription'),
});

const serviceCatalogSchema = z.strictObject({
  portfolioName: z.string().min(1).max(100).default('graviton-llm')
    .describe('Display name of the portfolio.'),
  providerName: z.string().min(1).max(50).default('Platform team')
    .describe('Provider shown on the portfolio.'),
  productName: z.string().min(1).max(100).default('Private LLM endpoint (graviton-llm)')
    .describe('Name of the product.'),
  launchRoleName: z.string().regex(/^[\w+=,.@-]{1,64}$/, { message: 'expected an IAM role name (letters, digits and + = , . @ _ -, at most 64)' })
    .default('GravitonLlmLaunchRole')
    .describe('Role Service Catalog launches the product with, by name, in whichever account launches it.'),
  permissionsBoundaryName: z.string().regex(/^[\w+=,.@-]{1,128}$/, { message: 'expected an IAM policy name (letters, digits and + = , . @ _ -, at most 128)' })
    .default('GravitonLlmProductBoundary')
    .describe('Managed policy, in each launching account, that the launch role must set as the permissions boundary of every role it creates; the product template\'s PermissionsBoundary parameter defaults to it.'),
  shareWithAccounts: z.array(z.string().regex(ACCOUNT_ID, { message: 'expected a 12-digit AWS account id' })).max(100).default([])
    .describe('Accounts the portfolio is shared with (each accepts the share).'),
  principalArns: z.array(z.string().regex(/^arn:aws[a-z-]*:iam::(\d{12})?:(role|user|group)\/[\w+=,.@/-]+$/, {
    message: 'expected an IAM role, user or group ARN (no account id: a name pattern for the accounts the portfolio is shared with)',
  })).max(100).default([])
    .describe('Principals given access to the portfolio; an ARN without account id names that principal in every recipient account.'),
});

export const orgConfigSchema = z.strictObject({
  organizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/, { message: 'expected an AWS Organizations id like o-a1b2c3d4e5' })
    .describe('The organization whose accounts may read the template\'s assets.'),
  organizationalUnitIds: z.array(z.string().regex(/^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/, {
    message: 'expected an OU id like ou-ab12-cdef3456, or a root id like r-ab12',
  })).min(1).max(100)
    .describe('OUs the StackSet deploys to (and auto-deploys to accounts that join them).'),
  administratorAccount: z.string().regex(ACCOUNT_ID, { message: 'expected a 12-digit AWS account id' })
    .describe('The administrator account: it deploys the org stacks (a deploy with another account\'s credentials fails) and owns the asset buckets, the only buckets the instances read their boot script from.'),
  regions: z.array(regionSchema).min(1).max(30)
    .describe('Regions of the StackSet\'s stacks, and of the asset buckets.'),
  homeRegion: regionSchema.optional()
    .describe('Region of the StackSet and catalog stacks (the administrator account\'s). @default - the first of regions'),
  assetBucketPrefix: z.string().regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/, { message: 'expected lowercase letters, digits and hyphens, starting and ending with a letter or digit' })
    .describe('Asset buckets are named PREFIX-REGION; S3 bucket names are global, so make it yours.'),
  stackSetName: z.string().regex(/^[a-zA-Z][-a-zA-Z0-9]{0,127}$/, { message: 'expected a letter, then letters, digits or hyphens, at most 128' }).default('graviton-llm')
    .describe('Name of the StackSet.'),
  callAs: z.enum(['SELF', 'DELEGATED_ADMIN']).default('SELF')
    .describe('SELF in the management account, DELEGATED_ADMIN in a delegated administrator account.'),
  operationPreferences: operationPreferencesSchema.prefault({}),
  parameters: parametersSchema.prefault({}),
  serviceCatalog: serviceCatalogSchema.prefault({}),
  template: z.record(z.string(), z.unknown()).default({})
    .describe('Kit settings (the keys of the kit\'s configuration) baked into the template; per-account values are parameters instead.'),
});

export type OrgConfig = z.output<typeof orgConfigSchema>;
export type OrgOperationPreferences = z.output<typeof operationPreferencesSchema>;
export type OrgServiceCatalog = z.output<typeof serviceCatalogSchema>;

/** One value the org template's Model parameter offers. */
export interface OrgModelChoice {
  /** The parameter value: a catalog id, or `custom`. */
  readonly id: string;
  /** The kit configuration resolved with this model (and the largest instance, so that it always fits). */
  readonly resolved: ResolvedConfig;
}

/** An org configuration that passed every check. */
export interface ResolvedOrgConfig extends OrgConfig {
  readonly homeRegion: string;
  readonly parameters: OrgConfig['parameters'] & { readonly model: string };
  /** The kit configuration of the template with the parameters' defaults. */
  readonly kit: ResolvedConfig;
  /** The template's kit settings as the kit's loader read them (without the per-account parameters). */
  readonly templateSettings: KitConfig;
  /** Every value of the Model parameter, in catalog order. */
  readonly models: readonly OrgModelChoice[];
  /** The file it was read from, for messages. */
  readonly source: string;
}

/** A mistake in the org configuration: the same form as the kit's configuration errors, naming the file. */
export class OrgConfigError extends ConfigError {
  constructor(problems: readonly ConfigProblem[], source: string) {
    super(problems);
    this.name = 'OrgConfigError';
    this.message = this.message.replace(/^Invalid graviton-llm configuration:/, () => `Invalid graviton-llm org configuration (${formatText(source)}):`);
  }
}

/** Reads `-c orgConfig=FILE` (default config/org.json, relative to baseDir) and checks it. */
export function loadOrgConfig(context: Record<string, unknown>, baseDir: string = process.cwd()): ResolvedOrgConfig {
  const given = context[ORG_CONFIG_KEY];
  if (given !== undefined && (typeof given !== 'string' || given.length === 0)) {
    throw new OrgConfigError([{ field: ORG_CONFIG_KEY, given, expected: 'expected the path of a JSON file' }], '-c orgConfig');
  }
  const file = (given as string | undefined) ?? DEFAULT_ORG_CONFIG_FILE;
  const fullPath = path.resolve(baseDir, file);
  let text: string;
  try {
    text = fs.readFileSync(fullPath, 'utf8');
  } catch {
    throw new OrgConfigError([{ field: ORG_CONFIG_KEY, given: file, expected: `expected a readable JSON file; ${fullPath} cannot be read (copy config/org.json and edit it)` }], file);
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    throw new OrgConfigError('notJson' in parsed
      ? [{ field: ORG_CONFIG_KEY, given: file, expected: `expected valid JSON: ${parsed.notJson}` }]
      : parsed.duplicates.map((d) => duplicateKeyProblem(d)), file);
  }
  return parseOrgConfig(parsed.value, file, baseDir);
}

/** Checks an org configuration object; `source` names it in messages. */
export function parseOrgConfig(raw: unknown, source = 'org configuration', baseDir: string = process.cwd()): ResolvedOrgConfig {
  const parsed = orgConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new OrgConfigError(parsed.error.issues.flatMap((issue) => describeIssue(issue, raw)), source);
  }
  const config = parsed.data;
  const problems: ConfigProblem[] = [];

  const duplicate = config.regions.find((r, i) => config.regions.indexOf(r) !== i);
  if (duplicate) {
    problems.push({ field: 'regions', given: duplicate, expected: 'expected each region once' });
  }
  const homeRegion = config.homeRegion ?? config.regions[0];
  if (!config.regions.includes(homeRegion)) {
    problems.push({
      field: 'homeRegion', given: homeRegion,
      expected: `expected one of regions (${config.regions.join(', ')}): the catalog's product reads the template's assets from the home region's asset bucket`,
    });
  }
  for (const region of config.regions) {
    const bucket = `${config.assetBucketPrefix}-${region}`;
    if (bucket.length > MAX_BUCKET_NAME) {
      problems.push({
        field: 'assetBucketPrefix', given: config.assetBucketPrefix,
        expected: `expected at most ${MAX_BUCKET_NAME - region.length - 1} characters: the bucket name ${bucket} is longer than S3's ${MAX_BUCKET_NAME}`,
      });
      break;
    }
  }
  const p = config.parameters;
  if (p.minCapacity > p.maxCapacity) {
    problems.push({ field: 'parameters.minCapacity', given: p.minCapacity, expected: `expected at most parameters.maxCapacity (${p.maxCapacity})` });
  }
  for (const field of ['minCapacity', 'maxCapacity'] as const) {
    if (p[field] > p.capacityLimit) {
      problems.push({ field: `parameters.${field}`, given: p[field], expected: `expected at most parameters.capacityLimit (${p.capacityLimit})` });
    }
  }
  const ous = config.organizationalUnitIds;
  const repeatedOu = ous.find((o, i) => ous.indexOf(o) !== i);
  if (repeatedOu) {
    problems.push({ field: 'organizationalUnitIds', given: repeatedOu, expected: 'expected each OU once' });
  }

  problems.push(...accountSpecificSettings(config.template));
  if (problems.length > 0) {
    throw new OrgConfigError(problems, source);
  }

  const customModel = config.template.customModel;
  const model = p.model ?? (customModel !== undefined ? CUSTOM_MODEL_ID : DEFAULT_MODEL_ID);
  if (model === CUSTOM_MODEL_ID && customModel === undefined) {
    throw new OrgConfigError([{ field: 'parameters.model', given: model, expected: `"${CUSTOM_MODEL_ID}" selects template.customModel, which is not set; give a catalog model id: ${CATALOG_MODEL_IDS.join(', ')}` }], source);
  }

  // The template's settings are the kit's configuration, read by the kit's own loader and
  // checks; the per-account values come from the parameters' defaults.
  const withModel = (modelId: string, instanceType: string): Record<string, unknown> => {
    const { customModel: custom, ...rest } = config.template;
    return {
      ...rest,
      ...(modelId === CUSTOM_MODEL_ID ? { customModel: custom } : { model: modelId }),
      instanceType,
      minCapacity: p.minCapacity,
      maxCapacity: p.maxCapacity,
    };
  };
  const kitFor = (input: Record<string, unknown>): ResolvedConfig => {
    try {
      return resolveConfig(loadConfig({ [CONTEXT_OBJECT_KEY]: input }, baseDir, { ignoreCommandLineFields: true }));
    } catch (e) {
      if (e instanceof ConfigError) {
        throw new OrgConfigError(e.problems.map(relocate), source);
      }
      throw e;
    }
  };
  const kit = kitFor(withModel(model, p.instanceType));
  const templateSettings = loadConfig({ [CONTEXT_OBJECT_KEY]: withModel(model, p.instanceType) }, baseDir, { ignoreCommandLineFields: true });

  // Each model the Model parameter offers, resolved on the largest instance so that the fit
  // check passes (the template's Rules do the fit check per instance type at deploy time).
  const largest = allGravitonInstances().reduce((a, b) => (b.memoryGiB > a.memoryGiB ? b : a));
  const ids = [...CATALOG_MODEL_IDS, ...(customModel !== undefined ? [CUSTOM_MODEL_ID] : [])];
  const models = ids.map((id) => ({ id, resolved: kitFor(withModel(id, largest.instanceType)) }));

  return { ...config, homeRegion, parameters: { ...p, model }, kit, templateSettings, models, source };
}

/** A kit configuration problem, named as the org configuration's field the user wrote. */
function relocate(problem: ConfigProblem): ConfigProblem {
  // The org configuration's error names its own file; the kit's loader saw the settings as cdk.json's.
  const { source: _kitSource, ...rest } = problem;
  const top = problem.field.split('.')[0];
  const parameter = PARAMETER_FIELDS[top];
  if (parameter) {
    return { ...rest, field: `parameters.${parameter}${problem.field.slice(top.length)}` };
  }
  return { ...rest, field: `template.${problem.field}` };
}

/** Kit fields whose org-wide default lives under `parameters`. */
const PARAMETER_FIELDS: Readonly<Record<string, string>> = {
  model: 'model',
  instanceType: 'instanceType',
  minCapacity: 'minCapacity',
  maxCapacity: 'maxCapacity',
};

/**
 * Kit settings that differ by account (or need a lookup in one), with the
 * parameter or org setting that replaces each in the org template.
 */
const ACCOUNT_SPECIFIC: Readonly<Record<string, (value: unknown) => string | undefined>> = {
  stackName: () => 'StackSets and Service Catalog name the stacks of the org template (StackSet-NAME-ID, SC-ACCOUNT-pp-ID); set stackSetName for the StackSet',
  account: () => 'the org template has no account: the StackSet deploys it to every account of organizationalUnitIds',
  region: () => 'the org template has no region: list the regions it is deployed to in regions',
  vpcId: () => 'the org template takes the VPC as its VpcId parameter (empty: a new VPC), per account; remove it here and pass VpcId and PrivateSubnetIds to the accounts that need it',
  privateSubnetIds: () => 'the org template takes the subnets as its PrivateSubnetIds parameter (two ids, comma-separated, with VpcId); remove it here',
  publicSubnetIds: () => 'the org template deploys an internal load balancer in the PrivateSubnetIds parameter\'s subnets; public subnets are not used',
  vpcCidr: () => undefined,
  maxAzs: (v) => (v === 2 ? undefined : 'the org template spans exactly two availability zones, matching the two subnets of its PrivateSubnetIds parameter; remove maxAzs or set it to 2'),
  internetFacing: (v) => (v === false ? undefined : 'an internet-facing endpoint needs an ACM certificate, which belongs to one account and region; the org template deploys internal endpoints (use the single-account stack for a public one)'),
  certificateArn: () => 'an ACM certificate belongs to one account and region, so it cannot be baked into a template for many; the org template deploys internal endpoints',
  domainName: () => 'domainName names the certificate\'s domain for an internal HTTPS endpoint, and the org template cannot carry a certificate (see certificateArn); it deploys internal HTTP endpoints',
  canaryUrl: () => 'canaryUrl is for internet-facing endpoints, which the org template does not deploy; its canary probes the internal load balancer',
  allowedCidrs: () => 'the org template takes the client range as its AllowedCidr parameter (empty: the new VPC\'s range), since an existing VPC\'s range differs by account; set an org-wide default in parameters.allowedCidr',
  alarmEmail: () => 'the org template takes the address as its AlarmEmail parameter (empty: no subscription); set an org-wide default in parameters.alarmEmail',
  model: () => 'the org template takes the model as its Model parameter; set its org-wide default in parameters.model',
  instanceType: () => 'the org template takes the instance type as its InstanceType parameter; set its org-wide default in parameters.instanceType',
  minCapacity: () => 'the org template takes it as its MinCapacity parameter; set its org-wide default in parameters.minCapacity',
  maxCapacity: () => 'the org template takes it as its MaxCapacity parameter; set its org-wide default in parameters.maxCapacity',
  amiId: () => 'an AMI id belongs to one region, and the org template serves every region: it takes the AMI from the SSM parameter its AmiParameter parameter names (AWS\'s public one by default); name a parameter of your own there to pin it',
  customModel: (v) => {
    const source = typeof v === 'object' && v !== null ? (v as Record<string, unknown>).source : undefined;
    return typeof source === 'string' && source.startsWith('s3://')
      ? 'an s3:// model file belongs to one account\'s bucket, which the other accounts\' instances cannot read; give an https:// URL, or pick a catalog model with the Model parameter'
      : undefined;
  },
};

function accountSpecificSettings(template: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [key, value] of Object.entries(template)) {
    const why = ACCOUNT_SPECIFIC[key]?.(value);
    if (why) {
      problems.push({ field: `template.${key}`, given: key === 'customModel' ? (value as Record<string, unknown>).source : value, expected: why });
    }
  }
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): ConfigProblem[] {
  const fieldPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const parent = fieldPath.join('.');
    return issue.keys.map((k) => ({
      field: parent ? `${parent}.${k}` : k,
      given: valueAt(input, [...fieldPath, k]),
      expected: unknownFieldHint(k, objectKeysAt(orgConfigSchema, fieldPath), parent),
    }));
  }
  const given = valueAt(input, fieldPath);
  const field = fieldPath.join('.') || '(file)';
  let expected: string;
  if (issue.code === 'invalid_type') {
    expected = given === undefined ? `required; expected ${issue.expected}` : `expected ${issue.expected}`;
  } else if (issue.code === 'invalid_value') {
    expected = `expected one of: ${issue.values.map(String).join(', ')}`;
  } else if (issue.code === 'too_small' || issue.code === 'too_big') {
    const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
    expected = `expected ${bound}${issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : ''}`;
  } else {
    expected = issue.message;
  }
  return [{ field, given, expected }];
}

function unknownFieldHint(key: string, allowed: readonly string[], parent: string): string {
  const near = closest(key, allowed);
  return `unknown field; allowed${parent ? ` in ${parent}` : ''}: ${allowed.join(', ')}${near ? `; did you mean "${near}"?` : ''}`;
}
