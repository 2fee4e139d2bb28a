import { Match, Template } from 'aws-cdk-lib/assertions';
import { renderAgentConfig } from '../../lib/monitoring/agent-config';
import { CANARY_METRICS, ENDPOINT_DIMENSION, FLEET_DIMENSION, METRIC_NAMESPACE, SERVER_METRICS, BOOT_METRICS } from '../../lib/monitoring/metric-definitions';
import { Synthesized, synthWith } from '../support/synth';

function alarm(t: Template, idFragment: string): any {
  const found = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.includes(idFragment));
  expect(found).toHaveLength(1);
  return found[0][1].Properties;
}

describe('monitoring with the default configuration', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthWith({ alarmEmail: 'oncall@example.com' }, { bundle: false });
  });

  test('the fleet has a fixed name that the agent configuration carries as the metric dimension', () => {
    s.template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { AutoScalingGroupName: 'GravitonLlm-fleet', DefaultInstanceWarmup: 600 });
    const params = s.template.findResources('AWS::SSM::Parameter');
    const agent = Object.values(params).find((p) => p.Properties.Name === '/graviton-llm/GravitonLlm/cloudwatch-agent')!;
    const prometheus = Object.values(params).find((p) => p.Properties.Name === '/graviton-llm/GravitonLlm/prometheus')!;
    expect(JSON.stringify(prometheus.Properties.Value)).toContain(`${FLEET_DIMENSION}: GravitonLlm-fleet`);
    // The stored agent configuration is exactly what renderAgentConfig produces (log group names are tokens here).
    const rendered = JSON.stringify(renderAgentConfig({
      autoScalingGroupName: 'GravitonLlm-fleet', port: 8080, bootLogGroupName: 'B', serverLogGroupName: 'S', metricsLogGroupName: 'M',
    }));
    const selectors = JSON.parse(rendered).logs.logs_collected.prometheus.emf_processor.metric_declaration[0].metric_selectors as string[];
    const stored = JSON.stringify(agent.Properties.Value);
    for (const sel of selectors) {
      expect(stored).toContain(JSON.stringify(sel).slice(1, -1).replace(/\\/g, '\\\\'));
    }
    // Instances may read both parameters, and boot only after they exist.
    const asg = Object.values(s.template.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(asg.DependsOn.filter((d: string) => /AgentConfig|PrometheusConfig/.test(d))).toHaveLength(2);
  });

  test('target tracking on slot utilization computed from the server metrics, not CPU', () => {
    s.template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        TargetValue: 70,
        CustomizedMetricSpecification: {
          Metrics: [
            Match.objectLike({ Id: 'processing', ReturnData: false, MetricStat: { Stat: 'Average', Metric: { Namespace: METRIC_NAMESPACE, MetricName: SERVER_METRICS.requestsProcessing.name, Dimensions: [{ Name: FLEET_DIMENSION, Value: 'GravitonLlm-fleet' }] } } }),
            Match.objectLike({ Id: 'deferred', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: SERVER_METRICS.requestsDeferred.name }) }) }),
            { Id: 'utilization', Label: 'Slot utilization (%)', Expression: '100 * (processing + deferred) / 4', ReturnData: true },
          ],
        },
      },
    });
    s.template.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 1);
  });

  test('latency alarms watch the canary\'s p90 with the configured thresholds', () => {
    const ttft = alarm(s.template, 'TimeToFirstTokenP90');
    expect(ttft).toMatchObject({
      Namespace: METRIC_NAMESPACE, MetricName: CANARY_METRICS.timeToFirstToken.name, ExtendedStatistic: 'p90', Period: 300,
      Threshold: 2000, EvaluationPeriods: 3, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: ENDPOINT_DIMENSION, Value: 'GravitonLlm' }],
    });
    expect(alarm(s.template, 'TimePerOutputTokenP90')).toMatchObject({
      MetricName: CANARY_METRICS.timePerOutputToken.name, ExtendedStatistic: 'p90', Threshold: 100, EvaluationPeriods: 3,
    });
    expect(alarm(s.template, 'CanaryFailing')).toMatchObject({
      MetricName: CANARY_METRICS.failure.name, Statistic: 'Sum', Threshold: 2, EvaluationPeriods: 2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'breaching',
    });
  });

  test('error, capacity and queueing alarms', () => {
    for (const name of ['LoadBalancer5xxRate', 'Target5xxRate']) {
      const a = alarm(s.template, name);
      expect(a).toMatchObject({ Threshold: 5, EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' });
      expect(a.Metrics.find((m: any) => m.Expression).Expression).toBe('100 * errors / MAX([requests, 1])');
    }
    expect(alarm(s.template, 'LoadBalancer5xxRate').Metrics.map((m: any) => m.MetricStat?.Metric.MetricName).filter(Boolean).sort())
      .toEqual(['HTTPCode_ELB_5XX_Count', 'RequestCount']);
    expect(alarm(s.template, 'Target5xxRate').Metrics.map((m: any) => m.MetricStat?.Metric.MetricName).filter(Boolean).sort())
      .toEqual(['HTTPCode_Target_5XX_Count', 'RequestCount']);
    expect(alarm(s.template, 'HealthyHostsBelowMinimum')).toMatchObject({
      MetricName: 'HealthyHostCount', Statistic: 'Minimum', Threshold: 1, EvaluationPeriods: 5, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
    });
    expect(alarm(s.template, 'RequestsQueueing')).toMatchObject({
      Namespace: METRIC_NAMESPACE, MetricName: SERVER_METRICS.requestsDeferred.name, Statistic: 'Minimum', Period: 60, Threshold: 0, EvaluationPeriods: 10,
      Dimensions: [{ Name: FLEET_DIMENSION, Value: 'GravitonLlm-fleet' }],
    });
    // One failed boot is enough: it is also what rolls an update back.
    expect(alarm(s.template, 'BootFailing')).toMatchObject({
      Namespace: METRIC_NAMESPACE, MetricName: BOOT_METRICS.failure.name, Statistic: 'Sum', Period: 60, Threshold: 1, EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: FLEET_DIMENSION, Value: 'GravitonLlm-fleet' }],
    });
  });

  test('every alarm and the composite notify one encrypted topic with the e-mail subscribed', () => {
    const t = s.template;
    const topics = Object.keys(t.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(8);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topics[0] }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topics[0] }]);
    }
    const composite = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm'))[0];
    expect(composite.Properties.AlarmActions).toEqual([{ Ref: topics[0] }]);
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    expect(rule.match(/ALARM\(/g)).toHaveLength(8);
    // CloudWatch may use the topic key, for this account's alarms only, and only to publish.
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const key = Object.values(t.findResources('AWS::KMS::Key'))[0];
    const forCloudWatch = key.Properties.KeyPolicy.Statement.filter((st: any) => JSON.stringify(st.Principal).includes('cloudwatch.amazonaws.com'));
    expect(forCloudWatch).toEqual([expect.objectContaining({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:aws:cloudwatch:us-east-1:', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
      },
    })]);
    // No one may create a grant on the key, except an AWS service for an AWS resource (CT.KMS.PR.3).
    expect(key.Properties.KeyPolicy.Statement).toContainEqual({
      Sid: 'GrantsOnlyForAwsServices',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });

  test('a dashboard with the alarms, slot utilization, throughput and the canary', () => {
    const dash = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dash.Properties.DashboardBody);
    for (const fragment of ['Slot utilization', 'Requests in flight and queued', 'Server throughput', 'Canary: time to first token', SERVER_METRICS.predictedTokensPerSecond.name, CANARY_METRICS.timePerOutputToken.name]) {
      expect(body).toContain(fragment);
    }
  });

  test('the canary runs in the VPC on a schedule, reads the key, and reaches the load balancer', () => {
    const t = s.template;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Timeout: 40,
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: { Variables: Match.objectLike({ ENDPOINT_NAME: 'GravitonLlm', API_KEY_PARAMETER: '/graviton-llm/GravitonLlm/api-key', TIMEOUT_MS: '30000' }) },
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 80, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CanarySecurityGroup'), 'GroupId'] },
    });
  });
});

describe('monitoring variants', () => {
  test('warm pool, schedules and thresholds from the configuration', () => {
    const { template: t } = synthWith({
      'graviton-llm': { scheduledCapacity: [{ name: 'office-hours', cron: '0 8 * * MON-FRI', minCapacity: 2, maxCapacity: 3 }] },
      warmPoolSize: '1', tpotP90AlarmMs: '80', targetSlotUtilizationPercent: '60',
    }, { bundle: false });
    t.hasResourceProperties('AWS::AutoScaling::WarmPool', { MinSize: 1, PoolState: 'Stopped', InstanceReusePolicy: { ReuseOnScaleIn: true } });
    // The pool's instances are held until the boot completes the launch hook, which the group carries
    // from its creation (the pool refers to the group), and which the boot is told about.
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LifecycleHookSpecificationList: [{ LifecycleHookName: 'graviton-llm-launch', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: 2400, DefaultResult: 'ABANDON' }],
    });
    const userData = JSON.stringify(Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0].Properties.LaunchTemplateData.UserData);
    expect(userData).toContain('GLLM_LIFECYCLE_HOOK=graviton-llm-launch,graviton-llm-boot');
    expect(userData).toContain('GLLM_AUTOSCALING_GROUP=GravitonLlm-fleet');
    expect(userData).toContain('/var/lib/cloud/scripts/per-boot/graviton-llm.sh');
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const complete = statements.find((st) => st.Action === 'autoscaling:CompleteLifecycleAction');
    expect(JSON.stringify(complete.Resource)).toContain(':autoScalingGroupName/GravitonLlm-fleet');
    t.hasResourceProperties('AWS::AutoScaling::ScheduledAction', { Recurrence: '0 8 * * MON-FRI', MinSize: 2, MaxSize: 3, TimeZone: 'Etc/UTC' });
    expect(alarm(t, 'TimePerOutputTokenP90').Threshold).toBe(80);
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 60 }) });
  });

  test('an internet-facing endpoint without canaryUrl has no canary and no canary alarms', () => {
    const { template: t } = synthWith({
      internetFacing: 'true', allowedCidrs: '203.0.113.0/24',
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012',
    }, { bundle: false });
    t.resourceCountIs('AWS::Events::Rule', 0);
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm')).filter((id) => /Canary|TimeTo|TimePer/.test(id))).toEqual([]);
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(5);
  });
});
