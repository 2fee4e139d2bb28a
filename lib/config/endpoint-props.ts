import { Duration, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fleetImage } from '../constructs/fleet-image';
import { GravitonLlmEndpointProps } from '../constructs/graviton-llm-endpoint';
import { importNetwork } from '../constructs/inference-network';
import { GravitonInstanceType } from '../instances/graviton-instance-type';
import { PurchaseOption } from '../constructs/fleet-purchase';
import type { KitConfig } from './schema';
import type { ResolvedConfig } from './resolve';

/**
 * The configuration as GravitonLlmEndpoint's props: the adapter between
 * files and `-c` keys and the construct. resolveConfig runs the construct's
 * checks on the props a configuration maps to (settingsProps) and names
 * each problem by the field it came from (configFieldOf); endpointPropsOf
 * then builds the props of a configuration that passed them: an existing
 * VPC given by ids is imported under `scope`, and amiId becomes the machine image.
 *
 * The org template's configuration carries CloudFormation parameters' values:
 * an instance type that is a token becomes one chosen at deploy time.
 */
export function endpointPropsOf(scope: Construct, config: ResolvedConfig): GravitonLlmEndpointProps {
  const instance = config.instance;
  const instanceType = Token.isUnresolved(instance.instanceType)
    ? GravitonInstanceType.chosenAtDeployTime({
      instanceType: instance.instanceType,
      generation: instance.generationSpec.generation,
      cpuPart: instance.generationSpec.cpuPart,
      armArch: instance.generationSpec.armArch,
    })
    : GravitonInstanceType.of(instance.instanceType);
  const plan = config.network;
  const existing = plan.kind === 'existing' ? importNetwork(scope, 'Network', plan) : undefined;
  return {
    ...settingsProps(config),
    model: config.model,
    instanceType,
    additionalInstanceTypes: config.additionalInstances.length > 0 ? config.additionalInstances.map((i) => GravitonInstanceType.of(i.instanceType)) : undefined,
    existingVpc: existing?.vpc,
    vpcSubnets: existing?.privateSubnets,
    loadBalancerSubnets: config.internetFacing ? existing?.publicSubnets : undefined,
    vpcProps: plan.kind === 'new' ? { cidr: plan.cidr, maxAzs: plan.maxAzs, natGateways: plan.natGateways } : undefined,
    llamaCppCommit: config.llamaCppCommit,
    machineImage: config.amiId !== undefined ? fleetImage(scope, config.amiId) : undefined,
  };
}

/** The configuration's fields that are an endpoint's props, as a configuration holds them (checked or not). */
export type SettingFields = Pick<KitConfig, Exclude<keyof KitConfig,
  'stackName' | 'account' | 'region' | 'model' | 'customModel' | 'instanceType' | 'additionalInstanceTypes' | 'amiId' | 'vpcId' | 'privateSubnetIds' | 'publicSubnetIds' | 'vpcCidr' | 'maxAzs' | 'natGateways'>>;

/**
 * The props every field of the configuration but the model, the instance
 * types, the VPC and the image maps to, one by one: a Duration for a field
 * named in seconds or minutes, a retention for logRetentionDays.
 */
export function settingsProps(config: SettingFields): Omit<GravitonLlmEndpointProps, 'model' | 'instanceType' | 'additionalInstanceTypes'> {
  return {
    // A string the endpoint checks against PurchaseOption's values (purchaseOptionType).
    purchaseOption: config.purchaseOption as PurchaseOption | undefined,
    onDemandBaseCapacity: config.onDemandBaseCapacity,
    onDemandPercentageAboveBaseCapacity: config.onDemandPercentageAboveBaseCapacity,
    minCapacity: config.minCapacity,
    maxCapacity: config.maxCapacity,
    parallelSlots: config.parallelSlots,
    contextTokensPerSlot: config.contextTokensPerSlot,
    targetSlotUtilizationPercent: config.targetSlotUtilizationPercent,
    scheduledCapacity: config.scheduledCapacity,
    warmPoolSize: config.warmPoolSize,
    llamaCppRef: config.llamaCppRef,
    llamaCppCommit: config.llamaCppCommit,
    port: config.port,
    bootTimeout: durationOf(config.bootTimeoutMinutes, 'minutes'),
    rootVolumeGiB: config.rootVolumeGiB,
    rootVolumeThroughputMiBps: config.rootVolumeThroughputMiBps,
    huggingFaceTokenParameterName: config.huggingFaceTokenParameterName,
    updateMinHealthyPercent: config.updateMinHealthyPercent,
    updateBakeTime: durationOf(config.updateBakeTimeMinutes, 'minutes'),
    internetFacing: config.internetFacing,
    certificateArn: config.certificateArn,
    domainName: config.domainName,
    allowedCidrs: config.allowedCidrs,
    loadBalancerIdleTimeout: durationOf(config.loadBalancerIdleTimeoutSeconds, 'seconds'),
    deregistrationDelay: durationOf(config.deregistrationDelaySeconds, 'seconds'),
    loadBalancerDeletionProtection: config.loadBalancerDeletionProtection,
    retainArtifactsOnDelete: config.retainArtifactsOnDelete,
    trustedBuilder: config.trustedBuilder,
    apiKeyParameterName: config.apiKeyParameterName,
    logRetention: config.logRetentionDays as logs.RetentionDays,
    alarmEmail: config.alarmEmail,
    ttftP90AlarmMs: config.ttftP90AlarmMs,
    tpotP90AlarmMs: config.tpotP90AlarmMs,
    errorRateAlarmPercent: config.errorRateAlarmPercent,
    canaryUrl: config.canaryUrl,
    canaryInterval: durationOf(config.canaryIntervalMinutes, 'minutes'),
  };
}

/** The fields that become a Duration prop, and the unit each is named in. */
export const DURATION_FIELDS = {
  loadBalancerIdleTimeoutSeconds: 'seconds',
  deregistrationDelaySeconds: 'seconds',
  bootTimeoutMinutes: 'minutes',
  updateBakeTimeMinutes: 'minutes',
  canaryIntervalMinutes: 'minutes',
} as const;

/**
 * A field's value as a Duration, or undefined where the field is unset (the
 * prop's own default applies: deregistrationDelaySeconds has no schema
 * default) or no Duration holds it (a negative amount): resolveConfig reports
 * such a value itself, with the range of the prop it would have become.
 */
export function durationOf(value: number | undefined, unit: 'seconds' | 'minutes'): Duration | undefined {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? Duration[unit](value) : undefined;
}

/**
 * The configuration field each prop comes from, where its name differs (a
 * prop of the same name comes from the field of that name). A list entry's
 * `[i]` is written `.i`, as the configuration's paths are.
 */
export const CONFIG_FIELD_OF_PROP: Readonly<Record<string, string>> = {
  'vpcProps.cidr': 'vpcCidr',
  'vpcProps.maxAzs': 'maxAzs',
  'vpcProps.natGateways': 'natGateways',
  'existingVpc': 'vpcId',
  'vpcSubnets': 'privateSubnetIds',
  'loadBalancerSubnets': 'publicSubnetIds',
  'machineImage': 'amiId',
  'bootTimeout': 'bootTimeoutMinutes',
  'updateBakeTime': 'updateBakeTimeMinutes',
  'canaryInterval': 'canaryIntervalMinutes',
  'loadBalancerIdleTimeout': 'loadBalancerIdleTimeoutSeconds',
  'deregistrationDelay': 'deregistrationDelaySeconds',
  'logRetention': 'logRetentionDays',
};

/** The configuration field a prop's problem (`scheduledCapacity[0].cron`, `vpcProps.cidr`) names. */
export function configFieldOf(propPath: string): string {
  const dotted = propPath.replace(/\[(\d+)\]/g, '.$1');
  const prop = Object.keys(CONFIG_FIELD_OF_PROP).find((p) => dotted === p || dotted.startsWith(`${p}.`));
  return prop === undefined ? dotted : `${CONFIG_FIELD_OF_PROP[prop]}${dotted.slice(prop.length)}`;
}
