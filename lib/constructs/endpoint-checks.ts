import { Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { GravitonInstance } from '../catalogs/graviton-instances';
import { LlamaModel, ROOT_VOLUME_BASE_GIB } from '../models/llama-model';
import {
  MemoryNeed, PROMPT_CACHE_ALLOWANCE_FRACTION, PROMPT_CACHE_MAX_MIB, fits, formatGiB, memoryNeed, promptCacheMiB, promptCacheRoomMiB, sizesThatFit, usableBytes,
} from '../sizing/memory-fit';
import { PropProblem } from '../base/problems';
import { PropType, isKnown, numberType, objectType, propTypeProblems, required, stringType, withoutProps } from '../base/prop-types';
import { cronProblem } from './cron';
import { rangeExpectation, rangeProblems } from './prop-ranges';

/**
 * The checks of an endpoint's values that span several of them, written once:
 * GravitonLlmEndpoint runs them on its props (InferenceEndpoint those of its
 * load balancer), and resolveConfig on a configuration (adding the file each
 * value came from). A value that is a CloudFormation token is left to the
 * template (the org template's rules).
 */

/** Whether every value is known at synth. */
function known(...values: unknown[]): boolean {
  return values.every((v) => !Token.isUnresolved(v));
}

export interface CapacityValues {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly warmPoolSize: number;
}

/** minCapacity and the warm pool within maxCapacity. */
export function capacityProblems(v: CapacityValues): PropProblem[] {
  const problems: PropProblem[] = [];
  if (known(v.minCapacity, v.maxCapacity) && v.minCapacity > v.maxCapacity) {
    problems.push({
      field: 'minCapacity',
      given: v.minCapacity,
      expected: `expected at most maxCapacity (${v.maxCapacity}); raise maxCapacity or lower minCapacity`,
    });
  }
  if (known(v.warmPoolSize, v.maxCapacity) && v.warmPoolSize > v.maxCapacity) {
    problems.push({ field: 'warmPoolSize', given: v.warmPoolSize, expected: `expected at most maxCapacity (${v.maxCapacity}): a warm pool holds instances the fleet can grow into` });
  }
  return problems;
}

/** A capacity change on a schedule (UTC cron). */
export interface ScheduledCapacity {
  /** Names the scheduled action; unique among the endpoint's schedules. */
  readonly name: string;
  /** Five-field cron expression, in UTC. */
  readonly cron: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

/** Most schedules an endpoint takes. */
export const MAX_SCHEDULES = 20;
/** A schedule's name: it names the scheduled action (and its construct). */
const SCHEDULE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

/** The JavaScript type of each field of a schedule. */
const SCHEDULE_TYPES: { readonly [K in keyof ScheduledCapacity]-?: PropType } = {
  name: required(stringType('expected a name of letters, digits and hyphens'), 'a name of letters, digits and hyphens'),
  cron: required(stringType('expected a five-field cron expression in UTC, e.g. 0 8 * * MON-FRI'), 'a five-field cron expression in UTC, e.g. 0 8 * * MON-FRI'),
  minCapacity: required(numberType(rangeExpectation('scheduledMinCapacity')), rangeExpectation('scheduledMinCapacity').replace(/^expected /, '')),
  maxCapacity: required(numberType(rangeExpectation('scheduledMaxCapacity')), rangeExpectation('scheduledMaxCapacity').replace(/^expected /, '')),
};

/**
 * Each schedule's name, cron expression (as Auto Scaling reads it) and
 * capacities, a name per schedule, and at most MAX_SCHEDULES of them. Fields
 * are named `scheduledCapacity[i].cron`.
 */
export function scheduleProblems(schedules: readonly ScheduledCapacity[], field = 'scheduledCapacity'): PropProblem[] {
  if (!isKnown(schedules)) {
    return [];
  }
  const problems: PropProblem[] = [];
  if (schedules.length > MAX_SCHEDULES) {
    problems.push({ field, given: `${schedules.length} schedules`, expected: `expected at most ${MAX_SCHEDULES} schedules` });
  }
  for (const [i, entry] of schedules.entries()) {
    const at = `${field}[${i}]`;
    const entryType = objectType('expected a schedule: { name, cron, minCapacity, maxCapacity }')(at, entry ?? null);
    if (entryType) {
      problems.push(entryType);
      continue;
    }
    const types = propTypeProblems(entry, SCHEDULE_TYPES, `${at}.`);
    const schedule: Partial<ScheduledCapacity> = withoutProps(entry, types, `${at}.`);
    problems.push(...types);
    if (isKnown(schedule.name) && !SCHEDULE_NAME.test(schedule.name!)) {
      problems.push({ field: `${at}.name`, given: schedule.name, expected: 'expected a name of letters, digits and hyphens, starting with a letter, at most 64 characters' });
    }
    const cron = isKnown(schedule.cron) ? cronProblem(schedule.cron!) : undefined;
    if (cron) {
      problems.push({ field: `${at}.cron`, given: schedule.cron, expected: cron });
    }
    const ranges = rangeProblems([
      { field: `${at}.minCapacity`, setting: 'scheduledMinCapacity', value: schedule.minCapacity },
      { field: `${at}.maxCapacity`, setting: 'scheduledMaxCapacity', value: schedule.maxCapacity },
    ]);
    problems.push(...ranges);
    if (ranges.length === 0 && known(schedule.minCapacity, schedule.maxCapacity) && schedule.minCapacity! > schedule.maxCapacity!) {
      problems.push({
        field: `${at}.minCapacity`,
        given: schedule.minCapacity,
        expected: `expected at most this schedule's maxCapacity (${schedule.maxCapacity})`,
      });
    }
  }
  const names = schedules.map((s) => s?.name).filter((n) => typeof n === 'string');
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) {
    problems.push({ field, given: repeated, expected: 'expected each schedule to have its own name' });
  }
  return problems;
}

/** A prop that must be a list of schedules (each checked by scheduleProblems). */
export const schedulesType: PropType = (field, value) => (value === undefined || Array.isArray(value) || Token.isUnresolved(value)
  ? undefined
  : { field, given: value, expected: 'expected a list of schedules: [{ name, cron, minCapacity, maxCapacity }]' });

/** A slot's context within what the model was trained for. */
export function contextProblems(model: LlamaModel, contextTokensPerSlot: number): PropProblem[] {
  if (known(contextTokensPerSlot) && contextTokensPerSlot > model.architecture.contextLength) {
    return [{
      field: 'contextTokensPerSlot',
      given: contextTokensPerSlot,
      expected: `expected at most ${model.architecture.contextLength}, the context length ${model.displayName} was trained for`,
    }];
  }
  return [];
}

/** What serving the model takes in memory; undefined when its size is known only at deploy time. */
export function servingMemory(model: LlamaModel, parallelSlots: number, contextTokensPerSlot: number): MemoryNeed | undefined {
  if (!known(model.sizeBytes, parallelSlots, contextTokensPerSlot)) {
    return undefined;
  }
  return memoryNeed({ modelBytes: model.servedBytes(), architecture: model.architecture, parallelSlots, contextTokensPerSlot });
}

/**
 * The model, its slots' KV cache and compute buffers in the instance's usable
 * memory, with sizes that would fit; `field` names the prop that gave the type
 * (instanceType, or an entry of additionalInstanceTypes).
 */
export function memoryFitProblems(model: LlamaModel, instance: GravitonInstance, parallelSlots: number, contextTokensPerSlot: number, field = 'instanceType'): PropProblem[] {
  const memory = servingMemory(model, parallelSlots, contextTokensPerSlot);
  if (!memory || fits(memory, instance)) {
    return [];
  }
  const alternatives = sizesThatFit(memory, instance).map((i) => `${i.instanceType} (${i.memoryGiB} GiB)`);
  return [{
    field,
    given: instance.instanceType,
    expected: `${model.displayName} ${model.quantization} with ${parallelSlots} slots of ${contextTokensPerSlot} tokens needs ${formatGiB(memory.totalBytes)} `
      + `(model ${formatGiB(memory.modelBytes)} + KV cache ${formatGiB(memory.kvCacheBytes)} + compute buffers ${formatGiB(memory.computeBytes)}), `
      + `but ${instance.instanceType} has ${instance.memoryGiB} GiB, of which ${formatGiB(Math.max(0, usableBytes(instance)))} is usable after the OS reserve and 10% headroom. `
      + `llama-server's RAM prompt cache (--cache-ram) is not in this need: it is sized from what the need leaves, up to ${PROMPT_CACHE_MAX_MIB} MiB, and 0 where nothing is left. `
      + (alternatives.length > 0
        ? `Sizes that fit: ${alternatives.join(', ')}; or lower parallelSlots or contextTokensPerSlot`
        : 'No Graviton size fits; lower parallelSlots or contextTokensPerSlot, or pick a smaller quantization'),
  }];
}

/**
 * llama-server's RAM prompt cache (`--cache-ram`, MiB) and what is wrong with
 * a given one. By default the cache gets what the memory fit check leaves on
 * the instance, up to llama-server's own 8192 MiB default, so it can never
 * push the server past the instance's memory; 0 where the instance type is
 * chosen at deploy time and no size is given (the endpoint cannot tell what
 * it can spare). A given size may not exceed what the instance leaves.
 */
export function promptCacheOf(
  model: LlamaModel, instance: GravitonInstance | undefined, parallelSlots: number, contextTokensPerSlot: number, given: number | undefined,
): { readonly mib: number; readonly problems: PropProblem[] } {
  const memory = servingMemory(model, parallelSlots, contextTokensPerSlot);
  const spare = memory && instance ? promptCacheRoomMiB(memory, instance) : undefined;
  if (given === undefined) {
    return { mib: memory && instance ? promptCacheMiB(memory, instance) : 0, problems: [] };
  }
  if (!known(given)) {
    return { mib: given, problems: [] };
  }
  if (!(Number.isInteger(given) && given >= 0)) {
    return { mib: given, problems: [{ field: 'promptCacheMiB', given, expected: 'expected a whole number of MiB, 0 or more (0 turns the cache off)' }] };
  }
  if (spare !== undefined && given > spare) {
    return {
      mib: given,
      problems: [{
        field: 'promptCacheMiB',
        given,
        expected: `expected at most ${spare} MiB: what ${instance!.instanceType} has left once the model, the KV cache of ${parallelSlots} slots of ${contextTokensPerSlot} tokens, the compute buffers `
          + `and an allowance of ${PROMPT_CACHE_ALLOWANCE_FRACTION * 100}% of those for the server's own memory are counted`
          + ' (a larger cache lets the server outgrow the instance\'s memory and be killed); leave promptCacheMiB unset to get exactly what is left, up to 8192 MiB',
      }],
    };
  }
  return { mib: given, problems: [] };
}

/** A root volume that holds the model twice (download and verified copy) plus the OS and build. */
export function rootVolumeProblems(model: LlamaModel, rootVolumeGiB: number | undefined, field = 'rootVolumeGiB'): PropProblem[] {
  if (rootVolumeGiB === undefined) {
    return known(model.sizeBytes) ? [] : [{
      field,
      expected: 'required when the model\'s size is a CloudFormation value: the default is computed from the size, which synth cannot read',
    }];
  }
  if (!known(model.sizeBytes, rootVolumeGiB)) {
    return [];
  }
  const minimum = model.minimumRootVolumeGiB();
  return rootVolumeGiB < minimum ? [{
    field,
    given: rootVolumeGiB,
    expected: `expected at least ${minimum} GiB: the model (and its cached copy while it is verified) plus ${ROOT_VOLUME_BASE_GIB} GiB for the OS and the llama.cpp build`,
  }] : [];
}

/** A new VPC's shape: at most one NAT gateway per AZ, and room for a public and a private subnet per AZ. */
export function newVpcProblems(cidr: string, maxAzs: number, natGateways: number): PropProblem[] {
  const problems: PropProblem[] = [];
  if (known(natGateways, maxAzs) && natGateways > maxAzs) {
    problems.push({ field: 'natGateways', given: natGateways, expected: `expected at most maxAzs (${maxAzs}): one NAT gateway per availability zone is the most that helps` });
  }
  const prefix = Number(cidr.split('/')[1]);
  if (known(cidr) && !(prefix >= 16 && prefix <= 22)) {
    problems.push({ field: 'vpcCidr', given: cidr, expected: 'expected a prefix from /16 to /22: the range is split into a public and a private subnet per AZ, each needing room for the instances and endpoints' });
  }
  return problems;
}

/**
 * The retention periods CloudWatch Logs offers: every value of
 * logs.RetentionDays (INFINITE, 9999, keeps logs forever), read when called.
 */
export function logRetentionDays(): readonly number[] {
  return Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
}

/** A log retention CloudWatch Logs offers. */
export function logRetentionProblems(value: unknown, field = 'logRetention'): PropProblem[] {
  const days = logRetentionDays();
  if (value === undefined || Token.isUnresolved(value) || days.includes(value as number)) {
    return [];
  }
  return [{
    field,
    given: value,
    expected: `expected one of CloudWatch Logs' retention periods, in days: ${days.join(', ')} (9999: never expire)`,
  }];
}

/** An ACM certificate ARN; the fourth field is the region the certificate lives in. */
export const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/;

/** The region an ACM certificate ARN names, or undefined when it is not one. */
export function certificateRegion(certificateArn: string): string | undefined {
  return ACM_CERTIFICATE_ARN.exec(certificateArn)?.[1];
}

/** What decides how an endpoint's load balancer serves: where it is, and its certificate and domain name. */
export interface TlsValues {
  readonly internetFacing: boolean;
  readonly certificateArn?: string;
  readonly domainName?: string;
}

/**
 * What an endpoint's HTTPS needs: an internet-facing endpoint serves HTTPS
 * only, so it needs a certificate; an internal one with a certificate needs
 * the domain name the certificate covers, because no certificate can cover
 * the load balancer's own DNS name; a domain name means nothing without a
 * certificate. A certificate or domain name that is a CloudFormation value
 * counts as given (the template's parameters say whether it is empty).
 */
export function tlsProblems(v: TlsValues): PropProblem[] {
  const problems: PropProblem[] = [];
  if (v.internetFacing && !v.certificateArn) {
    problems.push({
      field: 'certificateArn',
      expected: 'required when internetFacing is true: an internet-facing endpoint serves HTTPS only, with an ACM certificate for its domain',
    });
  }
  if (!v.internetFacing && v.certificateArn && !v.domainName) {
    problems.push({
      field: 'domainName',
      expected: 'required with certificateArn on an internal endpoint: the name the certificate covers, which clients use and your DNS points at the load balancer '
        + '(no certificate can cover the load balancer\'s own DNS name); or remove certificateArn to serve plain HTTP inside the VPC',
    });
  }
  if (v.domainName && v.internetFacing) {
    problems.push({
      field: 'domainName',
      given: v.domainName,
      expected: 'applies only to an internal endpoint (internetFacing false); an internet-facing endpoint\'s canary reaches your domain through canaryUrl',
    });
  } else if (v.domainName && !v.certificateArn) {
    problems.push({
      field: 'domainName',
      given: v.domainName,
      expected: 'applies only with certificateArn: the endpoint serves HTTPS for this name with that certificate; add certificateArn, or remove domainName',
    });
  }
  return problems;
}

/**
 * A certificate in the stack's region (an Application Load Balancer can use
 * only a certificate of its own region). Nothing is judged when the
 * certificate or the region is a CloudFormation value. `regionSource` says
 * where the region came from, when that is not plainly the stack's own.
 */
export function certificateRegionProblems(certificateArn: string | undefined, region: string, regionSource?: string): PropProblem[] {
  if (certificateArn === undefined || !known(certificateArn, region)) {
    return [];
  }
  const inRegion = certificateRegion(certificateArn);
  if (inRegion === undefined || inRegion === region) {
    return [];
  }
  return [{
    field: 'certificateArn',
    given: certificateArn,
    expected: `expected a certificate in ${region}, the region the stack deploys to${regionSource ? ` (${regionSource})` : ''}, but this one is in ${inRegion}: `
      + `a load balancer can use only an ACM certificate of its own region; request or import the certificate in ${region}`,
  }];
}

/** Who the load balancer admits, and whether the endpoint's VPC range is known at synth. */
export interface ClientRangeValues {
  readonly internetFacing: boolean;
  /** undefined: the new VPC's own range. */
  readonly allowedCidrs?: readonly string[];
  /**
   * How the caller names an existing VPC it deploys into (a prop, or a
   * configuration field and its value), whose range synth cannot read.
   * @default - a new VPC
   */
  readonly existingVpc?: string;
}

/** Most client ranges a load balancer admits (a security group holds 60 rules). */
export const MAX_CLIENT_RANGES = 50;

/**
 * The client ranges a load balancer admits: required where the endpoint
 * cannot default to a new VPC's range (an existing VPC, an internet-facing
 * endpoint), and everyone (/0) only on the internet, where every request
 * still needs HTTPS and the API key. A list, or a range, that is a
 * CloudFormation value is the template's to check.
 */
export function clientRangeProblems(v: ClientRangeValues): PropProblem[] {
  if (v.allowedCidrs === undefined) {
    if (v.existingVpc !== undefined) {
      return [{
        field: 'allowedCidrs',
        expected: `required with ${v.existingVpc}: the client ranges the load balancer admits (the endpoint does not read an existing VPC's range: synth stays offline)`,
      }];
    }
    return v.internetFacing ? [{
      field: 'allowedCidrs',
      expected: 'required when internetFacing is true: list the client ranges to admit (0.0.0.0/0 admits everyone, who still need the API key)',
    }] : [];
  }
  if (known(v.allowedCidrs) && (v.allowedCidrs.length < 1 || v.allowedCidrs.length > MAX_CLIENT_RANGES)) {
    return [{
      field: 'allowedCidrs',
      given: v.allowedCidrs,
      expected: `expected 1 to ${MAX_CLIENT_RANGES} client ranges: each is a rule of the load balancer's security group; leave allowedCidrs unset for a new VPC's own range`,
    }];
  }
  const everyone = known(v.allowedCidrs) ? v.allowedCidrs.find((cidr) => known(cidr) && cidr.endsWith('/0')) : undefined;
  return !v.internetFacing && everyone ? [{
    field: 'allowedCidrs',
    given: everyone,
    expected: 'expected the ranges your clients are in (e.g. 10.0.0.0/8; in a new VPC, leave allowedCidrs unset for the VPC\'s own range): an internal load balancer '
      + `with ${everyone} would admit every address any connected network routes to it, which the kit's security checks refuse (cdk-nag AwsSolutions-EC23); `
      + 'only an internet-facing endpoint (HTTPS with the API key) may admit everyone',
  }] : [];
}

/** canaryUrl belongs to an internet-facing endpoint: an internal one is probed at its load balancer. */
export function canaryUrlProblems(internetFacing: boolean, canaryUrl: string | undefined): PropProblem[] {
  return !internetFacing && canaryUrl ? [{
    field: 'canaryUrl',
    given: canaryUrl,
    expected: 'applies only to an internet-facing endpoint (internetFacing true); an internal endpoint\'s canary calls the load balancer itself, '
      + 'or domainName with certificateArn; remove canaryUrl',
  }] : [];
}
