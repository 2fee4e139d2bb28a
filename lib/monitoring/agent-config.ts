import { INSTANCE_FILES, INSTANCE_LAYOUT } from '../../runtime/boot/layout';
import { FLEET_DIMENSION, METRIC_NAMESPACE, SERVER_METRICS } from './metric-definitions';

/** Files on an instance that the agent reads; the boot writes them at these paths (runtime/boot/layout.ts defines them). */
export const INSTANCE_PATHS = {
  bootLog: INSTANCE_LAYOUT.bootLog,
  serverLog: INSTANCE_LAYOUT.serverLog,
  apiKeyFile: INSTANCE_LAYOUT.apiKeyFile,
  agentConfig: INSTANCE_FILES.agentConfig,
  prometheusConfig: INSTANCE_FILES.prometheusConfig,
} as const;

/** Prometheus job name; the EMF declaration selects the job's series by it. */
export const SCRAPE_JOB = 'llama-server';

export interface AgentConfigProps {
  /** The fleet's name, published as the fleet dimension. */
  readonly autoScalingGroupName: string;
  /** Port llama-server listens on. */
  readonly port: number;
  readonly bootLogGroupName: string;
  readonly serverLogGroupName: string;
  /** Log group the agent writes the EMF records of the server metrics to. */
  readonly metricsLogGroupName: string;
  /** How often to scrape `/metrics`, in seconds. */
  readonly scrapeIntervalSeconds?: number;
}

/**
 * The CloudWatch agent's configuration: ship the boot and server logs, and
 * scrape llama-server's Prometheus `/metrics`, publishing the metrics listed
 * in SERVER_METRICS (and only those) through the embedded metric format.
 */
export function renderAgentConfig(props: AgentConfigProps): Record<string, unknown> {
  const metrics = Object.values(SERVER_METRICS);
  return {
    agent: { run_as_user: 'root', logfile: INSTANCE_FILES.agentLog },
    logs: {
      force_flush_interval: 5,
      logs_collected: {
        files: {
          collect_list: [
            { file_path: INSTANCE_PATHS.bootLog, log_group_name: props.bootLogGroupName, log_stream_name: '{instance_id}' },
            { file_path: INSTANCE_PATHS.serverLog, log_group_name: props.serverLogGroupName, log_stream_name: '{instance_id}' },
          ],
        },
        prometheus: {
          log_group_name: props.metricsLogGroupName,
          prometheus_config_path: INSTANCE_PATHS.prometheusConfig,
          emf_processor: {
            metric_declaration_dedup: true,
            metric_namespace: METRIC_NAMESPACE,
            metric_unit: Object.fromEntries(metrics.map((m) => [m.prometheusName, m.unit])),
            metric_declaration: [{
              source_labels: ['job'],
              label_matcher: `^${SCRAPE_JOB}$`,
              dimensions: [[FLEET_DIMENSION]],
              metric_selectors: metrics.map((m) => `^${escapeRegex(m.prometheusName)}$`),
            }],
          },
        },
      },
    },
  };
}

/**
 * The Prometheus scrape configuration the agent reads. `/metrics` needs the
 * API key like every non-health endpoint, so the scrape reads it from the
 * root-only key file; the fleet name is a static label that becomes the
 * metric dimension.
 */
export function renderPrometheusConfig(props: AgentConfigProps): string {
  const interval = props.scrapeIntervalSeconds ?? 15;
  return [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${Math.min(10, interval)}s`,
    'scrape_configs:',
    `  - job_name: ${SCRAPE_JOB}`,
    '    metrics_path: /metrics',
    '    authorization:',
    '      type: Bearer',
    `      credentials_file: ${INSTANCE_PATHS.apiKeyFile}`,
    '    static_configs:',
    `      - targets: ['127.0.0.1:${props.port}']`,
    '        labels:',
    `          ${FLEET_DIMENSION}: ${props.autoScalingGroupName}`,
    '',
  ].join('\n');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
