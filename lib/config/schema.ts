import { z } from 'zod';
import { AL2023_ARM64_AMI_PARAMETER } from '../catalogs/amazon-linux';
import { ARCHITECTURE_IDS } from '../catalogs/model-architectures';
import { QUANTIZATIONS } from '../catalogs/quantizations';
import { cidrProblem } from '../constructs/prop-formats';
import { RangedSetting, rangeExpectation } from '../constructs/prop-ranges';
import { ENDPOINT_DEFAULTS } from '../constructs/graviton-llm-endpoint';
import { SPOT_DEREGISTRATION_DELAY_SECONDS } from '../constructs/spot-drain';

/**
 * The kit's configuration: one schema, used to read cdk.json context, a
 * config file and `-c key=value` overrides alike. Every field carries a
 * description (shown in the README's configuration reference, which a test
 * keeps in step with this file) and the default that applies when it is unset.
 *
 * The schema holds the configuration's structure only: its fields (an
 * unknown or misspelt one is refused here), and each field's JSON type (what
 * a file holds, and what a `-c` string is read as). The values' rules are the
 * constructs': a field that becomes a prop of GravitonLlmEndpoint,
 * LlamaModel.custom or GravitonInstanceType is checked by that construct's
 * own functions, which `resolve.ts` runs on the props the configuration maps
 * to, naming the file and key each problem came from
 * (test/config/one-definition.test.ts keeps it so). The schema's own rules
 * are for the fields that have no prop: the stack's name, account and
 * region, and an existing VPC's and subnets' ids.
 */

/** An IPv4 CIDR block whose address is the network's own (no host bits): the org configuration's parameter defaults. */
export function cidrSchema(example: string) {
  return z.string().superRefine((cidr, ctx) => {
    const problem = cidrProblem(cidr, example);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;

/**
 * A number that becomes a prop with a range: its type only. What a value
 * that is not a number is told is the construct's own wording of the range.
 */
const ranged = (setting: RangedSetting, unit?: string) => z.number({
  error: (issue) => (issue.input === undefined ? undefined : rangeExpectation(setting, unit)),
});

export const customModelSchema = z.strictObject({
  source: z.string()
    .describe('Where to fetch the GGUF file: `s3://bucket/key.gguf` or an `https://` URL.'),
  sha256: z.string()
    .describe('SHA-256 of the file; the boot refuses a file that does not match.'),
  sizeBytes: z.number()
    .describe('File size in bytes; sizes the fit check and the root volume.'),
  architecture: z.string()
    .describe(`The Llama 3 model this one was fine-tuned from (${ARCHITECTURE_IDS.join(', ')}); gives the KV-cache shape and context limit.`),
  quantization: z.string()
    .describe(`Quantization of the file as fetched (${QUANTIZATIONS.join(', ')}).`),
  quantizeTo: z.string().optional()
    .describe('Quantize an F16 file on the instance with llama-quantize (result cached). @default - serve the file as fetched'),
});

export const scheduleSchema = z.strictObject({
  name: z.string().describe('Name of the scheduled action.'),
  cron: z.string().describe('When, as a five-field cron expression in UTC.'),
  minCapacity: ranged('scheduledMinCapacity').describe('Fewest instances from then on.'),
  maxCapacity: ranged('scheduledMaxCapacity').describe('Most instances from then on.'),
});

export const configSchema = z.strictObject({
  stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, {
    message: 'expected a CloudFormation stack name: a letter, then letters, digits or hyphens, at most 128 characters',
  }).default('GravitonLlm')
    .describe('CloudFormation stack name.'),
  account: z.string().regex(/^\d{12}$/, { message: 'expected a 12-digit AWS account id' }).optional()
    .describe('AWS account to deploy to; a named environment pins it, so a deploy with another account\'s credentials fails instead of landing there. @default - the AWS CLI\'s current account (CDK_DEFAULT_ACCOUNT)'),
  region: z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, { message: 'expected an AWS region code like us-east-1' }).optional()
    .describe('AWS region to deploy to. @default - the AWS CLI\'s current region (CDK_DEFAULT_REGION), else us-east-1'),
  model: z.string().optional()
    .describe('Catalog model id, e.g. `llama-3.2-3b-instruct-q4_0` (see the model catalog). @default - llama-3.2-3b-instruct-q4_0 unless customModel is set'),
  customModel: customModelSchema.optional()
    .describe('Your own GGUF instead of a catalog model (object; give it in a config file or as JSON). @default - none'),
  instanceType: z.string().default('c7g.2xlarge')
    .describe('Graviton instance type (see the Graviton catalog).'),
  additionalInstanceTypes: z.array(z.string()).optional()
    .describe('More Graviton types the group may launch besides instanceType (which stays its first), of instanceType\'s generation (one build serves them all), each passing the memory fit check; e.g. ["m7g.2xlarge"] beside c7g.2xlarge. Not with warmPoolSize. @default - instanceType only'),
  purchaseOption: z.string().optional()
    .describe('`on-demand`, or `spot`: Spot above an on-demand base (onDemandBaseCapacity, onDemandPercentageAboveBaseCapacity), price-capacity-optimized, Capacity Rebalance. On an interruption notice or a rebalance recommendation an instance deregisters itself and lets its running streams finish before it stops (see Spot and several instance types). Not with warmPoolSize. @default - on-demand'),
  onDemandBaseCapacity: ranged('onDemandBaseCapacity').optional()
    .describe('With purchaseOption spot: the first instances, launched on demand before any Spot one. @default - 0'),
  onDemandPercentageAboveBaseCapacity: ranged('onDemandPercentageAboveBaseCapacity').optional()
    .describe('With purchaseOption spot: the percentage of instances above the base launched on demand. @default - 0 (all Spot above the base)'),
  amiId: z.string().optional()
    .describe(`Amazon Linux 2023 arm64 AMI the instances start from, an id of the stack's region (needs region). The fleet moves to another AMI only when this changes; the current one: \`aws ssm get-parameter --name ${AL2023_ARM64_AMI_PARAMETER} --query Parameter.Value --output text\`. @default - that parameter's value, looked up at the first synth with credentials and recorded in cdk.context.json`),
  minCapacity: ranged('minCapacity').default(ENDPOINT_DEFAULTS.minCapacity)
    .describe('Fewest instances in the fleet.'),
  maxCapacity: ranged('maxCapacity').default(ENDPOINT_DEFAULTS.maxCapacity)
    .describe('Most instances in the fleet.'),
  parallelSlots: ranged('parallelSlots').default(ENDPOINT_DEFAULTS.parallelSlots)
    .describe('Requests each instance serves at once (llama-server `--parallel`), batched together.'),
  contextTokensPerSlot: ranged('contextTokensPerSlot').default(ENDPOINT_DEFAULTS.contextTokensPerSlot)
    .describe('Context window of each slot, in tokens (prompt plus output).'),
  llamaCppRef: z.string().optional()
    .describe('llama.cpp release tag or commit the instances build. @default - the release the kit is tested with (see README)'),
  llamaCppCommit: z.string().optional()
    .describe('Commit that llamaCppRef names; instances fetch and check this commit, so a moved tag changes nothing. Needed for a tag the kit does not know. @default - the known commit of llamaCppRef'),
  vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { message: 'expected a VPC id like vpc-0123456789abcdef0' }).optional()
    .describe('Deploy into this existing VPC instead of creating one; needs privateSubnetIds and allowedCidrs (no lookup: synth stays offline). The kit creates no NAT gateway or VPC endpoints in it. @default - a new VPC'),
  privateSubnetIds: z.array(z.string().regex(SUBNET_ID, { message: 'expected a subnet id like subnet-0123456789abcdef0' })).min(2).max(16).optional()
    .describe('With vpcId: private subnets in at least two AZs, for the instances and an internal load balancer. They must route to the internet (a NAT gateway): instances fetch llama.cpp from GitHub and models from Hugging Face (see Deploy into an existing VPC). @default - none'),
  publicSubnetIds: z.array(z.string().regex(SUBNET_ID, { message: 'expected a subnet id like subnet-0123456789abcdef0' })).min(2).max(16).optional()
    .describe('With vpcId and internetFacing: public subnets in at least two AZs for the load balancer. @default - none'),
  vpcCidr: z.string().optional()
    .describe('CIDR block of the new VPC; not allowed with vpcId. @default - 10.64.0.0/16'),
  maxAzs: ranged('maxAzs').optional()
    .describe('Availability zones the new VPC spans; not allowed with vpcId. @default - 2'),
  natGateways: ranged('natGateways').optional()
    .describe('NAT gateways of the new VPC (one per AZ survives an AZ outage); not allowed with vpcId. @default - 1'),
  internetFacing: z.boolean().default(false)
    .describe('Put the load balancer on the internet (HTTPS only) rather than inside the VPC.'),
  certificateArn: z.string().optional()
    .describe('ACM certificate (in the stack\'s region) for HTTPS; required when internetFacing is true; on an internal endpoint it needs domainName. @default - plain HTTP inside the VPC'),
  domainName: z.string().optional()
    .describe('With certificateArn on an internal endpoint: the name the certificate covers and clients use; point it at the load balancer in your DNS. @default - none'),
  allowedCidrs: z.array(z.string()).optional()
    .describe('Client address ranges the load balancer accepts (comma-separated on the command line); required when internetFacing is true. @default - the VPC CIDR'),
  port: ranged('port').default(ENDPOINT_DEFAULTS.port)
    .describe('Port llama-server listens on inside the instances.'),
  loadBalancerIdleTimeoutSeconds: ranged('loadBalancerIdleTimeoutSeconds', 'seconds').default(ENDPOINT_DEFAULTS.loadBalancerIdleTimeoutSeconds)
    .describe('Seconds the load balancer keeps a silent connection open; long prompts take a while to their first token.'),
  // No schema default: a Spot group's default differs (90), and a value given must be told from none (GravitonLlmEndpoint chooses).
  deregistrationDelaySeconds: ranged('deregistrationDelaySeconds', 'seconds').optional()
    .describe(`Seconds a leaving instance keeps serving its open streams; with purchaseOption spot at most ${SPOT_DEREGISTRATION_DELAY_SECONDS}, the drain's budget within the two-minute interruption notice. @default - ${ENDPOINT_DEFAULTS.deregistrationDelaySeconds}; ${SPOT_DEREGISTRATION_DELAY_SECONDS} with purchaseOption spot`),
  bootTimeoutMinutes: ranged('bootTimeoutMinutes', 'minutes').default(ENDPOINT_DEFAULTS.bootTimeoutMinutes)
    .describe('How long a new instance may take to build llama.cpp, fetch the model and pass its health check.'),
  rootVolumeGiB: ranged('rootVolumeGiB').optional()
    .describe('Root volume size. @default - twice the model size plus 20 GiB for the build and logs'),
  rootVolumeThroughputMiBps: ranged('rootVolumeThroughputMiBps').default(ENDPOINT_DEFAULTS.rootVolumeThroughputMiBps)
    .describe('gp3 throughput of the root volume; the model is read from it at every start.'),
  logRetentionDays: z.number().default(ENDPOINT_DEFAULTS.logRetentionDays)
    .describe('Days the boot and server logs are kept.'),
  apiKeyParameterName: z.string().optional()
    .describe('SSM SecureString parameter that holds the generated API key. @default - /graviton-llm/STACKNAME/api-key'),
  huggingFaceTokenParameterName: z.string().optional()
    .describe('SSM SecureString parameter holding a Hugging Face token, for gated repositories. @default - anonymous downloads'),
  retainArtifactsOnDelete: z.boolean().default(false)
    .describe('Keep the artifact bucket (cached builds and models) when the stack is deleted.'),
  trustedBuilder: z.boolean().default(true)
    .describe('A builder instance compiles llama.cpp and prepares the model before the fleet, and the template pins what it wrote; the fleet only reads. false: no builder, the fleet\'s first instances compile and write the cache (README, Security).'),
  loadBalancerDeletionProtection: z.boolean().default(false)
    .describe('Refuse to delete the load balancer (and so the stack) until this is turned off again: for an endpoint that others depend on.'),
  targetSlotUtilizationPercent: ranged('targetSlotUtilizationPercent').default(ENDPOINT_DEFAULTS.targetSlotUtilizationPercent)
    .describe('Scale out above, in below this share of busy and queued slots across the fleet.'),
  updateMinHealthyPercent: ranged('updateMinHealthyPercent').default(ENDPOINT_DEFAULTS.updateMinHealthyPercent)
    .describe('Share of the fleet an update keeps serving: at 100 it launches each new instance before retiring an old one; lower replaces in place, faster and without extra instances.'),
  updateBakeTimeMinutes: ranged('updateBakeTimeMinutes', 'minutes').default(ENDPOINT_DEFAULTS.updateBakeTimeMinutes)
    .describe('Minutes an update keeps watching the rollback alarms after the last new instance serves, before it counts as done (the latency alarms need 15 minutes to fire).'),
  warmPoolSize: ranged('warmPoolSize').default(ENDPOINT_DEFAULTS.warmPoolSize)
    .describe('Stopped, already-booted instances kept ready to join the fleet in a minute or two instead of a full boot (0: none).'),
  scheduledCapacity: z.array(scheduleSchema).optional()
    .describe('Capacity changes on a schedule (list of objects; give it in a config file or as JSON). @default - none'),
  alarmEmail: z.string().optional()
    .describe('Subscribe this address to the alarm topic (confirm the e-mail AWS sends). @default - no subscription'),
  ttftP90AlarmMs: ranged('ttftP90AlarmMs').default(ENDPOINT_DEFAULTS.ttftP90AlarmMs)
    .describe('Alarm when the canary\'s p90 time to first token stays above this.'),
  tpotP90AlarmMs: ranged('tpotP90AlarmMs').default(ENDPOINT_DEFAULTS.tpotP90AlarmMs)
    .describe('Alarm when the canary\'s p90 time per output token stays above this (100 ms: the interactive target).'),
  errorRateAlarmPercent: ranged('errorRateAlarmPercent').default(ENDPOINT_DEFAULTS.errorRateAlarmPercent)
    .describe('Alarm when 5xx responses (from the load balancer or from the instances) exceed this share of requests.'),
  canaryUrl: z.string().optional()
    .describe('Where the canary reaches an internet-facing endpoint: https:// and the domain name the certificate covers (allowedCidrs must admit the VPC\'s NAT addresses). @default - the load balancer\'s own address for an internal endpoint; no canary for an internet-facing one'),
  canaryIntervalMinutes: ranged('canaryIntervalMinutes', 'minutes').default(ENDPOINT_DEFAULTS.canaryIntervalMinutes)
    .describe('How often the canary sends a streamed chat completion through the load balancer.'),
});

export type KitConfigInput = z.input<typeof configSchema>;
export type KitConfig = z.output<typeof configSchema>;
export type CustomModelConfig = z.output<typeof customModelSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;

/** The names of every configuration field, in schema order. */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof KitConfig)[];
