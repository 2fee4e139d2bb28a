import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IConstruct } from 'constructs';
import { registerChecks } from '../../lib/app/checks';
import { FleetAlarms, FleetAlarmsProps } from '../../lib/constructs/fleet-alarms';
import { CANARY_METRICS, METRIC_NAMESPACE } from '../../lib/monitoring/metric-definitions';
import { constructTestApp } from '../support/synth';

/** The test's own stand-ins are not under test: their findings are acknowledged on them alone, never on the part. */
function fixture<T extends IConstruct>(construct: T, ...ids: string[]): T {
  ids.forEach((id) => Validations.of(construct).acknowledge({ id, reason: 'A test fixture standing in for the caller\'s own resource.' }));
  return construct;
}

const REQUIRED = { groupName: 'team-llm-fleet', minCapacity: 2, parallelSlots: 4, ttftP90AlarmMs: 2500, tpotP90AlarmMs: 120, errorRateAlarmPercent: 3 };

/** Builds FleetAlarms alone in a fresh stack beside a plain load balancer and target group, with the kit's checks, and synthesizes it. */
function build(more: (stack: Stack) => Partial<FleetAlarmsProps>): { stack: Stack; alarms: FleetAlarms; t: Template } {
  const app = constructTestApp();
  // cdk-nag and CloudFormation Validate fail synth on any finding the part does not acknowledge itself.
  registerChecks(app);
  const stack = new Stack(app, 'Alarms', { env: { region: 'us-east-1' } });
  const vpc = fixture(new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 }), 'AwsSolutions-VPC7');
  const loadBalancer = fixture(new elbv2.ApplicationLoadBalancer(stack, 'LoadBalancer', { vpc }), 'AwsSolutions-ELB2');
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, 'Targets', { vpc, port: 8080, protocol: elbv2.ApplicationProtocol.HTTP });
  // The target group's metrics carry the load balancer's dimension: it must serve behind it.
  loadBalancer.addListener('Http', { port: 80, open: false, defaultTargetGroups: [targetGroup] });
  const alarms = new FleetAlarms(stack, 'Alarms', { loadBalancer, targetGroup, ...REQUIRED, ...more(stack) });
  app.synth();
  return { stack, alarms, t: Template.fromStack(stack) };
}

const ALARMS_WITHOUT_CANARY = ['BootFailing', 'HealthyHostsBelowMinimum', 'LoadBalancer5xxRate', 'RequestsQueueing', 'Target5xxRate'];
const CANARY_ALARMS = ['CanaryFailing', 'TimePerOutputTokenP90', 'TimeToFirstTokenP90'];

describe('FleetAlarms alone with the required props', () => {
  let s: ReturnType<typeof build>;
  beforeAll(() => {
    s = build(() => ({}));
  });

  test('no canaryEndpointName: the fleet\'s alarms only, no canary alarm or widget', () => {
    expect(Object.keys(s.alarms.alarms).sort()).toEqual(ALARMS_WITHOUT_CANARY);
    s.t.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    expect(s.alarms.updateRollbackAlarms.map((a) => a.node.id)).toEqual(['BootFailing', 'LoadBalancer5xxRate', 'Target5xxRate']);
    expect(JSON.stringify(s.t.findResources('AWS::CloudWatch::Dashboard'))).not.toContain('Canary');
  });

  test('thresholds: the error rate, the fleet\'s minimum, one failed boot, any queueing', () => {
    const byId = (id: string) => s.t.toJSON().Resources[s.stack.getLogicalId(s.alarms.alarms[id].node.defaultChild as any)].Properties;
    expect(byId('LoadBalancer5xxRate')).toMatchObject({ Threshold: 3, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(byId('Target5xxRate')).toMatchObject({ Threshold: 3, ComparisonOperator: 'GreaterThanThreshold' });
    expect(byId('HealthyHostsBelowMinimum')).toMatchObject({ Threshold: 2, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching', EvaluationPeriods: 5 });
    expect(byId('BootFailing')).toMatchObject({
      Threshold: 1, Namespace: METRIC_NAMESPACE, MetricName: 'BootFailure', Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'team-llm-fleet' }],
    });
    expect(byId('RequestsQueueing')).toMatchObject({ Threshold: 0, Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'team-llm-fleet' }] });
  });

  test('alarmTopic unset: a topic of its own, TLS-only, encrypted with a rotated key only this account\'s alarms may use', () => {
    s.t.resourceCountIs('AWS::SNS::Topic', 1);
    s.t.resourceCountIs('AWS::KMS::Key', 1);
    const keyId = Object.keys(s.t.findResources('AWS::KMS::Key'))[0];
    s.t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    s.t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    s.t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CloudWatchAlarmsOfThisAccount',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
          Match.objectLike({ Sid: 'GrantsOnlyForAwsServices', Effect: 'Deny', Action: 'kms:CreateGrant' }),
        ]),
      },
    });
    expect(s.stack.resolve((s.alarms.topic as sns.Topic).topicArn)).toEqual({ Ref: Object.keys(s.t.findResources('AWS::SNS::Topic'))[0] });
  });

  test('every alarm, and the composite over them, notifies the topic on ALARM and on OK', () => {
    const topic = s.stack.resolve(s.alarms.topic.topicArn);
    for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']) {
      for (const alarm of Object.values(s.t.findResources(type))) {
        expect(alarm.Properties.AlarmActions).toEqual([topic]);
        expect(alarm.Properties.OKActions).toEqual([topic]);
      }
    }
  });

  test('alarmEmail unset: no subscription; degradedAlarmName unset: the composite\'s name generated from the path', () => {
    s.t.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(s.alarms.emailSubscription).toBeUndefined();
    expect(s.alarms.emailGiven).toBeUndefined();
    s.t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
    const [composite] = Object.values(s.t.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(composite.Properties.AlarmName).toMatch(/^AlarmsEndpointDegraded[0-9A-F]{8}$/);
    const rule = JSON.stringify(s.stack.resolve(composite.Properties.AlarmRule));
    for (const alarm of Object.values(s.alarms.alarms)) {
      expect(rule).toContain(s.stack.getLogicalId(alarm.node.defaultChild as any));
    }
  });

  test('a dashboard of the same signals', () => {
    s.t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(JSON.stringify(s.t.findResources('AWS::CloudWatch::Dashboard'))).toContain('100 * (processing + deferred) / 4');
  });
});

describe('FleetAlarms alone with every prop', () => {
  let s: ReturnType<typeof build>;
  let team: sns.Topic;
  beforeAll(() => {
    s = build((stack) => {
      team = fixture(new sns.Topic(stack, 'TeamAlarms', { enforceSSL: true }), 'AwsSolutions-SNS2');
      return { canaryEndpointName: 'team-llm', alarmEmail: 'oncall@example.com', degradedAlarmName: 'team-llm-degraded', alarmTopic: team };
    });
  });

  test('canaryEndpointName: the canary\'s latency and failure alarms on its dimension, which an update also watches', () => {
    expect(Object.keys(s.alarms.alarms).sort()).toEqual([...ALARMS_WITHOUT_CANARY, ...CANARY_ALARMS].sort());
    s.t.resourceCountIs('AWS::CloudWatch::Alarm', 8);
    const dimensions = [{ Name: 'Endpoint', Value: 'team-llm' }];
    s.t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CANARY_METRICS.timeToFirstToken.name, ExtendedStatistic: 'p90', Threshold: 2500, Dimensions: dimensions });
    s.t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CANARY_METRICS.timePerOutputToken.name, ExtendedStatistic: 'p90', Threshold: 120, Dimensions: dimensions });
    s.t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CANARY_METRICS.failure.name, Threshold: 2, TreatMissingData: 'breaching', Dimensions: dimensions });
    expect(s.alarms.updateRollbackAlarms.map((a) => a.node.id))
      .toEqual(['BootFailing', 'LoadBalancer5xxRate', 'Target5xxRate', 'TimeToFirstTokenP90', 'TimePerOutputTokenP90', 'CanaryFailing']);
    expect(JSON.stringify(s.t.findResources('AWS::CloudWatch::Dashboard'))).toContain('Canary: failures');
  });

  test('alarmTopic: every alarm notifies the given topic; no topic or key of its own', () => {
    expect(s.alarms.topic).toBe(team);
    s.t.resourceCountIs('AWS::SNS::Topic', 1);
    s.t.resourceCountIs('AWS::KMS::Key', 0);
    const teamRef = { Ref: s.stack.getLogicalId(team.node.defaultChild as any) };
    for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']) {
      for (const alarm of Object.values(s.t.findResources(type))) {
        expect(alarm.Properties.AlarmActions).toEqual([teamRef]);
      }
    }
  });

  test('alarmEmail: a literal address subscribes to that topic, unconditionally', () => {
    s.t.resourceCountIs('AWS::SNS::Subscription', 1);
    const [subscription] = Object.values(s.t.findResources('AWS::SNS::Subscription'));
    expect(subscription.Properties).toEqual({ Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: s.stack.getLogicalId(team.node.defaultChild as any) } });
    expect(subscription.Condition).toBeUndefined();
    expect(s.alarms.emailGiven).toBeUndefined();
    expect(s.alarms.emailSubscription).toBeDefined();
  });

  test('degradedAlarmName names the composite alarm', () => {
    s.t.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmName: 'team-llm-degraded' });
  });
});

describe('FleetAlarms alone: an e-mail address with a topic of its own', () => {
  test('subscribes to the new, encrypted topic', () => {
    const s = build(() => ({ alarmEmail: 'oncall@example.com' }));
    s.t.resourceCountIs('AWS::KMS::Key', 1);
    s.t.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'oncall@example.com', TopicArn: s.stack.resolve(s.alarms.topic.topicArn) });
  });
});
