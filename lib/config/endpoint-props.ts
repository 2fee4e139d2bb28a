import { Duration, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fleetImage } from '../constructs/fleet-image';
import { GravitonLlmEndpointProps } from '../constructs/graviton-llm-endpoint';
import { importNetwork } from '../constructs/inference-network';
import { GravitonInstanceType } from '../instances/graviton-instance-type';
import { ResolvedConfig } from './resolve';

/**
 * The configuration as GravitonLlmEndpoint's props: the adapter between
 * files and `-c` keys (which resolveConfig checked, naming where each value
 * came from) and the construct. An existing VPC given by ids is imported
 * under `scope`, and amiId becomes the machine image.
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
    model: config.model,
    instanceType,
    existingVpc: existing?.vpc,
    vpcSubnets: existing?.privateSubnets,
    loadBalancerSubnets: config.internetFacing ? existing?.publicSubnets : undefined,
    vpcProps: plan.kind === 'new' ? { cidr: plan.cidr, maxAzs: plan.maxAzs, natGateways: plan.natGateways } : undefined,
    minCapacity: config.minCapacity,
    maxCapacity: config.maxCapacity,
    parallelSlots: config.parallelSlots,
    contextTokensPerSlot: config.contextTokensPerSlot,
    targetSlotUtilizationPercent: config.targetSlotUtilizationPercent,
    scheduledCapacity: config.scheduledCapacity,
    warmPoolSize: config.warmPoolSize,
    llamaCppRef: config.llamaCppRef,
    llamaCppCommit: config.llamaCppCommit,
    machineImage: config.amiId !== undefined ? fleetImage(scope, config.amiId) : undefined,
    port: config.port,
    bootTimeout: Duration.minutes(config.bootTimeoutMinutes),
    rootVolumeGiB: config.rootVolumeGiB,
    rootVolumeThroughputMiBps: config.rootVolumeThroughputMiBps,
    huggingFaceTokenParameterName: config.huggingFaceTokenParameterName,
    updateMinHealthyPercent: config.updateMinHealthyPercent,
    updateBakeTime: Duration.minutes(config.updateBakeTimeMinutes),
    internetFacing: config.internetFacing,
    certificateArn: config.certificateArn,
    domainName: config.domainName,
    allowedCidrs: config.allowedCidrs,
    loadBalancerIdleTimeout: Duration.seconds(config.loadBalancerIdleTimeoutSeconds),
    deregistrationDelay: Duration.seconds(config.deregistrationDelaySeconds),
    loadBalancerDeletionProtection: config.loadBalancerDeletionProtection,
    retainArtifactsOnDelete: config.retainArtifactsOnDelete,
    apiKeyParameterName: config.apiKeyParameterName,
    logRetention: config.logRetentionDays as logs.RetentionDays,
    alarmEmail: config.alarmEmail,
    ttftP90AlarmMs: config.ttftP90AlarmMs,
    tpotP90AlarmMs: config.tpotP90AlarmMs,
    errorRateAlarmPercent: config.errorRateAlarmPercent,
    canaryUrl: config.canaryUrl,
    canaryInterval: Duration.minutes(config.canaryIntervalMinutes),
  };
}
