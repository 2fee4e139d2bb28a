import { Token } from 'aws-cdk-lib';
import { PropProblem } from '../base/problems';

/**
 * The range of each numeric setting of an endpoint, written once:
 * GravitonLlmEndpoint and its parts check their props against it (a Duration
 * prop in the unit the setting is named in), and the configuration reports
 * what they find for the field each prop came from (its schema holds only
 * the field's JSON type). A value that is a CloudFormation token is the
 * template's to check.
 */
export interface PropRange {
  readonly min: number;
  readonly max: number;
  /** @default true */
  readonly whole?: boolean;
}

export const PROP_RANGES = {
  minCapacity: { min: 1, max: 100 },
  maxCapacity: { min: 1, max: 100 },
  parallelSlots: { min: 1, max: 64 },
  contextTokensPerSlot: { min: 512, max: 131072 },
  maxAzs: { min: 2, max: 6 },
  natGateways: { min: 1, max: 6 },
  port: { min: 1024, max: 65535 },
  loadBalancerIdleTimeoutSeconds: { min: 60, max: 4000 },
  deregistrationDelaySeconds: { min: 0, max: 3600 },
  bootTimeoutMinutes: { min: 10, max: 120 },
  rootVolumeGiB: { min: 20, max: 16384 },
  rootVolumeThroughputMiBps: { min: 125, max: 1000 },
  targetSlotUtilizationPercent: { min: 10, max: 100 },
  updateMinHealthyPercent: { min: 0, max: 100 },
  updateBakeTimeMinutes: { min: 0, max: 180 },
  warmPoolSize: { min: 0, max: 100 },
  /** Spot groups: instances kept on demand before any Spot one (as maxCapacity, 100 at most). */
  onDemandBaseCapacity: { min: 0, max: 100 },
  /** Spot groups: the share of instances above the base that are on demand. */
  onDemandPercentageAboveBaseCapacity: { min: 0, max: 100 },
  ttftP90AlarmMs: { min: 100, max: 600000 },
  tpotP90AlarmMs: { min: 10, max: 10000 },
  errorRateAlarmPercent: { min: 0.1, max: 100, whole: false },
  canaryIntervalMinutes: { min: 1, max: 60 },
  /** A schedule's capacities: 0 instances outside working hours is a schedule's to set. */
  scheduledMinCapacity: { min: 0, max: 100 },
  scheduledMaxCapacity: { min: 1, max: 100 },
} as const satisfies Record<string, PropRange>;

export type RangedSetting = keyof typeof PROP_RANGES;

/** What a value of the setting must be, in the words the configuration's messages use. */
export function rangeExpectation(setting: RangedSetting, unit?: string): string {
  const r: PropRange = PROP_RANGES[setting];
  return `expected ${r.whole === false ? 'a number' : 'a whole number'}${unit ? ` of ${unit}` : ''} from ${r.min} to ${r.max}`;
}

/** One value to check: the prop's name, the setting whose range applies, the value in that setting's unit. */
export interface RangedValue {
  readonly field: string;
  readonly setting: RangedSetting;
  readonly value: number | undefined;
  /** The unit a Duration prop was converted to (`seconds`, `minutes`), named in the message. */
  readonly unit?: string;
}

/**
 * The values outside their setting's range, or not numbers at all (a string,
 * NaN); unset and deploy-time values pass. The one definition of each numeric
 * prop's rule: the constructs check their props with it, and the
 * configuration reports its problems for the field the prop came from.
 */
export function rangeProblems(values: readonly RangedValue[]): PropProblem[] {
  return values
    .filter(({ setting, value }) => {
      if (value === undefined || Token.isUnresolved(value)) return false;
      const r: PropRange = PROP_RANGES[setting];
      return !(typeof value === 'number' && value >= r.min && value <= r.max && (r.whole === false || Number.isInteger(value)));
    })
    .map(({ field, setting, value, unit }) => ({ field, given: value, expected: rangeExpectation(setting, unit) }));
}
