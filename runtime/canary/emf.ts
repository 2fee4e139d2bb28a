/**
 * The canary's one CloudWatch embedded metric format (EMF) record per probe.
 * Names, units, namespace and dimension all come from metric-definitions.ts,
 * which the alarms and dashboard read too, so producer and consumers cannot
 * drift apart.
 */
import {
  CANARY_METRICS,
  ENDPOINT_DIMENSION,
  type MetricDefinition,
  METRIC_NAMESPACE,
} from "../../lib/monitoring/metric-definitions";

/** Why a probe failed; published as the `reason` property (not a dimension, to keep metric count fixed). */
export type FailureReason =
  | "timeout"
  | "http_401"
  | "http_5xx"
  | `http_status_${number}`
  | "network"
  /** The endpoint's certificate was refused (a name it does not cover, an untrusted issuer, expired) or the TLS handshake failed. */
  | "tls"
  | "bad_stream"
  | "empty"
  | "ssm"
  /** The function's environment is invalid: a deployment bug, not an endpoint fault. */
  | "config"
  /** A bug in the canary itself; still reported so it is not mistaken for silence. */
  | "internal";

export type CanaryResult =
  | {
      readonly ok: true;
      readonly ttftMs: number;
      /** Absent when fewer than two content chunks arrived. */
      readonly tpotMs?: number;
      readonly totalMs: number;
      readonly outputTokens: number;
    }
  | { readonly ok: false; readonly reason: FailureReason };

/**
 * Builds the record. A failure carries only the success/failure counts: a
 * timing from a failed probe (say, the time to a 500) would pollute the
 * latency statistics the alarms use.
 */
export function canaryEmfRecord(endpointName: string, result: CanaryResult, timestamp: number): Record<string, unknown> {
  const m = CANARY_METRICS;
  const values: [MetricDefinition, number][] = result.ok
    ? [
        [m.success, 1],
        [m.failure, 0],
        [m.timeToFirstToken, result.ttftMs],
        ...(result.tpotMs !== undefined ? [[m.timePerOutputToken, result.tpotMs] as [MetricDefinition, number]] : []),
        [m.totalTime, result.totalMs],
        [m.outputTokens, result.outputTokens],
      ]
    : [
        [m.success, 0],
        [m.failure, 1],
      ];
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: [[ENDPOINT_DIMENSION]],
          // Only metrics with a value are declared: EMF requires each declared
          // name to be present as a member of the record.
          Metrics: values.map(([d]) => ({ Name: d.name, Unit: d.unit })),
        },
      ],
    },
    [ENDPOINT_DIMENSION]: endpointName,
    ...Object.fromEntries(values.map(([d, v]) => [d.name, v])),
    ...(result.ok ? {} : { reason: result.reason }),
  };
}

/**
 * One record as one line, for process.stdout.write. console.log is avoided:
 * Lambda decorates its output (a timestamp/request-id prefix in the text log
 * format, an envelope object in the JSON log format), whereas the EMF
 * specification describes a log event that is the bare JSON object.
 */
export function emfLine(record: Record<string, unknown>): string {
  return `${JSON.stringify(record)}\n`;
}
