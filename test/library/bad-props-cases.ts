import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
// The package's public entry, as an app's `import ... from 'graviton-llm'` reads it.
import { CustomLlamaModelProps, GravitonInstanceType, GravitonLlmEndpoint, GravitonLlmEndpointProps, LlamaModel } from '../../lib';

/**
 * Bad props given to the library from a CDK app of one's own (issue 21):
 * each must end the app with exit status 1, no stack trace, and a message
 * whose problem line names the prop and says what is allowed. The classes are
 * the issue's: a value the configuration refused but the library accepted, an
 * uncaught error (a TypeError) where a message was due, a message that named
 * something other than the prop, and a JavaScript value of the wrong type;
 * and values refused before too (`kept`).
 */
export interface BadPropsCase {
  readonly name: string;
  readonly issueClass: IssueClass;
  /** Builds the input in the app's stack, as an app's code would. */
  readonly build: (app: CaseApp) => void;
  /** The prop the problem line starts with (`  - PROP: ...`). */
  readonly prop: string;
  /** Fragments of that line: what is allowed (and, where it matters, the value given). */
  readonly says: readonly string[];
}

/**
 * `kept`: a value the library refused before issue 21 too (fc54eaa), kept in the table so that
 * moving the rules keeps refusing it.
 */
export type IssueClass = 'wrong acceptance' | 'uncaught error' | 'wrong name' | 'wrong type' | 'kept';

export interface CaseApp {
  readonly stack: Stack;
  /** A GravitonLlmEndpoint with the minimal props and these. */
  readonly endpoint: (props: Partial<Record<keyof GravitonLlmEndpointProps, unknown>>, id?: string) => GravitonLlmEndpoint;
}

const SHA = 'a'.repeat(64);
/** A valid custom model's props: an 8B fine-tune, Q4_K_M. */
const CUSTOM: CustomLlamaModelProps = { source: 's3://my-models/tuned-8b.gguf', sha256: SHA, sizeBytes: 4_900_000_000, architecture: 'llama-3.1-8b', quantization: 'Q4_K_M' };
const custom = (patch: Record<string, unknown>) => () => LlamaModel.custom({ ...CUSTOM, ...patch } as CustomLlamaModelProps);
/** A valid type chosen at deploy time: Graviton3's build flags. */
const G3 = { instanceType: 'c7g.xlarge', generation: 3, cpuPart: '0xd40', armArch: 'armv8.4-a+sve+i8mm+bf16+dotprod+fp16' };
const chosen = (patch: Record<string, unknown>) => () => GravitonInstanceType.chosenAtDeployTime({ ...G3, ...patch } as typeof G3);
const NIGHT = { name: 'night', cron: '0 22 * * *', minCapacity: 1, maxCapacity: 1 };
const schedule = (patch: Record<string, unknown>) => [{ ...NIGHT, ...patch }];
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

export const BAD_PROPS_CASES: readonly BadPropsCase[] = [
  // ---- values the configuration refused and the library accepted ----
  { name: 'schedule cron 99 99 * * *', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ cron: '99 99 * * *' }) }), prop: 'scheduledCapacity[0].cron', says: ['got "99 99 * * *"', 'minute', '0-59'] },
  { name: 'schedule cron hour 25', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ cron: '0 25 * * *' }) }), prop: 'scheduledCapacity[0].cron', says: ['hour "25"', '0-23'] },
  { name: 'schedule cron of six fields', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ cron: '0 0 22 * * *' }) }), prop: 'scheduledCapacity[0].cron', says: ['five-field'] },
  { name: 'schedule cron range backwards', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ cron: '0 8 * * FRI-MON' }) }), prop: 'scheduledCapacity[0].cron', says: ['backwards'] },
  { name: 'schedule name with a space', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ name: 'night shift' }) }), prop: 'scheduledCapacity[0].name', says: ['letters, digits and hyphens'] },
  { name: 'schedule minCapacity -1', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ minCapacity: -1 }) }), prop: 'scheduledCapacity[0].minCapacity', says: ['from 0 to 100'] },
  { name: 'schedule maxCapacity 0', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ minCapacity: 0, maxCapacity: 0 }) }), prop: 'scheduledCapacity[0].maxCapacity', says: ['from 1 to 100'] },
  { name: 'schedule maxCapacity 500', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: schedule({ maxCapacity: 500 }) }), prop: 'scheduledCapacity[0].maxCapacity', says: ['from 1 to 100'] },
  { name: '21 schedules', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ scheduledCapacity: Array.from({ length: 21 }, (_, i) => ({ ...NIGHT, name: `s${i}` })) }), prop: 'scheduledCapacity', says: ['at most 20'] },
  { name: 'custom model of 5 bytes for an 8B architecture', issueClass: 'wrong acceptance', build: custom({ sizeBytes: 5 }), prop: 'sizeBytes', says: ['got 5', 'at least', 'Llama 3.1 8B'] },
  { name: 'custom F16 model of a Q4 file\'s size', issueClass: 'wrong acceptance', build: custom({ quantization: 'F16', quantizeTo: 'Q4_0' }), prop: 'sizeBytes', says: ['F16', 'at least'] },
  { name: 'custom model size 1.5 bytes', issueClass: 'kept', build: custom({ sizeBytes: 1.5 }), prop: 'sizeBytes', says: ['whole number'] },
  { name: 'custom model sha256 too short', issueClass: 'kept', build: custom({ sha256: 'abc123' }), prop: 'sha256', says: ['64 lowercase hexadecimal'] },
  { name: 'custom model over plain http', issueClass: 'kept', build: custom({ source: 'http://models.example.com/m.gguf' }), prop: 'source', says: ['s3://BUCKET/KEY', 'https://HOST/PATH'] },
  { name: 'custom model URL with a space', issueClass: 'wrong acceptance', build: custom({ source: 'https://models.example.com/my model.gguf' }), prop: 'source', says: ['letters, digits'] },
  { name: 'custom model from an S3 bucket named in capitals', issueClass: 'wrong acceptance', build: custom({ source: 's3://My-Models/m.gguf' }), prop: 'source', says: ['s3://BUCKET/KEY'] },
  { name: 'custom model on port 8443', issueClass: 'kept', build: custom({ source: 'https://models.example.com:8443/m.gguf' }), prop: 'source', says: ['port 443'] },
  { name: 'custom model quantizeTo from a Q4 file', issueClass: 'kept', build: custom({ quantizeTo: 'Q8_0' }), prop: 'quantizeTo', says: ['F16 source'] },
  { name: 'custom model quantizeTo Q2_K', issueClass: 'kept', build: custom({ quantization: 'F16', sizeBytes: 16_100_000_000, quantizeTo: 'Q2_K' }), prop: 'quantizeTo', says: ['Q4_0, Q8_0, Q4_K_M'] },
  { name: 'custom model of an unknown architecture', issueClass: 'kept', build: custom({ architecture: 'mistral-7b' }), prop: 'architecture', says: ['llama-3.1-8b', 'llama-3.2-1b'] },
  { name: 'custom model quantization in lower case', issueClass: 'kept', build: custom({ quantization: 'q4_k_m' }), prop: 'quantization', says: ['Q4_0, Q8_0, Q4_K_M, F16'] },
  { name: 'custom model file name with a path', issueClass: 'wrong acceptance', build: custom({ fileName: '../models/tuned.gguf' }), prop: 'fileName', says: ['plain file name ending in .gguf'] },
  { name: 'custom model file name not .gguf', issueClass: 'wrong acceptance', build: custom({ fileName: 'tuned.bin' }), prop: 'fileName', says: ['ending in .gguf'] },
  { name: 'boot script bucket account abc', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ bootScriptBucketAccount: 'abc' }), prop: 'bootScriptBucketAccount', says: ['got "abc"', '12-digit AWS account id'] },
  { name: 'boot script bucket account of 11 digits', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ bootScriptBucketAccount: '12345678901' }), prop: 'bootScriptBucketAccount', says: ['12-digit'] },
  { name: 'Amazon Linux 2023 image for x86_64 (the default cpuType)', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ machineImage: ec2.MachineImage.latestAmazonLinux2023() }), prop: 'machineImage', says: ['x86_64', 'arm64', 'AmazonLinuxCpuType.ARM_64'] },
  { name: 'Amazon Linux 2 image for x86_64', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ machineImage: ec2.MachineImage.latestAmazonLinux2() }), prop: 'machineImage', says: ['x86_64', 'arm64'] },
  { name: 'x86_64 image from an SSM parameter', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ machineImage: ec2.MachineImage.fromSsmParameter('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64') }), prop: 'machineImage', says: ['x86_64', 'arm64'] },
  { name: 'x86_64 image resolved at launch', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ machineImage: ec2.MachineImage.resolveSsmParameterAtLaunch('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64') }), prop: 'machineImage', says: ['arm64'] },
  { name: 'x86_64 image by lookup', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ machineImage: ec2.MachineImage.lookup({ name: 'al2023-ami-2023.*-x86_64' }) }), prop: 'machineImage', says: ['arm64'] },
  { name: 'Windows image', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ machineImage: ec2.MachineImage.latestWindows(ec2.WindowsVersion.WINDOWS_SERVER_2022_ENGLISH_FULL_BASE) }), prop: 'machineImage', says: ['Windows', 'Amazon Linux 2023 image for arm64'] },
  { name: 'deploy-time type m5.large', issueClass: 'wrong acceptance', build: chosen({ instanceType: 'm5.large' }), prop: 'instanceType', says: ['got "m5.large"', 'not a Graviton'] },
  { name: 'deploy-time generation 9', issueClass: 'wrong acceptance', build: chosen({ generation: 9 }), prop: 'generation', says: ['got 9', '2, 3, 4, 5'] },
  { name: 'deploy-time armArch x86-64', issueClass: 'wrong acceptance', build: chosen({ armArch: 'x86-64' }), prop: 'armArch', says: ['got "x86-64"', 'armv8.4-a+sve+i8mm+bf16+dotprod+fp16'] },
  { name: 'deploy-time armArch of another generation', issueClass: 'wrong acceptance', build: chosen({ armArch: 'armv8.2-a+dotprod+fp16' }), prop: 'armArch', says: ['Graviton3'] },
  { name: 'deploy-time cpuPart without 0x', issueClass: 'wrong acceptance', build: chosen({ cpuPart: 'd40' }), prop: 'cpuPart', says: ['0x and three', '0xd40 (Graviton3)'] },
  { name: 'deploy-time cpuPart of another generation', issueClass: 'wrong acceptance', build: chosen({ cpuPart: '0xd0c' }), prop: 'cpuPart', says: ['0xd40', 'Graviton3'] },
  { name: 'deploy-time c7g type with generation 4', issueClass: 'wrong acceptance', build: chosen({ instanceType: 'c7g.large', generation: 4, cpuPart: '0xd4f', armArch: 'armv9-a+sve2+i8mm+bf16+dotprod+fp16' }), prop: 'instanceType', says: ['Graviton4', 'Graviton3'] },
  { name: 'llamaCppCommit abc123', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ llamaCppRef: 'b6500', llamaCppCommit: 'abc123' }), prop: 'llamaCppCommit', says: ['got "abc123"', '40-character commit'] },
  { name: 'llamaCppRef --upload-pack=touch', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ llamaCppRef: '--upload-pack=touch' }), prop: 'llamaCppRef', says: ['got "--upload-pack=touch"', 'release tag like v0.5.0 or b6500'] },
  { name: 'llamaCppRef a branch', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ llamaCppRef: 'master', llamaCppCommit: 'f'.repeat(40) }), prop: 'llamaCppRef', says: ['release tag'] },
  { name: 'endpointName with a space', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ endpointName: 'my endpoint' }), prop: 'endpointName', says: ['got "my endpoint"', 'letters, digits or hyphens'] },
  { name: 'logRetention of 10 days', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ logRetention: 10 }), prop: 'logRetention', says: ['got 10', 'retention periods', '14'] },
  { name: 'no client range at all', issueClass: 'wrong acceptance', build: (a) => a.endpoint({ allowedCidrs: [] }), prop: 'allowedCidrs', says: ['1 to 50 client ranges'] },

  // ---- uncaught errors where a message was due ----
  { name: 'custom model from https:// alone', issueClass: 'uncaught error', build: custom({ source: 'https://' }), prop: 'source', says: ['got "https://"', 's3://BUCKET/KEY'] },
  { name: 'custom model from https:// with a port and nothing else', issueClass: 'uncaught error', build: custom({ source: 'https://:443' }), prop: 'source', says: ['https://HOST/PATH'] },
  { name: 'allowedCidrs one string', issueClass: 'uncaught error', build: (a) => a.endpoint({ allowedCidrs: '10.0.0.0/8' }), prop: 'allowedCidrs', says: ['list of IPv4 CIDR blocks', 'not one string'] },
  { name: 'allowedCidrs comma-separated', issueClass: 'uncaught error', build: (a) => a.endpoint({ internetFacing: true, certificateArn: CERT, allowedCidrs: '10.0.0.0/8,192.168.0.0/16' }), prop: 'allowedCidrs', says: ['list'] },
  { name: 'scheduledCapacity one object', issueClass: 'uncaught error', build: (a) => a.endpoint({ scheduledCapacity: NIGHT }), prop: 'scheduledCapacity', says: ['list of schedules'] },
  { name: 'scheduledCapacity holding null', issueClass: 'uncaught error', build: (a) => a.endpoint({ scheduledCapacity: [null] }), prop: 'scheduledCapacity[0]', says: ['name, cron, minCapacity, maxCapacity'] },
  { name: 'no model', issueClass: 'uncaught error', build: (a) => a.endpoint({ model: undefined }), prop: 'model', says: ['required', 'LlamaModel.fromCatalog(id)'] },
  { name: 'model as a catalog id string', issueClass: 'uncaught error', build: (a) => a.endpoint({ model: 'llama-3.2-1b-instruct-q4_0' }), prop: 'model', says: ['got "llama-3.2-1b-instruct-q4_0"', 'LlamaModel.fromCatalog(id)'] },
  { name: 'instanceType as a string', issueClass: 'uncaught error', build: (a) => a.endpoint({ instanceType: 'c7g.xlarge' }), prop: 'instanceType', says: ['got "c7g.xlarge"', 'GravitonInstanceType.of'] },
  { name: 'LlamaModel.custom with no props', issueClass: 'uncaught error', build: () => LlamaModel.custom(undefined as never), prop: 'props', says: ['source, sha256, sizeBytes'] },
  { name: 'LlamaModel.custom without sha256', issueClass: 'uncaught error', build: custom({ sha256: undefined }), prop: 'sha256', says: ['required', '64 lowercase hexadecimal'] },
  { name: 'GravitonInstanceType.of(undefined)', issueClass: 'uncaught error', build: () => GravitonInstanceType.of(undefined as never), prop: 'instanceType', says: ['c7g.2xlarge'] },
  { name: 'chosenAtDeployTime with no props', issueClass: 'uncaught error', build: () => GravitonInstanceType.chosenAtDeployTime(undefined as never), prop: 'props', says: ['instanceType, generation, cpuPart, armArch'] },
  { name: 'bootTimeout a number of minutes', issueClass: 'uncaught error', build: (a) => a.endpoint({ bootTimeout: 40 }), prop: 'bootTimeout', says: ['Duration', 'Duration.minutes(40)'] },
  { name: 'existingVpc a VPC id', issueClass: 'uncaught error', build: (a) => a.endpoint({ existingVpc: 'vpc-0123456789abcdef0', allowedCidrs: ['10.0.0.0/8'] }), prop: 'existingVpc', says: ['ec2.IVpc'] },
  { name: 'no props at all', issueClass: 'uncaught error', build: (a) => new GravitonLlmEndpoint(a.stack, 'Llm', undefined as never), prop: 'props', says: ['model, instanceType'] },

  // ---- messages that named something other than the prop ----
  { name: 'fileName with a space, once refused as GLLM_MODEL_FILE', issueClass: 'wrong name', build: (a) => a.endpoint({ model: LlamaModel.custom({ ...CUSTOM, fileName: 'my model.gguf' }) }), prop: 'fileName', says: ['got "my model.gguf"', 'no path, no spaces'] },
  { name: 'endpointName with a slash, once refused as a derived SSM parameter name', issueClass: 'wrong name', build: (a) => a.endpoint({ endpointName: 'llm/prod' }), prop: 'endpointName', says: ['got "llm/prod"', 'letters, digits or hyphens'] },
  { name: 'endpointName of 200 characters', issueClass: 'wrong name', build: (a) => a.endpoint({ endpointName: 'e'.repeat(200) }), prop: 'endpointName', says: ['at most 128 characters'] },
  { name: 'two endpoints in one stack without endpointName', issueClass: 'wrong name', build: (a) => { a.endpoint({}, 'First'); a.endpoint({}, 'Second'); }, prop: 'endpointName', says: ['required for a second endpoint', 'Library/First', 'endpointName of its own'] },
  { name: 'two endpoints of one endpointName', issueClass: 'wrong name', build: (a) => { a.endpoint({ endpointName: 'team-llm' }, 'First'); a.endpoint({ endpointName: 'team-llm' }, 'Second'); }, prop: 'endpointName', says: ['got "team-llm"', 'no other endpoint', 'Library/First'] },
  { name: 'parallelSlots NaN', issueClass: 'wrong name', build: (a) => a.endpoint({ parallelSlots: NaN }), prop: 'parallelSlots', says: ['NaN', 'whole number from 1 to 64'] },
  { name: 'maxCapacity Infinity', issueClass: 'wrong name', build: (a) => a.endpoint({ maxCapacity: Infinity }), prop: 'maxCapacity', says: ['Infinity', 'whole number from 1 to 100'] },
  { name: 'promptCacheMiB NaN', issueClass: 'wrong name', build: (a) => a.endpoint({ promptCacheMiB: NaN }), prop: 'promptCacheMiB', says: ['NaN', 'whole number of MiB'] },
  { name: 'llamaCppCommit in upper case', issueClass: 'wrong name', build: (a) => a.endpoint({ llamaCppRef: 'b6500', llamaCppCommit: 'DE3FF815EA7D559EE917F063901B8986F038ABC6' }), prop: 'llamaCppCommit', says: ['lower case', 'de3ff815ea7d559ee917f063901b8986f038abc6'] },
  { name: 'llamaCppRef commit in upper case', issueClass: 'wrong name', build: (a) => a.endpoint({ llamaCppRef: 'DE3FF815EA7D559EE917F063901B8986F038ABC6' }), prop: 'llamaCppRef', says: ['lower case'] },
  { name: 'custom model sha256 in upper case', issueClass: 'wrong name', build: custom({ sha256: 'A'.repeat(64) }), prop: 'sha256', says: ['lower case', 'a'.repeat(64)] },
  { name: 'bootTimeout of 5 minutes, in the prop\'s unit', issueClass: 'kept', build: (a) => a.endpoint({ bootTimeout: Duration.minutes(5) }), prop: 'bootTimeout', says: ['got 5', 'whole number of minutes from 10 to 120'] },

  // ---- JavaScript values of the wrong type ----
  { name: 'internetFacing "false"', issueClass: 'wrong type', build: (a) => a.endpoint({ internetFacing: 'false' }), prop: 'internetFacing', says: ['got "false"', 'true or false', 'not a string'] },
  { name: 'retainArtifactsOnDelete "yes"', issueClass: 'wrong type', build: (a) => a.endpoint({ retainArtifactsOnDelete: 'yes' }), prop: 'retainArtifactsOnDelete', says: ['true or false'] },
  { name: 'loadBalancerDeletionProtection 1', issueClass: 'wrong type', build: (a) => a.endpoint({ loadBalancerDeletionProtection: 1 }), prop: 'loadBalancerDeletionProtection', says: ['got 1', 'true or false'] },
  { name: 'maxCapacity "3"', issueClass: 'kept', build: (a) => a.endpoint({ maxCapacity: '3' }), prop: 'maxCapacity', says: ['got "3"', 'whole number from 1 to 100'] },
  { name: 'minCapacity "5" is not compared as a string', issueClass: 'wrong type', build: (a) => a.endpoint({ minCapacity: '5' }), prop: 'minCapacity', says: ['got "5"', 'whole number from 1 to 100'] },
  { name: 'port "8080"', issueClass: 'kept', build: (a) => a.endpoint({ port: '8080' }), prop: 'port', says: ['whole number from 1024 to 65535'] },
  { name: 'allowedCidrs holding a number', issueClass: 'wrong type', build: (a) => a.endpoint({ allowedCidrs: ['10.0.0.0/8', 10] }), prop: 'allowedCidrs[1]', says: ['each entry a string'] },
  { name: 'certificateArn a number', issueClass: 'wrong type', build: (a) => a.endpoint({ certificateArn: 5, domainName: 'llm.internal.example' }), prop: 'certificateArn', says: ['ACM certificate ARN (a string)'] },
  { name: 'alarmEmail a list', issueClass: 'wrong type', build: (a) => a.endpoint({ alarmEmail: ['oncall@example.com'] }), prop: 'alarmEmail', says: ['e-mail address (a string)'] },
  { name: 'vpcProps.maxAzs "2"', issueClass: 'kept', build: (a) => a.endpoint({ vpcProps: { maxAzs: '2' } }), prop: 'vpcProps.maxAzs', says: ['whole number from 2 to 6'] },
  { name: 'vpcProps a CIDR string', issueClass: 'wrong type', build: (a) => a.endpoint({ vpcProps: '10.64.0.0/16' }), prop: 'vpcProps', says: ['cidr, maxAzs, natGateways'] },
  { name: 'schedule minCapacity "1"', issueClass: 'wrong type', build: (a) => a.endpoint({ scheduledCapacity: schedule({ minCapacity: '1' }) }), prop: 'scheduledCapacity[0].minCapacity', says: ['whole number from 0 to 100'] },
  { name: 'schedule cron a number', issueClass: 'wrong type', build: (a) => a.endpoint({ scheduledCapacity: schedule({ cron: 0 }) }), prop: 'scheduledCapacity[0].cron', says: ['cron expression'] },
  { name: 'loadBalancerIdleTimeout seconds as a number', issueClass: 'wrong type', build: (a) => a.endpoint({ loadBalancerIdleTimeout: 600 }), prop: 'loadBalancerIdleTimeout', says: ['Duration.seconds(600)', 'no unit'] },
  { name: 'logRetention "ONE_MONTH"', issueClass: 'wrong type', build: (a) => a.endpoint({ logRetention: 'ONE_MONTH' }), prop: 'logRetention', says: ['logs.RetentionDays'] },
  { name: 'deploy-time generation "3"', issueClass: 'wrong type', build: chosen({ generation: '3' }), prop: 'generation', says: ['2, 3, 4, 5'] },
  { name: 'custom model size a string', issueClass: 'kept', build: custom({ sizeBytes: '4900000000' }), prop: 'sizeBytes', says: ['whole number of at least 1'] },
  { name: 'custom model architecture a number', issueClass: 'kept', build: custom({ architecture: 8 }), prop: 'architecture', says: ['llama-3.1-8b'] },
  { name: 'alarmTopic an ARN string', issueClass: 'wrong type', build: (a) => a.endpoint({ alarmTopic: 'arn:aws:sns:us-east-1:123456789012:alarms' }), prop: 'alarmTopic', says: ['sns.ITopic'] },
];

/** Checks the app would have made before issue 21 too, kept here as a control of the driver. */
export const GOOD_PROPS: (app: CaseApp) => void = (a) => {
  a.endpoint({
    minCapacity: 1,
    maxCapacity: 2,
    internetFacing: false,
    scheduledCapacity: schedule({}),
    machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    logRetention: logs.RetentionDays.TWO_WEEKS,
    bootScriptBucketAccount: new CfnParameter(a.stack, 'AssetAccount').valueAsString,
  });
};
