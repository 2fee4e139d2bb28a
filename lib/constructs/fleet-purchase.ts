import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { GravitonInstance } from '../catalogs/graviton-instances';
import { PropProblem } from '../base/problems';
import { PropType, isKnown, printable } from '../base/prop-types';
import { GravitonInstanceType, gravitonInstanceTypeType } from '../instances/graviton-instance-type';
import { rangeProblems } from './prop-ranges';

/**
 * The fleet's instance types and how it buys them: the rules of the props
 * (GravitonLlmEndpoint's and InferenceFleet's, written once here) and the
 * Auto Scaling mixed instances policy they become. A fleet of one type on
 * demand has no policy: its group names the launch template, as before.
 */

/** How the group buys its instances. */
export enum PurchaseOption {
  /** Every instance on demand. */
  ON_DEMAND = 'on-demand',
  /** Spot above an on-demand base (onDemandBaseCapacity, onDemandPercentageAboveBaseCapacity). */
  SPOT = 'spot',
}

const PURCHASE_OPTIONS: readonly string[] = Object.values(PurchaseOption);

/**
 * Most instance types one group may name: AWS allows 40 overrides per
 * mixed instances policy ("Auto Scaling groups with multiple instance types
 * and purchase options", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-mixed-instances-groups.html).
 */
export const MAX_INSTANCE_TYPES = 40;

/** The instance types and the purchase option as the props give them (each of its JavaScript type). */
export interface FleetPurchaseValues {
  readonly instanceType?: GravitonInstanceType;
  readonly additionalInstanceTypes?: readonly GravitonInstanceType[];
  readonly purchaseOption?: PurchaseOption;
  readonly onDemandBaseCapacity?: number;
  readonly onDemandPercentageAboveBaseCapacity?: number;
  readonly warmPoolSize?: number;
  readonly maxCapacity?: number;
}

/** A list of GravitonInstanceType, each entry checked as instanceType is. */
export const instanceTypeListType: PropType = (field, value) => {
  if (value === undefined) {
    return undefined;
  }
  if (!Array.isArray(value)) {
    return { field, given: printable(value), expected: 'expected a list of GravitonInstanceType, e.g. [GravitonInstanceType.of(\'m7g.2xlarge\')]' };
  }
  return value.map((item, i) => gravitonInstanceTypeType(`${field}[${i}]`, item)).find((p) => p !== undefined);
};

/** A PurchaseOption: 'on-demand' or 'spot'. */
export const purchaseOptionType: PropType = (field, value) => (value === undefined || (typeof value === 'string' && PURCHASE_OPTIONS.includes(value))
  ? undefined
  : { field, given: value, expected: `expected ${PURCHASE_OPTIONS.map((o) => `'${o}'`).join(' or ')} (PurchaseOption.ON_DEMAND or PurchaseOption.SPOT)` });

/** Whether the group is a mixed instances group: more than one type, or Spot. */
export function isMixed(v: Pick<FleetPurchaseValues, 'additionalInstanceTypes' | 'purchaseOption'>): boolean {
  return (v.additionalInstanceTypes?.length ?? 0) > 0 || v.purchaseOption === PurchaseOption.SPOT;
}

/**
 * The types of one group: each additional one a type of the catalog, none
 * named twice. They may span Graviton generations: each generation gets its
 * own llama.cpp build (and builder), and each instance picks its own by the
 * CPU part its cores report (fleet-generations.ts). instanceType must be
 * known at synth for that grouping. Fields are named `additionalInstanceTypes[i]`.
 */
export function instanceTypesProblems(v: FleetPurchaseValues): PropProblem[] {
  const extra = v.additionalInstanceTypes ?? [];
  if (!v.instanceType || extra.length === 0) {
    return [];
  }
  const problems: PropProblem[] = [];
  const primary = v.instanceType;
  if (1 + extra.length > MAX_INSTANCE_TYPES) {
    problems.push({
      field: 'additionalInstanceTypes',
      given: `${extra.length} types`,
      expected: `expected at most ${MAX_INSTANCE_TYPES - 1}: with instanceType, at most ${MAX_INSTANCE_TYPES} instance types, the most an Auto Scaling group's mixed instances policy takes`,
    });
  }
  if (!isKnown(primary.instanceType) || !isKnown(primary.generation)) {
    return [...problems, {
      field: 'additionalInstanceTypes',
      given: extra.map((t) => t.instanceType),
      expected: 'applies only with an instanceType known at synth (GravitonInstanceType.of): synth groups the types by generation, one build and one builder each, '
        + 'and checks each type\'s memory; remove additionalInstanceTypes, or give instanceType as a literal',
    }];
  }
  const seen = new Set<string>([primary.instanceType]);
  extra.forEach((type, i) => {
    const field = `additionalInstanceTypes[${i}]`;
    if (!type.catalogEntry) {
      problems.push({
        field,
        given: isKnown(type.instanceType) ? type.instanceType : undefined,
        expected: 'expected a type of the kit\'s Graviton catalog, GravitonInstanceType.of(\'m7g.2xlarge\'): the memory fit check needs its memory, '
          + 'which a type chosen at deploy time does not tell synth',
      });
    } else if (seen.has(type.instanceType)) {
      problems.push({
        field,
        given: type.instanceType,
        expected: type.instanceType === primary.instanceType
          ? `expected a type other than instanceType (${primary.instanceType}): instanceType is already the group's first type; list only the others here`
          : 'expected each type once',
      });
    }
    seen.add(type.instanceType);
  });
  return problems;
}

/**
 * The purchase option's rules: the on-demand base and percentage apply to
 * Spot only, within their ranges, the base within maxCapacity; and no warm
 * pool on a group with several types or Spot, which AWS does not support:
 * "You can't add a warm pool to Auto Scaling groups that have a mixed
 * instances policy or that launch Spot Instances" (Warm pools for Amazon EC2
 * Auto Scaling, Limitations,
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html).
 */
export function purchaseProblems(v: FleetPurchaseValues): PropProblem[] {
  const problems: PropProblem[] = [];
  const spot = v.purchaseOption === PurchaseOption.SPOT;
  for (const field of ['onDemandBaseCapacity', 'onDemandPercentageAboveBaseCapacity'] as const) {
    if (v[field] !== undefined && !spot) {
      problems.push({
        field,
        given: v[field],
        expected: 'applies only with purchaseOption \'spot\' (an on-demand group is on demand throughout); remove it, or set purchaseOption to \'spot\'',
      });
    }
  }
  if (spot) {
    const ranges = rangeProblems([
      { field: 'onDemandBaseCapacity', setting: 'onDemandBaseCapacity', value: v.onDemandBaseCapacity },
      { field: 'onDemandPercentageAboveBaseCapacity', setting: 'onDemandPercentageAboveBaseCapacity', value: v.onDemandPercentageAboveBaseCapacity },
    ]);
    problems.push(...ranges);
    const base = v.onDemandBaseCapacity;
    if (!ranges.some((p) => p.field === 'onDemandBaseCapacity') && isKnown(base) && isKnown(v.maxCapacity) && v.maxCapacity !== undefined && base! > v.maxCapacity) {
      problems.push({ field: 'onDemandBaseCapacity', given: base, expected: `expected at most maxCapacity (${v.maxCapacity}): the base is the group's first instances` });
    }
  }
  if (isMixed(v) && isKnown(v.warmPoolSize) && (v.warmPoolSize ?? 0) > 0) {
    const why = spot ? 'purchaseOption is \'spot\'' : `additionalInstanceTypes (${(v.additionalInstanceTypes ?? []).map((t) => t.instanceType).join(', ')}) make the group a mixed instances group`;
    problems.push({
      field: 'warmPoolSize',
      given: v.warmPoolSize,
      expected: `expected 0: ${why}, and AWS does not support a warm pool on an Auto Scaling group with a mixed instances policy or Spot Instances `
        + '("Warm pools for Amazon EC2 Auto Scaling", limitations). Choose a warm pool (one instance type, on demand: faster scale-out) '
        + 'or Spot and several types (cheaper, more capacity pools: each new instance boots in full)',
    });
  }
  return problems;
}

/**
 * Of the group's types, the one with the least memory: what the prompt
 * cache, one setting for every instance, is sized by. Undefined where a type's
 * memory is not known at synth (a type chosen at deploy time).
 */
export function smallestInstance(types: readonly GravitonInstanceType[]): GravitonInstance | undefined {
  const entries = types.map((t) => t.catalogEntry);
  if (entries.some((e) => e === undefined)) {
    return undefined;
  }
  return (entries as GravitonInstance[]).reduce((a, b) => (b.memoryGiB < a.memoryGiB ? b : a));
}

/** The group's purchase as its props give it, defaults applied. */
export interface FleetPurchase {
  readonly instanceTypes: readonly GravitonInstanceType[];
  readonly purchaseOption: PurchaseOption;
  readonly onDemandBaseCapacity: number;
  readonly onDemandPercentageAboveBaseCapacity: number;
}

/** Spot's defaults: no on-demand base, every instance above it Spot. */
export const SPOT_DEFAULTS = { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0 } as const;

/**
 * The group's mixed instances policy over the launch template, or undefined
 * for one type on demand (the group then names the launch template itself;
 * an Auto Scaling group takes one or the other).
 *
 * - Overrides: the types in order, instanceType first.
 * - On demand: `prioritized`, so instanceType is launched while it has
 *   capacity and the others only when it has none ("Allocation strategies
 *   for multiple instance types",
 *   https://docs.aws.amazon.com/autoscaling/ec2/userguide/allocation-strategies.html).
 * - Spot: `price-capacity-optimized`, which picks the pools least likely to
 *   be interrupted at the lowest price (same page, recommended for most Spot
 *   workloads); the base is launched on demand first, then the percentage
 *   above it ("Auto Scaling groups with multiple instance types and purchase
 *   options", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-mixed-instances-groups.html).
 */
export function mixedInstancesPolicyOf(launchTemplate: ec2.ILaunchTemplate, purchase: FleetPurchase): autoscaling.MixedInstancesPolicy | undefined {
  const spot = purchase.purchaseOption === PurchaseOption.SPOT;
  if (!spot && purchase.instanceTypes.length === 1) {
    return undefined;
  }
  return {
    launchTemplate,
    launchTemplateOverrides: purchase.instanceTypes.map((t) => ({ instanceType: new ec2.InstanceType(t.instanceType) })),
    instancesDistribution: spot
      ? {
        onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
        onDemandBaseCapacity: purchase.onDemandBaseCapacity,
        onDemandPercentageAboveBaseCapacity: purchase.onDemandPercentageAboveBaseCapacity,
        spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
      }
      : {
        onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
        onDemandBaseCapacity: 0,
        onDemandPercentageAboveBaseCapacity: 100,
      },
  };
}
