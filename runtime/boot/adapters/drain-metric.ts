/**
 * The drain watcher's DrainCounter: one data point of 1 in
 * GLLM_METRIC_NAMESPACE/GLLM_DRAIN_METRIC, with the fleet dimension and
 * Reason (interruption or rebalance), through the AWS CLI runner (retried,
 * bounded by the drain's end, named region). The fleet's role may publish in
 * the kit's namespace only (grantBootMetrics, lib/constructs/instance-permissions.ts).
 */
import type { CountOutcome, DrainCounter, DrainReason } from '../drain/watch';
import type { AwsCli } from './aws-cli';
import { FLEET_DIMENSION_NAME, putCountArgs } from './metric-data';

/** The dimension that says why, defined here once: lib/monitoring/metric-definitions.ts's DRAIN_REASON_DIMENSION is this. */
export const DRAIN_REASON_DIMENSION_NAME = 'Reason';

export interface DrainMetricOptions {
  /** The CLI runner whose calls end by `untilMs`. */
  readonly cli: (untilMs: number) => Pick<AwsCli, 'call'>;
  /** GLLM_METRIC_NAMESPACE. */
  readonly namespace: string;
  /** GLLM_DRAIN_METRIC (not empty: where it is, no counter is made). */
  readonly metricName: string;
  /** GLLM_AUTOSCALING_GROUP: the fleet dimension's value. */
  readonly autoScalingGroup: string;
}

export class DrainMetric implements DrainCounter {
  readonly metric: string;

  constructor(private readonly opts: DrainMetricOptions) {
    this.metric = `${opts.namespace}/${opts.metricName}`;
  }

  async count(reason: DrainReason, untilMs: number): Promise<CountOutcome> {
    const { namespace, metricName, autoScalingGroup } = this.opts;
    const out = await this.opts.cli(untilMs).call({
      what: `put-metric-data ${metricName} ${reason}`,
      args: putCountArgs(namespace, metricName, { [FLEET_DIMENSION_NAME]: autoScalingGroup, [DRAIN_REASON_DIMENSION_NAME]: reason }),
      refusals: [],
    });
    if (out.kind === 'done') return { ok: true };
    return { ok: false, detail: out.kind === 'refused' ? `${out.code}: ${out.detail}` : out.detail };
  }
}
