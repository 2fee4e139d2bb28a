import { Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import { Construct } from 'constructs';
import { ScheduledCapacity } from './endpoint-checks';
import { FLEET_DIMENSION, METRIC_NAMESPACE, SERVER_METRICS } from '../monitoring/metric-definitions';

export interface FleetScalingProps {
  readonly group: autoscaling.AutoScalingGroup;
  /** The group's name, as the fleet dimension of the server metrics carries it. */
  readonly groupName: string;
  /** Slots per instance: utilization is busy plus queued requests over this. */
  readonly parallelSlots: number;
  readonly targetUtilizationPercent: number;
  /** Capacity changes on a schedule (UTC). @default - none */
  readonly schedules?: readonly ScheduledCapacity[];
}

/** Id of the utilization expression in the scaling policy; the dashboard plots the same expression. */
export const SLOT_UTILIZATION_EXPRESSION = '100 * (processing + deferred) / SLOTS';

/**
 * Scales on LLM load rather than CPU: llama-server keeps every core busy
 * whether one request or its full batch is running, so CPU says nothing about
 * headroom. The signal is the share of slots in use plus requests waiting for
 * one, averaged over the fleet; above the target, requests start to queue.
 * (The warm pool, which changes how instances boot, belongs to InferenceFleet.)
 */
export class FleetScaling extends Construct {
  constructor(scope: Construct, id: string, props: FleetScalingProps) {
    super(scope, id);
    const stat = (metric: { name: string }, metricId: string) => ({
      id: metricId,
      returnData: false,
      metricStat: {
        metric: { namespace: METRIC_NAMESPACE, metricName: metric.name, dimensions: [{ name: FLEET_DIMENSION, value: props.groupName }] },
        stat: 'Average',
      },
    });

    new autoscaling.CfnScalingPolicy(this, 'SlotUtilization', {
      autoScalingGroupName: props.group.autoScalingGroupName,
      policyType: 'TargetTrackingScaling',
      targetTrackingConfiguration: {
        targetValue: props.targetUtilizationPercent,
        customizedMetricSpecification: {
          metrics: [
            stat(SERVER_METRICS.requestsProcessing, 'processing'),
            stat(SERVER_METRICS.requestsDeferred, 'deferred'),
            {
              id: 'utilization',
              label: 'Slot utilization (%)',
              expression: slotUtilizationExpression(props.parallelSlots),
              returnData: true,
            },
          ],
        },
      },
    });

    for (const s of props.schedules ?? []) {
      props.group.scaleOnSchedule(s.name, {
        schedule: autoscaling.Schedule.expression(s.cron),
        timeZone: 'Etc/UTC',
        minCapacity: s.minCapacity,
        maxCapacity: s.maxCapacity,
      });
    }
  }
}

export function slotUtilizationExpression(parallelSlots: number): string {
  return SLOT_UTILIZATION_EXPRESSION.replace('SLOTS', String(parallelSlots));
}

/** How long a new instance's metrics are left out of the fleet average: a cached boot takes a few minutes. */
export const INSTANCE_WARMUP = Duration.minutes(10);
