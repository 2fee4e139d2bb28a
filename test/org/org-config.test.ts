import * as path from 'node:path';
import { CATALOG_MODEL_IDS, DEFAULT_MODEL_ID } from '../../lib/catalogs/model-catalog';
import { ConfigError } from '../../lib/config/config-error';
import { CUSTOM_MODEL_ID, OrgConfigError, loadOrgConfig, parseOrgConfig } from '../../lib/org/org-config';
import { REPO_ROOT } from '../support/synth';
import * as fs from 'node:fs';
import { exampleOrgConfig, orgConfigFile } from './support/org-synth';

/** The problem for one field, or a failure naming the fields there were. */
function problemFor(config: unknown, field: string): { given?: unknown; expected: string; message: string } {
  try {
    parseOrgConfig(config, 'test.json', REPO_ROOT);
  } catch (e) {
    expect(e).toBeInstanceOf(OrgConfigError);
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as OrgConfigError;
    const problem = err.problems.find((p) => p.field === field);
    if (!problem) {
      throw new Error(`no problem for ${field}; got: ${err.message}`);
    }
    return { ...problem, message: err.message };
  }
  throw new Error('the configuration was accepted');
}

const withTemplate = (template: Record<string, unknown>) => ({ ...exampleOrgConfig(), template: { ...exampleOrgConfig().template, ...template } });
const withParameters = (parameters: Record<string, unknown>) => ({ ...exampleOrgConfig(), parameters: { ...exampleOrgConfig().parameters, ...parameters } });
const withFields = (fields: Record<string, unknown>) => ({ ...exampleOrgConfig(), ...fields });

test('the example config/org.json is valid, with the defaults filled in', () => {
  const org = loadOrgConfig({}, REPO_ROOT);
  expect(org.organizationId).toBe('o-exampleorg1');
  expect(org.homeRegion).toBe('us-east-1');
  expect(org.parameters).toMatchObject({ model: 'llama-3.2-3b-instruct-q4_k_m', instanceType: 'c7g.2xlarge', minCapacity: 1, maxCapacity: 3, capacityLimit: 20 });
  expect(org.models.map((m) => m.id)).toEqual(CATALOG_MODEL_IDS);
  expect(org.kit.network).toEqual({ kind: 'new', cidr: '10.64.0.0/16', maxAzs: 2, natGateways: 1 });
  expect(org.serviceCatalog.launchRoleName).toBe('GravitonLlmLaunchRole');
  // Defaults for everything the file leaves out.
  const minimal = parseOrgConfig({
    organizationId: 'o-exampleorg1', organizationalUnitIds: ['r-ab12'], administratorAccount: '444444444444', regions: ['eu-west-1'], assetBucketPrefix: 'my-org-assets',
  }, 'minimal.json', REPO_ROOT);
  expect(minimal).toMatchObject({
    stackSetName: 'graviton-llm', callAs: 'SELF', homeRegion: 'eu-west-1',
    operationPreferences: { regionConcurrencyType: 'PARALLEL', maxConcurrentPercentage: 25, failureTolerancePercentage: 0, concurrencyMode: 'SOFT_FAILURE_TOLERANCE' },
    parameters: { model: DEFAULT_MODEL_ID },
    serviceCatalog: { shareWithAccounts: [], principalArns: [] },
  });
});

test('-c orgConfig names another file; a missing one is an error naming the path', () => {
  const file = orgConfigFile({ ...exampleOrgConfig(), stackSetName: 'llm-endpoints' });
  expect(loadOrgConfig({ orgConfig: file }, REPO_ROOT).stackSetName).toBe('llm-endpoints');
  expect(() => loadOrgConfig({ orgConfig: 'config/nope.json' }, REPO_ROOT)).toThrow(/orgConfig: got "config\/nope.json"; expected a readable JSON file; .*nope\.json cannot be read/);
});

test('a key given more than once in the org file, at any depth, is refused with where each is; a byte-order mark is named', () => {
  const file = orgConfigFile({});
  const text = JSON.stringify(exampleOrgConfig(), null, 2)
    .replace('"assetBucketPrefix":', '"stackSetName": "a",\n  "stackSetName": "b",\n  "assetBucketPrefix":')
    .replace(/"template": \{/, '"template": {\n    "parallelSlots": 2,\n    "parallelSlots": 4,');
  fs.writeFileSync(file, text);
  let error: OrgConfigError | undefined;
  try {
    loadOrgConfig({ orgConfig: file }, REPO_ROOT);
  } catch (e) {
    error = e as OrgConfigError;
  }
  expect(error).toBeInstanceOf(OrgConfigError);
  expect(error!.problems.map((p) => p.field).sort()).toEqual(['stackSetName', 'template.parallelSlots']);
  expect(error!.message).toMatch(/^Invalid graviton-llm org configuration \(.*org\.json\):/);
  // The example sets both already: each is given three times.
  expect(error!.message).toMatch(/template\.parallelSlots: got \d+; the key is given 3 times in one object, at line \d+ column 5 \(2\) and at line \d+ column 5 \(4\) and at line \d+ column 5 \(\d+\)/);
  expect(error!.message).toMatch(/stackSetName: got "graviton-llm"; the key is given 3 times in one object, at line \d+ column 3 \("a"\) and at line \d+ column 3 \("b"\) and/);
  fs.writeFileSync(file, `\ufeff${JSON.stringify(exampleOrgConfig())}`);
  expect(() => loadOrgConfig({ orgConfig: file }, REPO_ROOT)).toThrow(/orgConfig: got ".*org\.json"; expected valid JSON: the text starts with a byte-order mark, \\ufeff \(U\+FEFF\)/);
});

test('an https custom model is a template setting: the Model parameter offers it as "custom"', () => {
  const org = parseOrgConfig(withTemplate({
    customModel: {
      source: 'https://models.example.com/tuned-3b-f16.gguf', sha256: 'a'.repeat(64), sizeBytes: 6_400_000_000,
      architecture: 'llama-3.2-3b', quantization: 'F16', quantizeTo: 'Q4_K_M',
    },
  }), 'test.json', REPO_ROOT);
  expect(org.models.map((m) => m.id)).toEqual([...CATALOG_MODEL_IDS, CUSTOM_MODEL_ID]);
  const custom = org.models.find((m) => m.id === CUSTOM_MODEL_ID)!;
  expect(custom.resolved.model.quantizeTo).toBe('Q4_K_M');
  // The parameter default stays the configured catalog model.
  expect(org.parameters.model).toBe('llama-3.2-3b-instruct-q4_k_m');
});

describe('per-account settings in the template are refused, naming the parameter that replaces them', () => {
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an existing VPC', { vpcId: 'vpc-0123456789abcdef0' }, 'template.vpcId', /takes the VPC as its VpcId parameter/],
    ['its subnets', { privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'] }, 'template.privateSubnetIds', /PrivateSubnetIds parameter/],
    ['public subnets', { publicSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'] }, 'template.publicSubnetIds', /internal load balancer/],
    ['a certificate', { certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012' }, 'template.certificateArn', /belongs to one account and region/],
    ['an internet-facing endpoint', { internetFacing: true }, 'template.internetFacing', /deploys internal endpoints/],
    ['a domain name', { domainName: 'llm.internal.example' }, 'template.domainName', /cannot carry a certificate/],
    ['a canary URL', { canaryUrl: 'https://llm.example.com' }, 'template.canaryUrl', /internet-facing/],
    ['an alarm address', { alarmEmail: 'oncall@example.com' }, 'template.alarmEmail', /AlarmEmail parameter.*parameters\.alarmEmail/],
    ['client ranges', { allowedCidrs: ['10.1.0.0/16'] }, 'template.allowedCidrs', /AllowedCidr parameter.*parameters\.allowedCidr/],
    ['an account', { account: '123456789012' }, 'template.account', /organizationalUnitIds/],
    ['a region', { region: 'eu-west-1' }, 'template.region', /list the regions .* in regions/],
    ['a stack name', { stackName: 'Llm' }, 'template.stackName', /stackSetName/],
    ['an s3:// model of one account', {
      customModel: { source: 's3://team-models/tuned.gguf', sha256: 'b'.repeat(64), sizeBytes: 2_000_000_000, architecture: 'llama-3.2-3b', quantization: 'Q4_0' },
    }, 'template.customModel', /belongs to one account.*https:\/\//],
    ['more than two AZs', { maxAzs: 3 }, 'template.maxAzs', /exactly two availability zones/],
    ['the model', { model: 'llama-3.2-1b-instruct-q4_0' }, 'template.model', /Model parameter; set its org-wide default in parameters\.model/],
    ['the instance type', { instanceType: 'c7g.xlarge' }, 'template.instanceType', /InstanceType parameter/],
    ['the capacity', { minCapacity: 2 }, 'template.minCapacity', /MinCapacity parameter/],
    ['an AMI id (of one region)', { amiId: 'ami-0123456789abcdef0' }, 'template.amiId', /belongs to one region.*AmiParameter/],
  ])('%s', (_, template, field, fragment) => {
    const problem = problemFor(withTemplate(template), field);
    expect(problem.expected).toMatch(fragment);
    expect(problem.message).toContain('Invalid graviton-llm org configuration (test.json):');
  });

  test('several at once are all reported', () => {
    try {
      parseOrgConfig(withTemplate({ vpcId: 'vpc-0123456789abcdef0', alarmEmail: 'a@b.co' }), 'test.json', REPO_ROOT);
      throw new Error('accepted');
    } catch (e) {
      expect((e as OrgConfigError).fields).toEqual(['template.vpcId', 'template.alarmEmail']);
    }
  });
});

describe('kit settings in the template are checked by the kit\'s own loader and checks', () => {
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an out-of-range value', { parallelSlots: 0 }, 'template.parallelSlots', /expected a whole number from 1 to 64/],
    ['a misspelt setting', { paralelSlots: 4 }, 'template.paralelSlots', /did you mean "parallelSlots"/],
    ['a context longer than the models', { contextTokensPerSlot: 200000 }, 'template.contextTokensPerSlot', /from 512 to 131072/],
    ['a root volume too small for some model', { rootVolumeGiB: 24 }, 'template.rootVolumeGiB', /expected at least \d+ GiB/],
  ])('%s', (_, template, field, fragment) => {
    expect(problemFor(withTemplate(template), field).expected).toMatch(fragment);
  });
});

describe('parameter defaults', () => {
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an x86 instance type', { instanceType: 'm5.large' }, 'parameters.instanceType', /not a Graviton/],
    ['a model that does not fit the default instance type', { model: 'llama-3.1-8b-instruct-q8_0', instanceType: 'c7g.large' }, 'parameters.instanceType', /needs .* GiB.*Sizes that fit/],
    ['an unknown model', { model: 'llama-4' }, 'parameters.model', /expected a catalog model id/],
    ['"custom" without a custom model', { model: 'custom' }, 'parameters.model', /template\.customModel, which is not set/],
    ['min above max', { minCapacity: 4, maxCapacity: 2 }, 'parameters.minCapacity', /at most parameters\.maxCapacity \(2\)/],
    ['max above the capacity limit', { maxCapacity: 30 }, 'parameters.maxCapacity', /at most parameters\.capacityLimit \(20\)/],
    ['a bad client range', { allowedCidr: '10.0.0.0' }, 'parameters.allowedCidr', /IPv4 CIDR/],
  ])('%s', (_, parameters, field, fragment) => {
    expect(problemFor(withParameters(parameters), field).expected).toMatch(fragment);
  });
});

describe('organization, rollout and catalog fields', () => {
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['a bad organization id', { organizationId: 'org-1' }, 'organizationId', /AWS Organizations id like o-/],
    ['a bad OU id', { organizationalUnitIds: ['ou-1'] }, 'organizationalUnitIds.0', /OU id like ou-ab12-cdef3456/],
    ['no OU', { organizationalUnitIds: [] }, 'organizationalUnitIds', /at least 1 entries/],
    ['a bad region', { regions: ['us-east'] }, 'regions.0', /region code like us-east-1/],
    ['a repeated region', { regions: ['us-east-1', 'us-east-1'] }, 'regions', /each region once/],
    ['a home region outside regions', { homeRegion: 'eu-central-1' }, 'homeRegion', /one of regions \(us-east-1, eu-west-1\)/],
    ['an asset bucket prefix S3 rejects', { assetBucketPrefix: 'My_Assets' }, 'assetBucketPrefix', /lowercase letters, digits and hyphens/],
    ['an asset bucket prefix too long for the regions', { assetBucketPrefix: 'a'.repeat(55) }, 'assetBucketPrefix', /at most 53 characters/],
    ['a bad callAs', { callAs: 'ADMIN' }, 'callAs', /expected one of: SELF, DELEGATED_ADMIN/],
    ['a bad concurrency', { operationPreferences: { maxConcurrentPercentage: 0 } }, 'operationPreferences.maxConcurrentPercentage', /at least 1/],
    ['a bad share', { serviceCatalog: { shareWithAccounts: ['1234'] } }, 'serviceCatalog.shareWithAccounts.0', /12-digit AWS account id/],
    ['a bad principal', { serviceCatalog: { principalArns: ['Developer'] } }, 'serviceCatalog.principalArns.0', /IAM role, user or group ARN/],
    ['an unknown field', { stacksetName: 'x' }, 'stacksetName', /unknown field; allowed: organizationId, .*stackSetName/],
    ['an unknown nested field', { serviceCatalog: { portfolio: 'x' } }, 'serviceCatalog.portfolio', /unknown field; allowed in serviceCatalog: portfolioName/],
    ['a missing field', { organizationId: undefined }, 'organizationId', /required; expected string/],
    ['no administrator account', { administratorAccount: undefined }, 'administratorAccount', /required; expected string/],
    ['a bad administrator account', { administratorAccount: '4444' }, 'administratorAccount', /12-digit AWS account id/],
  ])('%s', (_, fields, field, fragment) => {
    const problem = problemFor(withFields(fields), field);
    expect(problem.expected).toMatch(fragment);
    expect(problem.message).toContain(`${field}: `);
  });
});

test('the file is named in the message', () => {
  const file = orgConfigFile({ ...exampleOrgConfig(), callAs: 'ME' });
  expect(() => loadOrgConfig({ orgConfig: file }, REPO_ROOT)).toThrow(new RegExp(`Invalid graviton-llm org configuration \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\):\\n  - callAs: got "ME"`));
  expect(path.isAbsolute(file)).toBe(true);
});
