/**
 * The drain watcher's counter: one data point of 1 with the fleet dimension
 * and the reason, through the CLI runner bounded by the drain's end; the
 * dimension names are lib's, which the dashboard graphs.
 */
import type { AwsCliCall, AwsCliOutcome } from '../../../../runtime/boot/adapters/aws-cli';
import { DRAIN_REASON_DIMENSION_NAME, DrainMetric } from '../../../../runtime/boot/adapters/drain-metric';
import { FLEET_DIMENSION_NAME } from '../../../../runtime/boot/adapters/metric-data';
import { DRAIN_METRICS, DRAIN_REASON_DIMENSION, FLEET_DIMENSION, METRIC_NAMESPACE } from '../../../../lib/monitoring/metric-definitions';

function metric(outcome: AwsCliOutcome) {
  const calls: { call: AwsCliCall; untilMs: number }[] = [];
  const m = new DrainMetric({
    cli: (untilMs) => ({ call: async (call) => { calls.push({ call, untilMs }); return outcome; } }),
    namespace: METRIC_NAMESPACE,
    metricName: DRAIN_METRICS.drains.name,
    autoScalingGroup: 'Stack-fleet',
  });
  return { m, calls };
}

test('publishes 1 Count in the namespace with the fleet and the reason as dimensions, bounded by the drain\'s end', async () => {
  const { m, calls } = metric({ kind: 'done', stdout: '' });
  expect(m.metric).toBe('GravitonLlm/Drains');
  await expect(m.count('rebalance', 4321)).resolves.toEqual({ ok: true });
  expect(calls).toHaveLength(1);
  expect(calls[0].untilMs).toBe(4321);
  expect(calls[0].call.args).toEqual(['cloudwatch', 'put-metric-data', '--namespace', 'GravitonLlm', '--metric-name', 'Drains',
    '--dimensions', 'AutoScalingGroupName=Stack-fleet,Reason=rebalance', '--value', '1', '--unit', 'Count']);
});

test('a refusal or a failure is not ok, and says why', async () => {
  await expect(metric({ kind: 'refused', code: 'AccessDenied', detail: 'exit 254' }).m.count('interruption', 0)).resolves.toEqual({ ok: false, detail: 'AccessDenied: exit 254' });
  await expect(metric({ kind: 'failed', detail: 'timed out' }).m.count('interruption', 0)).resolves.toEqual({ ok: false, detail: 'timed out' });
});

test('the dimension names are the ones lib graphs (the boot bundle cannot import lib)', () => {
  expect(FLEET_DIMENSION_NAME).toBe(FLEET_DIMENSION);
  expect(DRAIN_REASON_DIMENSION_NAME).toBe(DRAIN_REASON_DIMENSION);
});
