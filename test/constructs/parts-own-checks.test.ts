import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { PropsError } from '../../lib/base/problems';
import { ApiKeyParameter } from '../../lib/constructs/api-key-parameter';
import { ArtifactStore } from '../../lib/constructs/artifact-store';
import { FleetAlarms } from '../../lib/constructs/fleet-alarms';
import { InferenceNetwork } from '../../lib/constructs/inference-network';
import { constructTestApp } from '../support/synth';

/** What a part built alone throws: the rules GravitonLlmEndpoint checks the same values with, named as the part's props. */
function problemsOf(build: (stack: Stack) => unknown): string {
  const stack = new Stack(constructTestApp(), 'Part', { env: { region: 'us-east-1' } });
  try {
    build(stack);
  } catch (e) {
    if (e instanceof PropsError) return e.message;
    throw e;
  }
  throw new Error('the part was built');
}

test('InferenceNetwork: a range with host bits, AZs out of range, more NAT gateways than AZs, a retention CloudWatch lacks', () => {
  expect(problemsOf((s) => new InferenceNetwork(s, 'Net', { cidr: '10.64.0.1/16', maxAzs: 7, natGateways: 1, logRetention: 10 as logs.RetentionDays })))
    .toMatch(/^InferenceNetwork Part\/Net: invalid props:\n {2}- cidr: got "10\.64\.0\.1\/16"; expected the network address of the range: 10\.64\.0\.0\/16 [^\n]*\n {2}- maxAzs: got 7; expected a whole number from 2 to 6\n {2}- logRetention: got 10; /);
  expect(problemsOf((s) => new InferenceNetwork(s, 'Net', { cidr: '10.64.0.0/16', maxAzs: 2, natGateways: 3, logRetention: logs.RetentionDays.ONE_WEEK })))
    .toContain('natGateways: got 3; expected at most maxAzs (2)');
});

test('FleetAlarms: thresholds out of range, an address that is none', () => {
  const message = problemsOf((s) => {
    const vpc = new ec2.Vpc(s, 'Vpc');
    const loadBalancer = new elbv2.ApplicationLoadBalancer(s, 'Lb', { vpc });
    const targetGroup = new elbv2.ApplicationTargetGroup(s, 'Tg', { vpc, port: 8080, protocol: elbv2.ApplicationProtocol.HTTP });
    return new FleetAlarms(s, 'Alarms', {
      loadBalancer, targetGroup, groupName: 'g-fleet', minCapacity: 1, parallelSlots: 4, ttftP90AlarmMs: 1, tpotP90AlarmMs: 100, errorRateAlarmPercent: NaN, alarmEmail: 'oncall',
    });
  });
  expect(message).toContain('ttftP90AlarmMs: got 1; expected a whole number from 100 to 600000');
  expect(message).toContain('errorRateAlarmPercent: got NaN; expected a number from 0.1 to 100');
  expect(message).toContain('alarmEmail: got "oncall"; expected an e-mail address');
});

test('ApiKeyParameter and ArtifactStore: a parameter name without its slash, a string for a boolean', () => {
  expect(problemsOf((s) => new ApiKeyParameter(s, 'Key', { parameterName: 'team/key', logRetention: logs.RetentionDays.ONE_WEEK })))
    .toContain('parameterName: got "team/key"; expected an SSM parameter name starting with /');
  expect(problemsOf((s) => new ArtifactStore(s, 'Store', { retainOnDelete: 'false' as never })))
    .toBe('ArtifactStore Part/Store: invalid props:\n  - retainOnDelete: got "false"; expected true or false (a boolean, not a string)');
});
