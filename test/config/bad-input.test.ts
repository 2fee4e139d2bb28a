import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../lib/config/config-error';
import { loadConfig } from '../../lib/config/load';
import { resolveConfig } from '../../lib/config/resolve';
import { settingsProps } from '../../lib/config/endpoint-props';

const SHA = 'a'.repeat(64);
const CUSTOM = { source: 's3://my-models/tuned.gguf', sha256: SHA, sizeBytes: 2_000_000_000, architecture: 'llama-3.2-3b', quantization: 'Q4_0' };
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

/** Runs the whole configuration path a synth runs, and returns the ConfigError it must throw. */
function configErrorFor(context: Record<string, unknown>): ConfigError {
  try {
    resolveConfig(loadConfig(context));
  } catch (e) {
    if (e instanceof ConfigError) {
      return e;
    }
    throw e;
  }
  throw new Error(`configuration was accepted: ${JSON.stringify(context)}`);
}

interface BadCase {
  readonly name: string;
  /** Context as `-c key=value` gives it (strings) or as cdk.json gives it (typed). */
  readonly context: Record<string, unknown>;
  readonly field: string;
  /** A fragment the message must contain: the value given or the allowed values. */
  readonly says: string;
}

const CASES: BadCase[] = [
  { name: 'x86 instance type', context: { instanceType: 'm5.large' }, field: 'instanceType', says: 'm7g.large' },
  { name: 'x86 compute type', context: { instanceType: 'c5.2xlarge' }, field: 'instanceType', says: 'c7g.2xlarge' },
  { name: 'AMD type', context: { instanceType: 'r6a.xlarge' }, field: 'instanceType', says: 'not a Graviton (Arm) family' },
  { name: 'GPU type', context: { instanceType: 'g5.xlarge' }, field: 'instanceType', says: 'nearest Graviton types' },
  { name: 'first-generation Graviton', context: { instanceType: 'a1.large' }, field: 'instanceType', says: 'dotprod' },
  { name: 'unknown size of a Graviton family', context: { instanceType: 'c7g.3xlarge' }, field: 'instanceType', says: 'its sizes are' },
  { name: 'unknown Graviton-looking family', context: { instanceType: 'c9x.large' }, field: 'instanceType', says: 'c9x' },
  { name: 'not an instance type at all', context: { instanceType: 'big' }, field: 'instanceType', says: 'FAMILY.SIZE' },
  { name: 'min above max', context: { minCapacity: '4', maxCapacity: '2' }, field: 'minCapacity', says: 'maxCapacity (2)' },
  { name: 'zero capacity', context: { minCapacity: '0' }, field: 'minCapacity', says: 'from 1 to 100' },
  { name: 'zero max capacity', context: { maxCapacity: 0 }, field: 'maxCapacity', says: 'from 1 to 100' },
  { name: 'fractional capacity', context: { maxCapacity: '2.5' }, field: 'maxCapacity', says: 'whole number' },
  { name: 'capacity not a number', context: { minCapacity: 'two' }, field: 'minCapacity', says: '"two"' },
  { name: 'model too big for the instance', context: { instanceType: 'c7g.large', model: 'llama-3.1-8b-instruct-q8_0' }, field: 'instanceType', says: 'Sizes that fit' },
  { name: 'model too big for the instance: the prompt cache is not what is missing', context: { instanceType: 'c7g.large', model: 'llama-3.1-8b-instruct-q8_0' }, field: 'instanceType', says: 'RAM prompt cache (--cache-ram) is not in this need: it is sized from what the need leaves, up to 8192 MiB' },
  { name: 'too many slots for the instance', context: { instanceType: 'c7g.xlarge', parallelSlots: '32', contextTokensPerSlot: '16384' }, field: 'instanceType', says: 'KV cache' },
  { name: 'unknown catalog model', context: { model: 'llama-4-400b' }, field: 'model', says: 'llama-3.2-1b-instruct-q4_0' },
  { name: 'model and customModel together', context: { model: 'llama-3.2-1b-instruct-q4_0', customModel: JSON.stringify(CUSTOM) }, field: 'customModel', says: 'not both' },
  { name: 'custom model without sha256', context: { 'graviton-llm': { customModel: { ...CUSTOM, sha256: undefined } } }, field: 'customModel.sha256', says: 'required' },
  { name: 'custom model with malformed sha256', context: { 'graviton-llm': { customModel: { ...CUSTOM, sha256: 'abc123' } } }, field: 'customModel.sha256', says: '64 lowercase hexadecimal' },
  { name: 'custom model with uppercase sha256', context: { 'customModel.sha256': 'A'.repeat(64), 'customModel.source': CUSTOM.source, 'customModel.sizeBytes': '1000', 'customModel.architecture': 'llama-3.2-1b', 'customModel.quantization': 'Q4_0' }, field: 'customModel.sha256', says: 'lowercase' },
  { name: 'custom model over plain http', context: { 'graviton-llm': { customModel: { ...CUSTOM, source: 'http://example.com/m.gguf' } } }, field: 'customModel.source', says: 'https://' },
  { name: 'custom model on a port other than 443', context: { 'graviton-llm': { customModel: { ...CUSTOM, source: 'https://models.example.com:8443/m.gguf' } } }, field: 'customModel.source', says: 'port 443' },
  { name: 'custom model from ftp', context: { 'graviton-llm': { customModel: { ...CUSTOM, source: 'ftp://example.com/m.gguf' } } }, field: 'customModel.source', says: 's3://BUCKET/KEY' },
  { name: 'custom model with unknown architecture', context: { 'graviton-llm': { customModel: { ...CUSTOM, architecture: 'mistral-7b' } } }, field: 'customModel.architecture', says: 'llama-3.1-8b' },
  { name: 'custom model quantizeTo from a non-F16 file', context: { 'graviton-llm': { customModel: { ...CUSTOM, quantizeTo: 'Q4_0' } } }, field: 'customModel.quantizeTo', says: 'F16 source' },
  { name: 'unknown key inside customModel', context: { 'graviton-llm': { customModel: { ...CUSTOM, checksum: SHA } } }, field: 'customModel.checksum', says: 'Allowed fields' },
  { name: 'bad VPC CIDR', context: { vpcCidr: '10.0.0.0/33' }, field: 'vpcCidr', says: '10.0.0.0/33' },
  { name: 'VPC CIDR that is not an address', context: { vpcCidr: 'my-network' }, field: 'vpcCidr', says: 'IPv4 CIDR' },
  { name: 'bad client CIDR in a list', context: { allowedCidrs: '10.0.0.0/8,300.1.1.1/32' }, field: 'allowedCidrs.1', says: '300.1.1.1/32' },
  { name: 'public endpoint without certificate', context: { internetFacing: 'true', allowedCidrs: '0.0.0.0/0' }, field: 'certificateArn', says: 'HTTPS' },
  { name: 'public endpoint without client ranges', context: { internetFacing: 'true', certificateArn: CERT }, field: 'allowedCidrs', says: 'required when internetFacing' },
  { name: 'malformed certificate ARN', context: { certificateArn: 'my-cert' }, field: 'certificateArn', says: 'ACM certificate ARN' },
  { name: 'internal endpoint with a certificate but no domain name', context: { certificateArn: CERT }, field: 'domainName', says: 'required with certificateArn on an internal endpoint' },
  { name: 'domain name without a certificate', context: { domainName: 'llm.internal.example' }, field: 'domainName', says: 'applies only with certificateArn' },
  { name: 'domain name on an internet-facing endpoint', context: { internetFacing: 'true', certificateArn: CERT, allowedCidrs: '0.0.0.0/0', domainName: 'llm.example.com' }, field: 'domainName', says: 'applies only to an internal endpoint (internetFacing false)' },
  { name: 'domain name with a scheme', context: { certificateArn: CERT, domainName: 'https://llm.internal.example' }, field: 'domainName', says: 'no scheme, port or path' },
  { name: 'certificate in another region than the configured one', context: { region: 'eu-west-1', certificateArn: CERT, domainName: 'llm.internal.example' }, field: 'certificateArn', says: 'expected a certificate in eu-west-1, the region the stack deploys to (the region field), but this one is in us-east-1' },
  { name: 'internetFacing not a boolean', context: { internetFacing: 'yes' }, field: 'internetFacing', says: 'boolean' },
  { name: 'VPC id and VPC CIDR together', context: { vpcId: 'vpc-0123456789abcdef0', vpcCidr: '10.1.0.0/16' }, field: 'vpcCidr', says: 'existing one' },
  { name: 'VPC id and AZ count together', context: { vpcId: 'vpc-0123456789abcdef0', maxAzs: '3' }, field: 'maxAzs', says: 'remove maxAzs or vpcId' },
  { name: 'VPC id without subnets', context: { vpcId: 'vpc-0123456789abcdef0', allowedCidrs: '10.0.0.0/8' }, field: 'privateSubnetIds', says: 'at least two private subnets' },
  { name: 'VPC id without subnets: they must route to the internet', context: { vpcId: 'vpc-0123456789abcdef0', allowedCidrs: '10.0.0.0/8' }, field: 'privateSubnetIds', says: 'route to the internet' },
  { name: 'VPC id without client ranges', context: { vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2' }, field: 'allowedCidrs', says: 'required with vpcId' },
  { name: 'public VPC endpoint in an existing VPC without public subnets', context: { vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2', allowedCidrs: '0.0.0.0/0', internetFacing: 'true', certificateArn: CERT }, field: 'publicSubnetIds', says: 'public subnets' },
  { name: 'one subnet only', context: { vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1', allowedCidrs: '10.0.0.0/8' }, field: 'privateSubnetIds', says: 'at least 2' },
  { name: 'malformed subnet id', context: { vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: 'subnet-1,subnet-0aaaaaaaaaaaaaaa2', allowedCidrs: '10.0.0.0/8' }, field: 'privateSubnetIds.0', says: 'subnet-0123456789abcdef0' },
  { name: 'subnets without a VPC id', context: { privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2' }, field: 'privateSubnetIds', says: 'only with vpcId' },
  { name: 'VPC range too small to split', context: { vpcCidr: '10.0.0.0/26' }, field: 'vpcCidr', says: '/16 to /22' },
  { name: 'schedule with min above max', context: { 'graviton-llm': { scheduledCapacity: [{ name: 'night', cron: '0 22 * * *', minCapacity: 3, maxCapacity: 1 }] } }, field: 'scheduledCapacity.0.minCapacity', says: 'maxCapacity (1)' },
  { name: 'schedule with a six-field cron', context: { 'graviton-llm': { scheduledCapacity: [{ name: 'night', cron: '0 0 22 * * *', minCapacity: 1, maxCapacity: 1 }] } }, field: 'scheduledCapacity.0.cron', says: 'five-field cron' },
  { name: 'two schedules with one name', context: { 'graviton-llm': { scheduledCapacity: [{ name: 'a', cron: '0 8 * * *', minCapacity: 1, maxCapacity: 2 }, { name: 'a', cron: '0 20 * * *', minCapacity: 1, maxCapacity: 1 }] } }, field: 'scheduledCapacity', says: 'own name' },
  { name: 'warm pool larger than the fleet can grow', context: { warmPoolSize: '5', maxCapacity: '3' }, field: 'warmPoolSize', says: 'maxCapacity (3)' },
  { name: 'alarm e-mail that is not an address', context: { alarmEmail: 'oncall' }, field: 'alarmEmail', says: 'e-mail address' },
  { name: 'canary URL over plain HTTP', context: { canaryUrl: 'http://llm.example.com' }, field: 'canaryUrl', says: 'https://HOST' },
  { name: 'TPOT alarm of zero', context: { tpotP90AlarmMs: '0' }, field: 'tpotP90AlarmMs', says: 'from 10 to 10000' },
  { name: 'utilization target above 100%', context: { targetSlotUtilizationPercent: '150' }, field: 'targetSlotUtilizationPercent', says: 'from 10 to 100' },
  { name: 'malformed VPC id', context: { vpcId: 'default' }, field: 'vpcId', says: 'vpc-0123456789abcdef0' },
  { name: 'more NAT gateways than AZs', context: { maxAzs: '2', natGateways: '3' }, field: 'natGateways', says: 'maxAzs (2)' },
  { name: 'one availability zone', context: { maxAzs: '1' }, field: 'maxAzs', says: 'from 2 to 6' },
  { name: 'negative context', context: { contextTokensPerSlot: '-4096' }, field: 'contextTokensPerSlot', says: 'from 512 to 131072' },
  { name: 'absurd context', context: { contextTokensPerSlot: '10000000' }, field: 'contextTokensPerSlot', says: 'from 512 to 131072' },
  { name: 'zero slots', context: { parallelSlots: '0' }, field: 'parallelSlots', says: 'from 1 to 64' },
  { name: 'privileged port', context: { port: '80' }, field: 'port', says: 'from 1024 to 65535' },
  { name: 'idle timeout above the ALB maximum', context: { loadBalancerIdleTimeoutSeconds: '5000' }, field: 'loadBalancerIdleTimeoutSeconds', says: 'from 60 to 4000' },
  { name: 'log retention CloudWatch does not offer', context: { logRetentionDays: '10' }, field: 'logRetentionDays', says: '14' },
  { name: 'root volume too small for the model', context: { rootVolumeGiB: '21' }, field: 'rootVolumeGiB', says: 'at least' },
  { name: 'gp3 throughput above its maximum', context: { rootVolumeThroughputMiBps: '2000' }, field: 'rootVolumeThroughputMiBps', says: 'from 125 to 1000' },
  { name: 'boot timeout too short for a first build', context: { bootTimeoutMinutes: '5' }, field: 'bootTimeoutMinutes', says: 'from 10 to 120' },
  { name: 'malformed llama.cpp ref', context: { llamaCppRef: 'master' }, field: 'llamaCppRef', says: 'release tag' },
  { name: 'a tag whose commit the kit does not know', context: { llamaCppRef: 'b6500' }, field: 'llamaCppCommit', says: 'required with llamaCppRef b6500' },
  { name: 'a commit that is not the known tag\'s', context: { llamaCppCommit: 'f'.repeat(40) }, field: 'llamaCppCommit', says: 'the commit of llamaCppRef v0.5.0' },
  { name: 'a short commit', context: { llamaCppRef: 'b6500', llamaCppCommit: 'de3ff81' }, field: 'llamaCppCommit', says: '40-character commit' },
  { name: 'API key parameter without leading slash', context: { apiKeyParameterName: 'my-key' }, field: 'apiKeyParameterName', says: 'starting with /' },
  { name: 'bad stack name', context: { stackName: '1-stack' }, field: 'stackName', says: 'CloudFormation stack name' },
  { name: 'bad region', context: { region: 'mars-1' }, field: 'region', says: 'us-east-1' },
  { name: 'AMI id of the wrong form', context: { amiId: 'ami-12345', region: 'us-east-1' }, field: 'amiId', says: 'ami-0123456789abcdef0' },
  { name: 'AMI name instead of id', context: { amiId: 'al2023-ami-kernel-6.1-arm64', region: 'us-east-1' }, field: 'amiId', says: '"al2023-ami-kernel-6.1-arm64"' },
  { name: 'AMI id without its region', context: { amiId: 'ami-0123456789abcdef0' }, field: 'region', says: 'required with amiId' },
  { name: 'misspelt key on the command line', context: { instnaceType: 'c7g.large' }, field: 'instnaceType', says: 'did you mean "instanceType"' },
  { name: 'unknown key in cdk.json', context: { 'graviton-llm': { modelId: 'x' } }, field: 'modelId', says: 'Allowed fields' },
  { name: 'nested key of a scalar field', context: { 'minCapacity.value': '1' }, field: 'minCapacity.value', says: 'unknown configuration field' },
  { name: 'cdk.json config that is not an object', context: { 'graviton-llm': 'c7g.large' }, field: 'graviton-llm', says: 'object' },
  { name: 'missing config file', context: { config: 'config/does-not-exist.json' }, field: 'config', says: 'cannot be read' },
  { name: 'an additional type that is not Graviton, on the command line', context: { additionalInstanceTypes: 'm7g.2xlarge,m5.2xlarge' }, field: 'additionalInstanceTypes.1', says: 'm5.2xlarge' },
  { name: 'an additional type that repeats instanceType', context: { 'graviton-llm': { instanceType: 'c7g.2xlarge', additionalInstanceTypes: ['c7g.2xlarge'] } }, field: 'additionalInstanceTypes.0', says: 'instanceType is already the group\'s first type' },
  { name: 'an additional type the model does not fit', context: { model: 'llama-3.1-8b-instruct-q8_0', instanceType: 'm7g.2xlarge', additionalInstanceTypes: 'c7g.large' }, field: 'additionalInstanceTypes.0', says: 'but c7g.large has 4 GiB' },
  { name: 'an unknown purchase option', context: { purchaseOption: 'Spot' }, field: 'purchaseOption', says: '\'on-demand\' or \'spot\'' },
  { name: 'an on-demand base without Spot', context: { onDemandBaseCapacity: '1' }, field: 'onDemandBaseCapacity', says: 'applies only with purchaseOption \'spot\'' },
  { name: 'a percentage above 100', context: { purchaseOption: 'spot', onDemandPercentageAboveBaseCapacity: '150' }, field: 'onDemandPercentageAboveBaseCapacity', says: 'from 0 to 100' },
  { name: 'a warm pool with Spot', context: { purchaseOption: 'spot', warmPoolSize: '1' }, field: 'warmPoolSize', says: 'AWS does not support a warm pool on an Auto Scaling group with a mixed instances policy or Spot Instances' },
  { name: 'a deregistration delay longer than a Spot drain', context: { purchaseOption: 'spot', deregistrationDelaySeconds: '600' }, field: 'deregistrationDelaySeconds', says: 'got 600; expected at most 90 seconds with purchaseOption \'spot\'' },
  { name: 'a warm pool with several types', context: { additionalInstanceTypes: 'm7g.2xlarge', warmPoolSize: '1' }, field: 'warmPoolSize', says: 'Choose a warm pool (one instance type, on demand' },
  { name: 'context above every model\'s training length, in cdk.json', context: { 'graviton-llm': { contextTokensPerSlot: 200000 } }, field: 'contextTokensPerSlot', says: '200000' },
];

describe('invalid configurations fail with the field, the value and what is allowed', () => {
  test('the table covers at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  test.each(CASES)('$name → $field', ({ context, field, says }) => {
    const error = configErrorFor(context);
    expect(error.fields).toContain(field);
    const line = error.message.split('\n').find((l) => l.includes(`- ${field}:`));
    expect(line).toBeDefined();
    expect(line).toContain(says);
  });
});

test('every problem is reported at once, one line each', () => {
  // Every value's problem at once: the instance type's, a range's, a shape's (each the construct's own check).
  const error = configErrorFor({ instanceType: 'm5.large', minCapacity: '0', vpcCidr: 'x' });
  expect(error.fields.sort()).toEqual(['instanceType', 'minCapacity', 'vpcCidr']);
  const second = configErrorFor({ instanceType: 'm5.large', minCapacity: '5', maxCapacity: '2' });
  expect(second.fields.sort()).toEqual(['instanceType', 'minCapacity']);
  expect(second.message.split('\n')).toHaveLength(3);
  // The JSON types come first (the schema's): values are judged once every field has its type.
  const typed = configErrorFor({ maxCapacity: 'many', minCapacity: '0' });
  expect(typed.fields).toEqual(['maxCapacity']);
});

test('the endpoint\'s own checks, run on a configuration: each problem once, named with the flag it came from', () => {
  // An existing VPC that is internet-facing, without client ranges: one problem, not one per reason.
  const vpc = configErrorFor({
    vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2', publicSubnetIds: 'subnet-0aaaaaaaaaaaaaaa3,subnet-0aaaaaaaaaaaaaaa4',
    internetFacing: 'true', certificateArn: CERT,
  });
  expect(vpc.message).toBe('Invalid graviton-llm configuration:\n  - allowedCidrs: nothing was given; required with vpcId (vpc-0123456789abcdef0): '
    + 'the client ranges the load balancer admits (the endpoint does not read an existing VPC\'s range: synth stays offline)');
  const internal = configErrorFor({ allowedCidrs: '0.0.0.0/0', canaryUrl: 'https://llm.example.com' });
  expect(internal.problems).toEqual([
    expect.objectContaining({ field: 'allowedCidrs', given: '0.0.0.0/0', source: '-c allowedCidrs' }),
    expect.objectContaining({ field: 'canaryUrl', source: '-c canaryUrl' }),
  ]);
});

test('Spot over several types of one generation: accepted, as the endpoint\'s props', () => {
  const resolved = resolveConfig(loadConfig({ additionalInstanceTypes: 'm7g.2xlarge,r7g.xlarge', purchaseOption: 'spot', onDemandBaseCapacity: '1', onDemandPercentageAboveBaseCapacity: '20' }));
  expect(resolved.additionalInstances.map((i) => i.instanceType)).toEqual(['m7g.2xlarge', 'r7g.xlarge']);
  expect(resolved).toMatchObject({ purchaseOption: 'spot', onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 20 });
  expect(resolved).not.toHaveProperty('additionalInstanceTypes');
  expect(resolveConfig(loadConfig({})).additionalInstances).toEqual([]);
});

test('types of several generations: accepted (one build and one builder per generation)', () => {
  const resolved = resolveConfig(loadConfig({ instanceType: 'c7g.2xlarge', additionalInstanceTypes: 'c8g.2xlarge', purchaseOption: 'spot' }));
  expect(resolved.additionalInstances.map((i) => [i.instanceType, i.generationSpec.generation])).toEqual([['c8g.2xlarge', 4]]);
});

test('deregistrationDelaySeconds unset is not given: the endpoint chooses (600 on demand, 90 on Spot); a value given is passed on', () => {
  expect(loadConfig({}).deregistrationDelaySeconds).toBeUndefined();
  expect(settingsProps(resolveConfig(loadConfig({ purchaseOption: 'spot' }))).deregistrationDelay).toBeUndefined();
  expect(settingsProps(resolveConfig(loadConfig({}))).deregistrationDelay).toBeUndefined();
  expect(settingsProps(resolveConfig(loadConfig({ purchaseOption: 'spot', deregistrationDelaySeconds: '60' }))).deregistrationDelay?.toSeconds()).toBe(60);
  expect(settingsProps(resolveConfig(loadConfig({ deregistrationDelaySeconds: '900' }))).deregistrationDelay?.toSeconds()).toBe(900);
});

test('an unreadable config file is named with its resolved path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-cfg-'));
  fs.writeFileSync(path.join(dir, 'broken.json'), '{ "instanceType": ');
  try {
    loadConfig({ config: 'broken.json' }, dir);
    throw new Error('accepted');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toContain('config: got "broken.json"; expected valid JSON');
  }
});
