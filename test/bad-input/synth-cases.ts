import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppMode } from '../../lib/app/mode-context';
import { REPO_ROOT } from '../support/synth';

/**
 * Bad inputs to `cdk synth`, in every mode and every configuration file: each
 * must end with exit code 1, no stack trace, and a message with the words
 * that name the field (and the file it came from).
 */
export interface SynthCase {
  readonly name: string;
  /** `-c mode=...`; none for the default (environment) mode. */
  readonly mode?: AppMode;
  /** `-c KEY=VALUE`, as the CLI passes them: strings. */
  readonly c?: Readonly<Record<string, string>>;
  /** Keys added to cdk.json's context (the CLI merges them into the app's context too). */
  readonly cdkJson?: Readonly<Record<string, unknown>>;
  /** Files written into the app's directory, over the repository's config/: a JSON value, or raw text. */
  readonly files?: Readonly<Record<string, unknown>>;
  /** Where the bad value is: for the table's coverage count. */
  readonly where: InputPlace;
  /** Which issue-12 class the case belongs to. */
  readonly issueClass: 1 | 2 | 3 | 4 | 5;
  /** Fragments the error must contain: the field, and the value, the file or what is allowed. */
  readonly says: readonly string[];
}

export type InputPlace = 'command line' | 'cdk.json' | 'environment file' | 'config file' | 'pipeline.json' | 'org.json';

const json = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'));
const DEV = 'config/environments/dev.json';
const dev = (patch: Record<string, unknown>) => ({ [DEV]: { ...json(DEV), ...patch } });
const PIPELINE = 'config/pipeline.json';
const pipeline = (patch: Record<string, unknown>) => ({ [PIPELINE]: { ...json(PIPELINE), ...patch } });
const ORG = 'config/org.json';
const org = (patch: Record<string, unknown>) => ({ [ORG]: { ...json(ORG), ...patch } });
const orgTemplate = (patch: Record<string, unknown>) => org({ template: { ...(json(ORG).template as object), ...patch } });
const SETTINGS = 'settings.json';
const settings = (value: unknown) => ({ [SETTINGS]: value });

/**
 * A file's JSON as text, with `key` given twice: first (line 2, column 3) and
 * last, so that JSON.parse alone would keep `last` without a word.
 */
const twice = (value: Record<string, unknown>, key: string, first: unknown, last: unknown): string => {
  const { [key]: _, ...rest } = value;
  const members = JSON.stringify(rest, null, 2).slice(1, -2);
  return `{\n  ${JSON.stringify(key)}: ${JSON.stringify(first)},${members},\n  ${JSON.stringify(key)}: ${JSON.stringify(last)}\n}\n`;
};
/** A byte-order mark, then the file's JSON: what some Windows editors and PowerShell's Set-Content -Encoding UTF8 write. */
const withBom = (value: unknown): string => `\ufeff${JSON.stringify(value, null, 2)}\n`;

const SHA = 'a'.repeat(64);
const CUSTOM_8B = { source: 's3://my-models/tuned-8b.gguf', sha256: SHA, sizeBytes: 4_900_000_000, architecture: 'llama-3.1-8b', quantization: 'Q4_K_M' };
const CERT_USE1 = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const NIGHT = { name: 'night', cron: '0 22 * * *', minCapacity: 1, maxCapacity: 1 };
const OIDC = { githubRepository: 'example-org/graviton-llm' };

export const SYNTH_CASES: readonly SynthCase[] = [
  // ---- environment mode, command line ----
  { name: 'misspelt field', where: 'command line', issueClass: 1, c: { instnaceType: 'c7g.large' }, says: ['instnaceType', 'did you mean "instanceType"'] },
  { name: 'misspelt capacity', where: 'command line', issueClass: 1, c: { maxCapcity: '5' }, says: ['maxCapcity', 'did you mean "maxCapacity"'] },
  { name: 'a pipeline key', where: 'command line', issueClass: 1, c: { pipelineConfig: 'config/pipeline.json' }, says: ['pipelineConfig', 'not read in environment mode', '-c mode=pipeline'] },
  { name: 'an org key', where: 'command line', issueClass: 1, c: { orgConfig: 'config/org.json' }, says: ['orgConfig', '-c mode=org'] },
  { name: 'a GitHub OIDC key', where: 'command line', issueClass: 1, c: { githubRepository: 'a/b' }, says: ['githubRepository', '-c mode=github-oidc'] },
  { name: 'a GitHub OIDC key misspelt', where: 'command line', issueClass: 1, c: { githubRepositry: 'a/b' }, says: ['githubRepositry', 'did you mean "githubRepository"', 'github-oidc mode'] },
  { name: 'graviton_llm on the command line', where: 'command line', issueClass: 4, c: { graviton_llm: '{}' }, says: ['graviton_llm', 'did you mean "graviton-llm"'] },
  { name: 'misspelt mode', where: 'command line', issueClass: 1, c: { mode: 'pipelines' }, says: ['mode: got "pipelines"', 'did you mean "pipeline"'] },
  { name: 'mode in capitals', where: 'command line', issueClass: 5, c: { mode: 'Pipeline' }, says: ['mode: got "Pipeline"', 'did you mean "pipeline"'] },
  { name: 'unknown environment', where: 'command line', issueClass: 5, c: { env: 'prd' }, says: ['env: got "prd"', 'did you mean "prod"'] },
  { name: 'environment name with capitals', where: 'command line', issueClass: 5, c: { env: 'Prod' }, says: ['env: got "Prod"', 'lowercase'] },
  { name: 'missing config file', where: 'command line', issueClass: 5, c: { config: 'missing.json' }, says: ['config: got "missing.json"', 'cannot be read'] },
  { name: 'instance type in capitals', where: 'command line', issueClass: 5, c: { instanceType: 'C7G.2XLARGE' }, says: ['instanceType: got "C7G.2XLARGE"', 'lowercase', '"c7g.2xlarge"'] },
  { name: 'instance type with a trailing space', where: 'command line', issueClass: 5, c: { instanceType: 'c7g.2xlarge ' }, says: ['instanceType', 'without spaces', '"c7g.2xlarge"'] },
  { name: 'x86 instance type in capitals', where: 'command line', issueClass: 5, c: { instanceType: 'M5.LARGE' }, says: ['instanceType', 'lowercase', 'not a Graviton'] },
  { name: 'x86 instance type', where: 'command line', issueClass: 5, c: { instanceType: 'c7i.2xlarge' }, says: ['instanceType: got "c7i.2xlarge"', 'Graviton'] },
  { name: 'VPC CIDR with host bits', where: 'command line', issueClass: 3, c: { vpcCidr: '10.64.0.1/16' }, says: ['vpcCidr: got "10.64.0.1/16"', 'network address', '10.64.0.0/16'] },
  { name: 'VPC CIDR with host bits in a /20', where: 'command line', issueClass: 3, c: { vpcCidr: '172.16.20.0/20' }, says: ['vpcCidr', '172.16.16.0/20'] },
  { name: 'client CIDR with host bits', where: 'command line', issueClass: 3, c: { allowedCidrs: '10.0.0.0/8,192.168.1.1/24' }, says: ['allowedCidrs.1: got "192.168.1.1/24"', '192.168.1.0/24'] },
  { name: 'everyone on an internal endpoint', where: 'command line', issueClass: 5, c: { allowedCidrs: '0.0.0.0/0' }, says: ['allowedCidrs: got "0.0.0.0/0"', 'internal load balancer', 'AwsSolutions-EC23'] },
  { name: 'canary URL on an internal endpoint', where: 'command line', issueClass: 4, c: { canaryUrl: 'https://llm.example.com' }, says: ['canaryUrl: got "https://llm.example.com"', 'internet-facing'] },
  { name: 'certificate without internetFacing or domain', where: 'command line', issueClass: 4, c: { certificateArn: CERT_USE1 }, says: ['domainName', 'required with certificateArn on an internal endpoint'] },
  { name: 'certificate of another region', where: 'command line', issueClass: 3, c: { region: 'eu-west-1', certificateArn: CERT_USE1, domainName: 'llm.internal.example' }, says: ['certificateArn', 'eu-west-1', 'us-east-1'] },
  { name: 'internet-facing without certificate', where: 'command line', issueClass: 5, c: { internetFacing: 'true', allowedCidrs: '0.0.0.0/0' }, says: ['certificateArn', 'required when internetFacing'] },
  { name: 'internetFacing not a boolean', where: 'command line', issueClass: 5, c: { internetFacing: 'yes' }, says: ['internetFacing: got "yes"', 'boolean'] },
  { name: 'zero capacity', where: 'command line', issueClass: 5, c: { minCapacity: '0' }, says: ['minCapacity: got 0', 'from 1 to 100', '(from -c minCapacity)'] },
  { name: 'capacity as a word', where: 'command line', issueClass: 5, c: { maxCapacity: 'six' }, says: ['maxCapacity: got "six"', 'whole number'] },
  { name: 'min above max', where: 'command line', issueClass: 5, c: { minCapacity: '5', maxCapacity: '2' }, says: ['minCapacity: got 5', 'maxCapacity (2)'] },
  { name: 'privileged port', where: 'command line', issueClass: 5, c: { port: '80' }, says: ['port: got 80', 'from 1024 to 65535'] },
  { name: 'log retention CloudWatch lacks', where: 'command line', issueClass: 5, c: { logRetentionDays: '10' }, says: ['logRetentionDays: got 10', 'retention periods'] },
  { name: 'malformed AMI id', where: 'command line', issueClass: 5, c: { amiId: 'ami-123', region: 'us-east-1' }, says: ['amiId: got "ami-123"', 'ami-0123456789abcdef0'] },
  { name: 'AMI without region', where: 'command line', issueClass: 5, c: { amiId: 'ami-0123456789abcdef0' }, says: ['region', 'required with amiId'] },
  { name: 'bad region', where: 'command line', issueClass: 5, c: { region: 'mars-1' }, says: ['region: got "mars-1"', 'us-east-1'] },
  { name: 'bad stack name', where: 'command line', issueClass: 5, c: { stackName: '1stack' }, says: ['stackName: got "1stack"', 'CloudFormation stack name'] },
  { name: 'context above training length', where: 'command line', issueClass: 5, c: { contextTokensPerSlot: '200000' }, says: ['contextTokensPerSlot: got 200000', 'from 512 to 131072'] },
  { name: 'floating llama.cpp branch', where: 'command line', issueClass: 5, c: { llamaCppRef: 'master' }, says: ['llamaCppRef: got "master"', 'release tag'] },
  { name: 'alarm e-mail without @', where: 'command line', issueClass: 5, c: { alarmEmail: 'oncall' }, says: ['alarmEmail: got "oncall"', 'e-mail address'] },
  { name: 'more NAT gateways than AZs', where: 'command line', issueClass: 5, c: { natGateways: '3' }, says: ['natGateways: got 3', 'maxAzs (2)'] },
  { name: 'existing VPC with a CIDR', where: 'command line', issueClass: 5, c: { vpcId: 'vpc-0123456789abcdef0', vpcCidr: '10.1.0.0/16' }, says: ['vpcCidr: got "10.1.0.0/16"', 'existing one'] },
  { name: 'warm pool above max', where: 'command line', issueClass: 5, c: { warmPoolSize: '5' }, says: ['warmPoolSize: got 5', 'maxCapacity (3)'] },
  { name: 'error-rate alarm of 0', where: 'command line', issueClass: 5, c: { errorRateAlarmPercent: '0' }, says: ['errorRateAlarmPercent: got 0', 'from 0.1 to 100'] },
  { name: 'negative deregistration delay', where: 'command line', issueClass: 5, c: { deregistrationDelaySeconds: '-1' }, says: ['deregistrationDelaySeconds: got -1', 'from 0 to 3600'] },
  { name: 'root volume below the model', where: 'command line', issueClass: 5, c: { rootVolumeGiB: '21' }, says: ['rootVolumeGiB: got 21', 'at least'] },
  { name: 'nested key of a scalar', where: 'command line', issueClass: 5, c: { 'minCapacity.value': '1' }, says: ['minCapacity.value', 'unknown configuration field'] },
  { name: 'unknown customModel key', where: 'command line', issueClass: 5, c: { 'customModel.checksum': SHA }, says: ['customModel.checksum', 'unknown configuration field in customModel', 'Allowed fields: source, sha256'] },
  { name: 'customModel size 0', where: 'command line', issueClass: 5, c: { customModel: JSON.stringify({ ...CUSTOM_8B, sizeBytes: 0 }) }, says: ['customModel.sizeBytes: got 0', 'at least 1'] },
  { name: 'customModel size of 5 bytes for an 8B model', where: 'command line', issueClass: 3, c: { customModel: JSON.stringify({ ...CUSTOM_8B, sizeBytes: 5 }) }, says: ['customModel.sizeBytes: got 5', 'at least', 'Llama 3.1 8B'] },
  { name: 'customModel F16 size of a Q4 file', where: 'command line', issueClass: 3, c: { customModel: JSON.stringify({ ...CUSTOM_8B, quantization: 'F16', quantizeTo: 'Q4_0' }) }, says: ['customModel.sizeBytes: got 4900000000', 'F16'] },
  { name: 'schedule cron out of range', where: 'command line', issueClass: 3, c: { scheduledCapacity: JSON.stringify([{ ...NIGHT, cron: '99 99 * * *' }]) }, says: ['scheduledCapacity.0.cron: got "99 99 * * *"', 'minute', '0-59'] },
  { name: 'schedule with unknown key', where: 'command line', issueClass: 2, c: { scheduledCapacity: JSON.stringify([{ ...NIGHT, timezone: 'Europe/Paris' }]) }, says: ['scheduledCapacity.0.timezone', 'Allowed fields: name, cron, minCapacity, maxCapacity', '(from -c scheduledCapacity)'] },

  // ---- environment mode, cdk.json ----
  { name: 'field directly in cdk.json context', where: 'cdk.json', issueClass: 4, cdkJson: { instanceType: 'c7g.4xlarge' }, says: ['instanceType: got "c7g.4xlarge"', '"graviton-llm"', '(from cdk.json)'] },
  { name: 'nested field directly in cdk.json context', where: 'cdk.json', issueClass: 4, cdkJson: { 'customModel.sha256': SHA }, says: ['customModel.sha256', 'move it into the "graviton-llm" object'] },
  { name: 'graviton_llm object in cdk.json', where: 'cdk.json', issueClass: 4, cdkJson: { graviton_llm: { instanceType: 'c7g.4xlarge' } }, says: ['graviton_llm', 'did you mean "graviton-llm"', '(from cdk.json)'] },
  { name: 'gravitonLlm object in cdk.json', where: 'cdk.json', issueClass: 4, cdkJson: { gravitonLlm: { minCapacity: 2 } }, says: ['gravitonLlm', 'did you mean "graviton-llm"'] },
  { name: 'misspelt key in cdk.json context', where: 'cdk.json', issueClass: 1, cdkJson: { instanceTyp: 'c7g.large' }, says: ['instanceTyp', 'did you mean "instanceType"', '(from cdk.json)'] },
  { name: 'graviton-llm not an object', where: 'cdk.json', issueClass: 5, cdkJson: { 'graviton-llm': 'c7g.large' }, says: ['graviton-llm: got "c7g.large"', 'object'] },
  { name: 'unknown field under graviton-llm', where: 'cdk.json', issueClass: 5, cdkJson: { 'graviton-llm': { instanceTyp: 'c7g.large' } }, says: ['instanceTyp', 'did you mean "instanceType"', '(from cdk.json context "graviton-llm")'] },
  { name: 'bad value under graviton-llm', where: 'cdk.json', issueClass: 5, cdkJson: { 'graviton-llm': { minCapacity: 0 } }, says: ['minCapacity: got 0', 'from 1 to 100', 'cdk.json'] },
  { name: 'unknown key in a schedule in cdk.json', where: 'cdk.json', issueClass: 2, cdkJson: { 'graviton-llm': { scheduledCapacity: [{ ...NIGHT, timezone: 'UTC' }] } }, says: ['scheduledCapacity.0.timezone', 'Allowed fields: name, cron'] },
  { name: 'hour 25 in cdk.json', where: 'cdk.json', issueClass: 3, cdkJson: { 'graviton-llm': { scheduledCapacity: [{ ...NIGHT, cron: '0 25 * * *' }] } }, says: ['scheduledCapacity.0.cron', 'hour "25"', '0-23'] },
  { name: 'weekday 8 in cdk.json', where: 'cdk.json', issueClass: 3, cdkJson: { 'graviton-llm': { scheduledCapacity: [{ ...NIGHT, cron: '0 8 * * 8' }] } }, says: ['scheduledCapacity.0.cron', 'day of week', 'SUN-SAT'] },
  { name: 'month 13 in cdk.json', where: 'cdk.json', issueClass: 3, cdkJson: { 'graviton-llm': { scheduledCapacity: [{ ...NIGHT, cron: '0 8 1 13 *' }] } }, says: ['scheduledCapacity.0.cron', 'month "13"'] },
  { name: 'day of month 0 in cdk.json', where: 'cdk.json', issueClass: 3, cdkJson: { 'graviton-llm': { scheduledCapacity: [{ ...NIGHT, cron: '0 8 0 * *' }] } }, says: ['scheduledCapacity.0.cron', 'day of month', '1-31'] },
  { name: 'host bits in cdk.json', where: 'cdk.json', issueClass: 3, cdkJson: { 'graviton-llm': { vpcCidr: '10.64.0.1/16' } }, says: ['vpcCidr: got "10.64.0.1/16"', '10.64.0.0/16', 'cdk.json'] },

  // ---- environment mode, environment file ----
  { name: 'instance type in capitals in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ instanceType: 'C7G.XLARGE' }), says: ['instanceType: got "C7G.XLARGE"', 'lowercase', '(from config/environments/dev.json)'] },
  { name: 'misspelt field in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ maxCapcity: 4 }), says: ['maxCapcity', 'did you mean "maxCapacity"', 'config/environments/dev.json'] },
  { name: 'host bits in an environment file', where: 'environment file', issueClass: 3, c: { env: 'dev' }, files: dev({ vpcCidr: '10.64.0.1/16' }), says: ['vpcCidr', '10.64.0.0/16', 'config/environments/dev.json'] },
  { name: 'customModel size 0 in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ model: undefined, customModel: { ...CUSTOM_8B, sizeBytes: 0 } }), says: ['customModel.sizeBytes: got 0', 'at least 1', 'config/environments/dev.json'] },
  { name: 'customModel far too small in an environment file', where: 'environment file', issueClass: 3, c: { env: 'dev' }, files: dev({ model: undefined, customModel: { ...CUSTOM_8B, sizeBytes: 1_000_000 } }), says: ['customModel.sizeBytes', 'at least', 'config/environments/dev.json'] },
  { name: 'cron 99 99 in an environment file', where: 'environment file', issueClass: 3, c: { env: 'dev' }, files: dev({ scheduledCapacity: [{ ...NIGHT, cron: '99 99 * * *' }] }), says: ['scheduledCapacity.0.cron', 'minute "99"', 'config/environments/dev.json'] },
  { name: 'schedule key unknown in an environment file', where: 'environment file', issueClass: 2, c: { env: 'dev' }, files: dev({ scheduledCapacity: [{ ...NIGHT, timezone: 'UTC' }] }), says: ['scheduledCapacity.0.timezone', 'config/environments/dev.json'] },
  { name: 'environment file not JSON', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: { [DEV]: '{ "account": ' }, says: ['env: got "dev"', 'valid JSON'] },
  { name: 'environment file a list', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: { [DEV]: [] }, says: ['env: got "dev"', 'JSON object'] },
  { name: 'short account in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ account: '1234' }), says: ['account: got "1234"', '12-digit', 'config/environments/dev.json'] },
  { name: 'canary URL on an internal endpoint in an environment file', where: 'environment file', issueClass: 4, c: { env: 'dev' }, files: dev({ canaryUrl: 'https://llm.example.com' }), says: ['canaryUrl', 'internet-facing'] },
  { name: 'everyone on an internal endpoint in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ allowedCidrs: ['0.0.0.0/0'] }), says: ['allowedCidrs: got "0.0.0.0/0"', 'internal load balancer'] },
  { name: 'certificate of another region in an environment file', where: 'environment file', issueClass: 3, c: { env: 'dev' }, files: dev({ region: 'eu-west-1', amiId: 'ami-0123456789abcdef0', certificateArn: CERT_USE1, domainName: 'llm.internal.example' }), says: ['certificateArn', 'eu-west-1', 'us-east-1'] },
  { name: 'string capacity in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ maxCapacity: '4' }), says: ['maxCapacity: got "4"', 'whole number', 'config/environments/dev.json'] },
  { name: 'unknown model in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ model: 'llama-3.2-1b' }), says: ['model: got "llama-3.2-1b"', 'catalog model id'] },

  // ---- environment mode, -c config=FILE ----
  { name: 'misspelt field in a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: settings({ minCapcity: 2 }), says: ['minCapcity', 'did you mean "minCapacity"', `(from ${SETTINGS})`] },
  { name: 'bad value in a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: settings({ port: 22 }), says: ['port: got 22', 'from 1024 to 65535', `(from ${SETTINGS})`] },
  { name: 'host bits in a config file', where: 'config file', issueClass: 3, c: { config: SETTINGS }, files: settings({ allowedCidrs: ['10.1.2.3/8'] }), says: ['allowedCidrs.0: got "10.1.2.3/8"', '10.0.0.0/8', SETTINGS] },
  { name: 'cron with 6 fields in a config file', where: 'config file', issueClass: 3, c: { config: SETTINGS }, files: settings({ scheduledCapacity: [{ ...NIGHT, cron: '0 0 22 * * *' }] }), says: ['scheduledCapacity.0.cron', 'five-field', SETTINGS] },
  { name: 'backwards cron range in a config file', where: 'config file', issueClass: 3, c: { config: SETTINGS }, files: settings({ scheduledCapacity: [{ ...NIGHT, cron: '0 8 * * FRI-MON' }] }), says: ['scheduledCapacity.0.cron', 'backwards'] },
  { name: 'customModel size 5 in a config file', where: 'config file', issueClass: 3, c: { config: SETTINGS }, files: settings({ customModel: { ...CUSTOM_8B, sizeBytes: 5 } }), says: ['customModel.sizeBytes: got 5', 'at least', SETTINGS] },
  { name: 'unknown key in a schedule in a config file', where: 'config file', issueClass: 2, c: { config: SETTINGS }, files: settings({ scheduledCapacity: [{ ...NIGHT, tz: 'UTC' }] }), says: ['scheduledCapacity.0.tz', SETTINGS] },
  { name: 'config file not JSON', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: { [SETTINGS]: 'instanceType: c7g.large' }, says: ['config: got "settings.json"', 'valid JSON'] },
  { name: 'config file a string', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: { [SETTINGS]: '"c7g.large"' }, says: ['config: got "settings.json"', 'JSON object'] },
  { name: 'config file a directory', where: 'config file', issueClass: 5, c: { config: 'config' }, says: ['config: got "config"', 'cannot be read'] },
  { name: 'graviton-llm wrapper inside a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: settings({ 'graviton-llm': { minCapacity: 2 } }), says: ['graviton-llm', 'unknown configuration field', SETTINGS] },
  { name: 'instance type with a space in a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: settings({ instanceType: ' c7g.large' }), says: ['instanceType', 'without spaces', SETTINGS] },
  { name: 'zero size in a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: settings({ customModel: { ...CUSTOM_8B, sizeBytes: 0 } }), says: ['customModel.sizeBytes: got 0', 'at least 1'] },

  // ---- pipeline mode ----
  { name: 'pipeline: instance type on the command line', mode: 'pipeline', where: 'command line', issueClass: 1, c: { instanceType: 'c7i.2xlarge' }, says: ['instanceType: got "c7i.2xlarge"', 'not read in pipeline mode', 'config/environments/NAME.json'] },
  { name: 'pipeline: misspelt field on the command line', mode: 'pipeline', where: 'command line', issueClass: 1, c: { maxCapcity: '5' }, says: ['maxCapcity', 'did you mean "maxCapacity"', 'environment mode'] },
  { name: 'pipeline: -c env', mode: 'pipeline', where: 'command line', issueClass: 1, c: { env: 'prod' }, says: ['env: got "prod"', 'not read in pipeline mode', 'config/pipeline.json'] },
  { name: 'pipeline: -c config', mode: 'pipeline', where: 'command line', issueClass: 1, c: { config: 'missing.json' }, says: ['config: got "missing.json"', 'not read in pipeline mode'] },
  { name: 'pipeline: a GitHub key', mode: 'pipeline', where: 'command line', issueClass: 1, c: { githubRepository: 'a/b' }, says: ['githubRepository', '-c mode=github-oidc'] },
  { name: 'pipeline: misspelt pipelineConfig', mode: 'pipeline', where: 'command line', issueClass: 1, c: { pipelinConfig: 'config/pipeline.json' }, says: ['pipelinConfig', 'did you mean "pipelineConfig"'] },
  { name: 'pipeline: missing pipeline file', mode: 'pipeline', where: 'command line', issueClass: 5, c: { pipelineConfig: 'missing.json' }, says: ['pipelineConfig: got "missing.json"', 'readable JSON file'] },
  { name: 'pipeline: field directly in cdk.json', mode: 'pipeline', where: 'cdk.json', issueClass: 4, cdkJson: { maxCapacity: 6 }, says: ['maxCapacity: got 6', '"graviton-llm"', '(from cdk.json)'] },
  { name: 'pipeline: bad field under graviton-llm', mode: 'pipeline', where: 'cdk.json', issueClass: 5, cdkJson: { 'graviton-llm': { port: 80 } }, says: ['port: got 80', 'from 1024 to 65535'] },
  { name: 'pipeline: unknown key', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ extra: true }), says: ['config/pipeline.json: extra: got true', 'unknown field'] },
  { name: 'pipeline: misspelt key', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ testEnviroment: 'dev' }), says: ['config/pipeline.json: testEnviroment', 'did you mean "testEnvironment"'] },
  { name: 'pipeline: misspelt nested key', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ source: { ...(json(PIPELINE).source as object), branchName: 'main' } }), says: ['config/pipeline.json: source.branchName', 'did you mean "branch"'] },
  { name: 'pipeline: misspelt smokeTest key', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ smokeTest: { request: 4 } }), says: ['config/pipeline.json: smokeTest.request', 'did you mean "requests"'] },
  { name: 'pipeline: short account', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ account: '12' }), says: ['config/pipeline.json: account: got "12"', '12-digit'] },
  { name: 'pipeline: bad region', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ region: 'US-EAST-1' }), says: ['config/pipeline.json: region: got "US-EAST-1"', 'us-east-1'] },
  { name: 'pipeline: bad connection ARN', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ source: { ...(json(PIPELINE).source as object), connectionArn: 'arn:aws:s3:::x' } }), says: ['config/pipeline.json: source.connectionArn', 'CodeConnections ARN'] },
  { name: 'pipeline: repository without owner', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ source: { ...(json(PIPELINE).source as object), repository: 'graviton-llm' } }), says: ['config/pipeline.json: source.repository', 'OWNER/NAME'] },
  { name: 'pipeline: unknown test environment', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ testEnvironment: 'staging' }), says: ['config/pipeline.json: environment: got "staging"', 'dev, prod'] },
  { name: 'pipeline: an environment twice', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ productionWaves: [['prod'], ['prod']] }), says: ['config/pipeline.json: environment: got "prod"', 'once'] },
  { name: 'pipeline: empty wave', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ productionWaves: [[]] }), says: ['config/pipeline.json: productionWaves.0', 'at least 1'] },
  { name: 'pipeline: zero smoke requests', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ smokeTest: { requests: 0 } }), says: ['config/pipeline.json: smokeTest.requests: got 0', 'at least 1'] },
  { name: 'pipeline: removed smokeTest.vpcId', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ smokeTest: { vpcId: 'vpc-0123456789abcdef0' } }), says: ['config/pipeline.json: smokeTest.vpcId', 'no longer used'] },
  { name: 'pipeline: missing test environment', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: pipeline({ testEnvironment: undefined }), says: ['config/pipeline.json: testEnvironment: nothing was given', 'required'] },
  { name: 'pipeline: file not JSON', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: { [PIPELINE]: '{ "account": }' }, says: ['pipelineConfig: got "config/pipeline.json"', 'JSON'] },
  { name: 'pipeline: file a list', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: { [PIPELINE]: [] }, says: ['config/pipeline.json: (file)', 'JSON object'] },
  { name: 'pipeline: stage without AMI', mode: 'pipeline', where: 'environment file', issueClass: 5, files: dev({ amiId: undefined }), says: ['config/environments/dev.json: amiId', 'required for an environment a pipeline deploys'] },
  { name: 'pipeline: stage without account', mode: 'pipeline', where: 'environment file', issueClass: 5, files: dev({ account: undefined }), says: ['config/environments/dev.json: account'] },
  { name: 'pipeline: stage with a bad field', mode: 'pipeline', where: 'environment file', issueClass: 5, files: dev({ instanceType: 'C7G.XLARGE' }), says: ['instanceType: got "C7G.XLARGE"', 'lowercase', '(from config/environments/dev.json)'] },
  { name: 'pipeline: stage with host bits', mode: 'pipeline', where: 'environment file', issueClass: 3, files: dev({ vpcCidr: '10.64.0.1/16' }), says: ['vpcCidr', '10.64.0.0/16', 'config/environments/dev.json'] },
  { name: 'pipeline: internet-facing stage without canary URL', mode: 'pipeline', where: 'environment file', issueClass: 5, files: dev({ internetFacing: true, certificateArn: CERT_USE1, allowedCidrs: ['0.0.0.0/0'] }), says: ['config/environments/dev.json: canaryUrl', 'required for an internet-facing environment'] },

  // ---- org mode ----
  { name: 'org: instance type on the command line', mode: 'org', where: 'command line', issueClass: 1, c: { instanceType: 'c7g.4xlarge' }, says: ['instanceType', 'not read in org mode', '-c mode=environment'] },
  { name: 'org: -c env', mode: 'org', where: 'command line', issueClass: 1, c: { env: 'prod' }, says: ['env: got "prod"', 'not read in org mode'] },
  { name: 'org: misspelt orgConfig', mode: 'org', where: 'command line', issueClass: 1, c: { orgConfg: 'config/org.json' }, says: ['orgConfg', 'did you mean "orgConfig"'] },
  { name: 'org: pipelineConfig', mode: 'org', where: 'command line', issueClass: 1, c: { pipelineConfig: 'config/pipeline.json' }, says: ['pipelineConfig', '-c mode=pipeline'] },
  { name: 'org: missing org file', mode: 'org', where: 'command line', issueClass: 5, c: { orgConfig: 'missing.json' }, says: ['orgConfig: got "missing.json"', 'cannot be read'] },
  { name: 'org: field directly in cdk.json', mode: 'org', where: 'cdk.json', issueClass: 4, cdkJson: { minCapacity: 2 }, says: ['minCapacity: got 2', '"graviton-llm"'] },
  { name: 'org: misspelt key', mode: 'org', where: 'org.json', issueClass: 5, files: org({ stacksetName: 'x' }), says: ['stacksetName', 'did you mean "stackSetName"', 'config/org.json'] },
  { name: 'org: misspelt nested key', mode: 'org', where: 'org.json', issueClass: 5, files: org({ serviceCatalog: { portfolio: 'x' } }), says: ['serviceCatalog.portfolio', 'did you mean "portfolioName"'] },
  { name: 'org: bad organization id', mode: 'org', where: 'org.json', issueClass: 5, files: org({ organizationId: 'org-1' }), says: ['organizationId: got "org-1"', 'o-a1b2c3d4e5'] },
  { name: 'org: no regions', mode: 'org', where: 'org.json', issueClass: 5, files: org({ regions: [] }), says: ['regions', 'at least 1'] },
  { name: 'org: region twice', mode: 'org', where: 'org.json', issueClass: 5, files: org({ regions: ['us-east-1', 'us-east-1'] }), says: ['regions: got "us-east-1"', 'once'] },
  { name: 'org: home region outside regions', mode: 'org', where: 'org.json', issueClass: 5, files: org({ homeRegion: 'eu-central-1' }), says: ['homeRegion: got "eu-central-1"', 'one of regions'] },
  { name: 'org: host bits in allowedCidr', mode: 'org', where: 'org.json', issueClass: 3, files: org({ parameters: { ...(json(ORG).parameters as object), allowedCidr: '10.0.0.1/8' } }), says: ['parameters.allowedCidr: got "10.0.0.1/8"', '10.0.0.0/8'] },
  { name: 'org: min above max', mode: 'org', where: 'org.json', issueClass: 5, files: org({ parameters: { ...(json(ORG).parameters as object), minCapacity: 5 } }), says: ['parameters.minCapacity: got 5', 'parameters.maxCapacity (3)'] },
  { name: 'org: instance type in capitals', mode: 'org', where: 'org.json', issueClass: 5, files: org({ parameters: { ...(json(ORG).parameters as object), instanceType: 'C7G.2XLARGE' } }), says: ['parameters.instanceType: got "C7G.2XLARGE"', 'lowercase'] },
  { name: 'org: instance type in the template', mode: 'org', where: 'org.json', issueClass: 5, files: orgTemplate({ instanceType: 'c7g.xlarge' }), says: ['template.instanceType', 'InstanceType parameter'] },
  { name: 'org: certificate in the template', mode: 'org', where: 'org.json', issueClass: 5, files: orgTemplate({ certificateArn: CERT_USE1 }), says: ['template.certificateArn', 'one account and region'] },
  { name: 'org: host bits in the template', mode: 'org', where: 'org.json', issueClass: 3, files: orgTemplate({ vpcCidr: '10.64.0.1/16' }), says: ['template.vpcCidr: got "10.64.0.1/16"', '10.64.0.0/16'] },
  { name: 'org: unknown schedule key in the template', mode: 'org', where: 'org.json', issueClass: 2, files: orgTemplate({ scheduledCapacity: [{ ...NIGHT, timezone: 'UTC' }] }), says: ['template.scheduledCapacity.0.timezone', 'config/org.json'] },
  { name: 'org: cron out of range in the template', mode: 'org', where: 'org.json', issueClass: 3, files: orgTemplate({ scheduledCapacity: [{ ...NIGHT, cron: '0 24 * * *' }] }), says: ['template.scheduledCapacity.0.cron', 'hour "24"'] },
  { name: 'org: tiny custom model in the template', mode: 'org', where: 'org.json', issueClass: 3, files: orgTemplate({ customModel: { ...CUSTOM_8B, source: 'https://models.example.com/m.gguf', sizeBytes: 5 } }), says: ['template.customModel.sizeBytes: got 5', 'at least'] },
  { name: 'org: misspelt template field', mode: 'org', where: 'org.json', issueClass: 5, files: orgTemplate({ parallelSlot: 4 }), says: ['template.parallelSlot', 'did you mean "parallelSlots"'] },
  { name: 'org: concurrency 0', mode: 'org', where: 'org.json', issueClass: 5, files: org({ operationPreferences: { maxConcurrentPercentage: 0 } }), says: ['operationPreferences.maxConcurrentPercentage: got 0', 'at least 1'] },
  { name: 'org: unknown callAs', mode: 'org', where: 'org.json', issueClass: 5, files: org({ callAs: 'ME' }), says: ['callAs: got "ME"', 'SELF, DELEGATED_ADMIN'] },
  { name: 'org: bucket prefix too long', mode: 'org', where: 'org.json', issueClass: 5, files: org({ assetBucketPrefix: 'x'.repeat(60) }), says: ['assetBucketPrefix', 'at most'] },
  { name: 'org: file not JSON', mode: 'org', where: 'org.json', issueClass: 5, files: { [ORG]: '{' }, says: ['orgConfig: got "config/org.json"', 'valid JSON'] },

  // ---- issue 21: a key given twice (JSON.parse keeps the last without a word), a byte-order mark, invisible characters ----
  { name: 'a key twice in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: { [DEV]: twice(json(DEV), 'maxCapacity', 2, 50) }, says: ['maxCapacity: got 50; the key is given twice in one object, at line 2 column 3 (2) and at line', '(50)', 'keep one of them', '(from config/environments/dev.json)'] },
  { name: 'a key twice inside customModel in a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: { [SETTINGS]: `{\n  "customModel": {\n    "source": "s3://my-models/tuned-8b.gguf",\n    "sha256": "${SHA}",\n    "sizeBytes": 4900000000,\n    "sha256": "${'b'.repeat(64)}"\n  }\n}\n` }, says: ['customModel.sha256: got "bbbb', 'given twice in one object, at line 4 column 5', 'and at line 6 column 5', `(from ${SETTINGS})`] },
  { name: 'a key twice in a schedule entry in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: { [DEV]: JSON.stringify({ ...json(DEV), scheduledCapacity: [NIGHT] }).replace('"cron":"0 22 * * *"', '"cron":"0 22 * * *","cron":"0 6 * * *"') }, says: ['scheduledCapacity.0.cron: got "0 6 * * *"', 'given twice', '("0 22 * * *")', 'config/environments/dev.json'] },
  { name: 'a key twice in JSON given to -c', where: 'command line', issueClass: 5, c: { customModel: JSON.stringify(CUSTOM_8B).replace('"quantization":"Q4_K_M"', '"quantization":"Q4_K_M","quantization":"Q8_0"') }, says: ['customModel.quantization: got "Q8_0"', 'given twice', '("Q4_K_M")', '(from -c customModel)'] },
  { name: 'a key twice in cdk.json', where: 'cdk.json', issueClass: 5, files: { 'cdk.json': `{\n  "app": "npx tsx bin/graviton-llm.ts",\n  "context": {\n    "graviton-llm": { "maxCapacity": 2, "maxCapacity": 50 }\n  }\n}\n` }, says: ['context.graviton-llm.maxCapacity: got 50', 'at line 4 column 23 (2) and at line 4 column 41 (50)', '(from cdk.json)'] },
  { name: 'a byte-order mark at the start of an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: { [DEV]: withBom(json(DEV)) }, says: ['env: got "dev"; expected valid JSON in config/environments/dev.json', 'byte-order mark, \\ufeff (U+FEFF)', 'UTF-8 without a BOM'] },
  { name: 'a byte-order mark at the start of a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: { [SETTINGS]: withBom({ minCapacity: 1 }) }, says: ['config: got "settings.json"', 'byte-order mark, \\ufeff (U+FEFF)'] },
  { name: 'a zero-width space after a -c value', where: 'command line', issueClass: 5, c: { instanceType: 'c7g.large\u200b' }, says: ['instanceType: got "c7g.large\\u200b" (contains invisible characters: U+200B (zero-width space) at 10)', '(from -c instanceType)'] },
  { name: 'a no-break space after a -c value', where: 'command line', issueClass: 5, c: { instanceType: 'c7g.large\u00a0' }, says: ['instanceType: got "c7g.large\\u00a0" (contains invisible characters: U+00A0 (no-break space) at 10)', 'without spaces', '(from -c instanceType)'] },
  { name: 'a byte-order mark before a -c value', where: 'command line', issueClass: 5, c: { region: '\ufeffus-east-1' }, says: ['region: got "\\ufeffus-east-1" (contains invisible characters: U+FEFF (byte-order mark) at 1)', 'us-east-1', '(from -c region)'] },
  { name: 'a byte-order mark before a -c number', where: 'command line', issueClass: 5, c: { minCapacity: '\ufeff2' }, says: ['minCapacity: got "\\ufeff2" (contains invisible characters: U+FEFF (byte-order mark) at 1)', '(from -c minCapacity)'] },
  { name: 'a zero-width space at the end of an alarm e-mail', where: 'command line', issueClass: 5, c: { alarmEmail: 'oncall@example.com\u200b' }, says: ['alarmEmail: got "oncall@example.com\\u200b" (contains invisible characters: U+200B (zero-width space) at 19)', 'e-mail address', '(from -c alarmEmail)'] },
  { name: 'org: a zero-width space in the alarm e-mail', mode: 'org', where: 'org.json', issueClass: 5, files: org({ parameters: { ...(json(ORG).parameters as object), alarmEmail: 'oncall@example.com\u200b' } }), says: ['parameters.alarmEmail', 'e-mail address', '\\u200b'] },
  { name: 'a zero-width space in a value in an environment file', where: 'environment file', issueClass: 5, c: { env: 'dev' }, files: dev({ stackName: 'GravitonLlm\u200b-dev' }), says: ['stackName: got "GravitonLlm\\u200b-dev" (contains invisible characters: U+200B (zero-width space) at 12)', '(from config/environments/dev.json)'] },
  { name: 'a zero-width space in a key in a config file', where: 'config file', issueClass: 5, c: { config: SETTINGS }, files: settings({ 'maxCapacity\u200b': 4 }), says: ['maxCapacity\\u200b (contains invisible characters: U+200B (zero-width space)): got 4', 'did you mean "maxCapacity"', `(from ${SETTINGS})`] },
  { name: 'a zero-width space in a cron in a config file', where: 'config file', issueClass: 3, c: { config: SETTINGS }, files: settings({ scheduledCapacity: [{ ...NIGHT, cron: '0 22\u200b * * *' }] }), says: ['scheduledCapacity.0.cron: got "0 22\\u200b * * *" (contains invisible characters: U+200B (zero-width space) at 5)', 'hour "22\\u200b"', SETTINGS] },
  { name: 'pipeline: a key twice in pipeline.json', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: { [PIPELINE]: twice(json(PIPELINE), 'testEnvironment', 'dev', 'prod') }, says: ['config/pipeline.json: testEnvironment: got "prod"; the key is given twice in one object, at line 2 column 3 ("dev")', 'keep one of them'] },
  { name: 'pipeline: a key twice inside source in pipeline.json', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: { [PIPELINE]: JSON.stringify(json(PIPELINE), null, 2).replace('"branch": "main"', '"branch": "main",\n    "branch": "release"') }, says: ['config/pipeline.json: source.branch: got "release"', 'column 5 ("main") and at line', 'column 5 ("release")'] },
  { name: 'pipeline: a byte-order mark at the start of pipeline.json', mode: 'pipeline', where: 'pipeline.json', issueClass: 5, files: { [PIPELINE]: withBom(json(PIPELINE)) }, says: ['pipelineConfig: got "config/pipeline.json"', 'byte-order mark, \\ufeff (U+FEFF)'] },
  { name: 'pipeline: a key twice in a stage\'s environment file', mode: 'pipeline', where: 'environment file', issueClass: 5, files: { [DEV]: twice(json(DEV), 'account', '111111111111', '222222222222') }, says: ['account: got "222222222222"', 'given twice', '("111111111111")', 'config/environments/dev.json'] },
  { name: 'org: a key twice in org.json', mode: 'org', where: 'org.json', issueClass: 5, files: { [ORG]: twice(json(ORG), 'organizationId', 'o-exampleorg1', 'o-otherorg123') }, says: ['organizationId: got "o-otherorg123"; the key is given twice in one object, at line 2 column 3 ("o-exampleorg1")', 'config/org.json'] },
  { name: 'org: a key twice in the template\'s customModel', mode: 'org', where: 'org.json', issueClass: 5, files: { [ORG]: JSON.stringify({ ...json(ORG), template: { ...(json(ORG).template as object), customModel: { ...CUSTOM_8B, source: 'https://models.example.com/m.gguf' } } }, null, 2).replace(`"sha256": "${SHA}"`, `"sha256": "${SHA}",\n      "sha256": "${'c'.repeat(64)}"`) }, says: ['template.customModel.sha256: got "cccc', 'given twice', 'config/org.json'] },
  { name: 'org: a byte-order mark at the start of org.json', mode: 'org', where: 'org.json', issueClass: 5, files: { [ORG]: withBom(json(ORG)) }, says: ['orgConfig: got "config/org.json"', 'byte-order mark, \\ufeff (U+FEFF)'] },
  { name: 'org: a zero-width space in a region', mode: 'org', where: 'org.json', issueClass: 5, files: org({ regions: ['us-east-1', '\u200beu-west-1'] }), says: ['regions.1: got "\\u200beu-west-1" (contains invisible characters: U+200B (zero-width space) at 1)', 'us-east-1'] },

  // ---- github-oidc mode ----
  { name: 'oidc: no repository', mode: 'github-oidc', where: 'command line', issueClass: 5, says: ['githubRepository: nothing was given', '-c githubRepository=owner/name'] },
  { name: 'oidc: repository without owner', mode: 'github-oidc', where: 'command line', issueClass: 5, c: { githubRepository: 'graviton-llm' }, says: ['githubRepository: got "graviton-llm"', 'owner/name'] },
  { name: 'oidc: misspelt deploy branch', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { ...OIDC, githubDeployBrnach: 'release' }, says: ['githubDeployBrnach', 'did you mean "githubDeployBranch"'] },
  { name: 'oidc: misspelt repository', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { githubRepo: 'a/b' }, says: ['githubRepo', 'did you mean'] },
  { name: 'oidc: an environment field', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { ...OIDC, instanceType: 'c7g.large' }, says: ['instanceType', 'not read in github-oidc mode', '-c mode=environment'] },
  { name: 'oidc: -c env', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { ...OIDC, env: 'prod' }, says: ['env: got "prod"', 'not read in github-oidc mode'] },
  { name: 'oidc: -c config', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { ...OIDC, config: 'x.json' }, says: ['config', 'not read in github-oidc mode'] },
  { name: 'oidc: pipelineConfig', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { ...OIDC, pipelineConfig: 'config/pipeline.json' }, says: ['pipelineConfig', '-c mode=pipeline'] },
  { name: 'oidc: short target account', mode: 'github-oidc', where: 'command line', issueClass: 5, c: { ...OIDC, githubTargetAccounts: '123' }, says: ['githubTargetAccounts', '123'] },
  { name: 'oidc: bad provider ARN', mode: 'github-oidc', where: 'command line', issueClass: 5, c: { ...OIDC, githubOidcProviderArn: 'token.actions.githubusercontent.com' }, says: ['githubOidcProviderArn', 'token.actions.githubusercontent.com'] },
  { name: 'oidc: bad qualifier', mode: 'github-oidc', where: 'command line', issueClass: 5, c: { ...OIDC, cdkQualifier: 'BAD!' }, says: ['cdkQualifier: got "BAD!"'] },
  { name: 'oidc: bad stack name', mode: 'github-oidc', where: 'command line', issueClass: 5, c: { ...OIDC, githubDiffStacks: 'Graviton Llm' }, says: ['githubDiffStacks', 'Graviton Llm'] },
  { name: 'oidc: workflow outside .github/workflows', mode: 'github-oidc', where: 'command line', issueClass: 5, c: { ...OIDC, githubWorkflowPath: 'deploy.yml' }, says: ['githubWorkflowPath: got "deploy.yml"'] },
  { name: 'oidc: field directly in cdk.json', mode: 'github-oidc', where: 'cdk.json', issueClass: 4, c: OIDC, cdkJson: { instanceType: 'c7g.large' }, says: ['instanceType', '"graviton-llm"', '(from cdk.json)'] },
  { name: 'oidc: misspelt key in cdk.json', mode: 'github-oidc', where: 'cdk.json', issueClass: 1, c: OIDC, cdkJson: { githubDeployBrnach: 'release' }, says: ['githubDeployBrnach', 'did you mean "githubDeployBranch"', '(from cdk.json)'] },
];
