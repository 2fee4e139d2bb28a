/**
 * One count of 1 published with `aws cloudwatch put-metric-data`: how the
 * boot counts a failed boot (aws-reporter.ts) and the drain watcher a drain
 * (drain-metric.ts), each with its dimensions. Straight to CloudWatch, not
 * through the agent: a failed boot may end before the agent runs, and a
 * drain ends with the instance.
 */

/** The fleet dimension's name, defined here once: lib/monitoring/metric-definitions.ts's FLEET_DIMENSION is this. */
export const FLEET_DIMENSION_NAME = 'AutoScalingGroupName';

/**
 * The CLI's arguments for one data point of value 1, unit Count, with
 * `dimensions` in the order given, as `Name=Value,Name=Value` (the CLI's
 * shorthand; AWS CLI Command Reference, cloudwatch put-metric-data, its
 * example with `--dimensions InstanceId=1-23456789,InstanceType=m1.small`,
 * https://docs.aws.amazon.com/cli/latest/reference/cloudwatch/put-metric-data.html).
 */
export function putCountArgs(namespace: string, metric: string, dimensions: Readonly<Record<string, string>>): string[] {
  return ['cloudwatch', 'put-metric-data', '--namespace', namespace, '--metric-name', metric,
    '--dimensions', Object.entries(dimensions).map(([name, value]) => `${name}=${value}`).join(','), '--value', '1', '--unit', 'Count'];
}
