/**
 * The one definition of every metric the kit publishes and alarms on. The
 * CloudWatch agent configuration (server metrics), the canary (endpoint
 * metrics) and the alarms, scaling policy and dashboard all read these
 * constants; a test checks that the producers and the consumers agree.
 */

import { DRAIN_REASON_DIMENSION_NAME } from '../../runtime/boot/adapters/drain-metric';
import { FLEET_DIMENSION_NAME } from '../../runtime/boot/adapters/metric-data';

/** CloudWatch namespace of everything below. */
export const METRIC_NAMESPACE = 'GravitonLlm';

/** Dimension of the server metrics: the fleet they come from (the boot's, which publishes BootFailure and Drains with it). */
export const FLEET_DIMENSION = FLEET_DIMENSION_NAME;
/** Dimension of the canary metrics: the stack whose endpoint was probed. */
export const ENDPOINT_DIMENSION = 'Endpoint';

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'Count/Second' | 'None';

export interface MetricDefinition {
  /** CloudWatch metric name. */
  readonly name: string;
  readonly unit: MetricUnit;
  readonly description: string;
}

export interface ServerMetricDefinition extends MetricDefinition {
  /** Name in llama-server's Prometheus `/metrics` (requires `--metrics`). */
  readonly prometheusName: string;
}

/**
 * llama-server's own gauges and counters, scraped from `/metrics` on every
 * instance and published with the fleet dimension. The agent's embedded
 * metric format keeps the Prometheus name, so the CloudWatch name is the same.
 */
export const SERVER_METRICS = {
  requestsProcessing: {
    name: 'llamacpp:requests_processing',
    prometheusName: 'llamacpp:requests_processing',
    unit: 'Count',
    description: 'Requests being generated now (busy slots)',
  },
  requestsDeferred: {
    name: 'llamacpp:requests_deferred',
    prometheusName: 'llamacpp:requests_deferred',
    unit: 'Count',
    description: 'Requests waiting for a free slot',
  },
  predictedTokensPerSecond: {
    name: 'llamacpp:predicted_tokens_seconds',
    prometheusName: 'llamacpp:predicted_tokens_seconds',
    unit: 'Count/Second',
    description: 'Average generation throughput',
  },
  promptTokensPerSecond: {
    name: 'llamacpp:prompt_tokens_seconds',
    prometheusName: 'llamacpp:prompt_tokens_seconds',
    unit: 'Count/Second',
    description: 'Average prompt processing throughput',
  },
  tokensPredictedTotal: {
    name: 'llamacpp:tokens_predicted_total',
    prometheusName: 'llamacpp:tokens_predicted_total',
    unit: 'Count',
    description: 'Output tokens generated since the server started',
  },
  promptTokensTotal: {
    name: 'llamacpp:prompt_tokens_total',
    prometheusName: 'llamacpp:prompt_tokens_total',
    unit: 'Count',
    description: 'Prompt tokens processed since the server started',
  },
} as const satisfies Record<string, ServerMetricDefinition>;

/** What the canary measures on each probe, published with the endpoint dimension. */
export const CANARY_METRICS = {
  timeToFirstToken: {
    name: 'CanaryTimeToFirstToken',
    unit: 'Milliseconds',
    description: 'Request sent to first streamed content token',
  },
  timePerOutputToken: {
    name: 'CanaryTimePerOutputToken',
    unit: 'Milliseconds',
    description: 'Mean gap between streamed tokens after the first',
  },
  totalTime: {
    name: 'CanaryTotalTime',
    unit: 'Milliseconds',
    description: 'Request sent to end of stream',
  },
  outputTokens: {
    name: 'CanaryOutputTokens',
    unit: 'Count',
    description: 'Tokens the probe received',
  },
  success: {
    name: 'CanarySuccess',
    unit: 'Count',
    description: '1 for a probe that streamed a complete answer, else 0',
  },
  failure: {
    name: 'CanaryFailure',
    unit: 'Count',
    description: '1 for a probe that failed (error, HTTP status, timeout, empty answer), else 0',
  },
} as const satisfies Record<string, MetricDefinition>;

/**
 * What the boot script publishes itself, with the fleet dimension: a failed
 * boot may end before the CloudWatch agent runs, so it does not go through
 * the agent. An update's instance refresh watches the alarm on it.
 */
export const BOOT_METRICS = {
  failure: {
    name: 'BootFailure',
    unit: 'Count',
    description: '1 for each instance boot that failed (bad checksum, build failure, health timeout)',
  },
} as const satisfies Record<string, MetricDefinition>;

/** The drain metric's second dimension: why the instance drained (the drain watcher's, which publishes it). */
export const DRAIN_REASON_DIMENSION = DRAIN_REASON_DIMENSION_NAME;

/**
 * The Reason values: a Spot interruption notice, or a rebalance
 * recommendation (runtime/boot/drain/watch.ts's Notice kinds; a test holds them equal).
 */
export const DRAIN_REASONS = ['interruption', 'rebalance'] as const;

/**
 * What the drain watcher publishes itself, with the fleet dimension and
 * DRAIN_REASON_DIMENSION: the instance is going, and the agent with it. The
 * dashboard graphs it; no alarm reads it (an interruption is Spot's contract,
 * not a failure, and a capacity it costs shows in the capacity alarms).
 */
export const DRAIN_METRICS = {
  drains: {
    name: 'Drains',
    unit: 'Count',
    description: '1 for each drain of an instance, on a Spot interruption notice or a rebalance recommendation',
  },
} as const satisfies Record<string, MetricDefinition>;
