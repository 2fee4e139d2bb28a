import { ArnFormat, CfnCondition, Duration, Fn, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { drainLogQueryLines } from '../monitoring/drain-log-query';
import {
  BOOT_METRICS, CANARY_METRICS, DRAIN_METRICS, DRAIN_REASON_DIMENSION, DRAIN_REASONS, ENDPOINT_DIMENSION, FLEET_DIMENSION, METRIC_NAMESPACE, MetricDefinition, SERVER_METRICS,
} from '../monitoring/metric-definitions';
import { slotUtilizationExpression } from './fleet-scaling';
import { throwIfProblems } from '../base/problems';
import { formatProblems } from './prop-formats';
import { rangeProblems } from './prop-ranges';

export interface FleetAlarmsProps {
  /** The endpoint's load balancer, whose 5xx responses the alarms count. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /**
   * The fleet's target group. It must already serve behind loadBalancer (a
   * listener forwards to it): its metrics carry the load balancer's dimension,
   * and aws-cdk-lib refuses them for a target group that is not attached.
   */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Fleet name (the server metrics' dimension). */
  readonly groupName: string;
  /**
   * Value of the canary metrics' endpoint dimension: with it, alarms on the
   * canary's latency and failures, which an update also watches.
   * @default - no canary alarms (an endpoint without a canary)
   */
  readonly canaryEndpointName?: string;
  /** Fewest instances: fewer healthy hosts than this for 5 minutes alarm. */
  readonly minCapacity: number;
  /** Slots per instance, for the dashboard's slot utilization. */
  readonly parallelSlots: number;
  /** Alarm when the canary's p90 time to first token stays above this, in ms. */
  readonly ttftP90AlarmMs: number;
  /** Alarm when the canary's p90 time per output token stays above this, in ms. */
  readonly tpotP90AlarmMs: number;
  /** Alarm when 5xx responses (of the load balancer, or of llama-server) exceed this share of requests, in percent. */
  readonly errorRateAlarmPercent: number;
  /**
   * Subscribe this address to the topic. A deploy-time value (a CloudFormation
   * parameter) may be empty: the subscription then exists only where it is not.
   * @default - none
   */
  readonly alarmEmail?: string;
  /**
   * Name of the composite "endpoint degraded" alarm; alarm names are unique
   * per account and region.
   * @default - generated from the construct path, unique per stack of one app
   */
  readonly degradedAlarmName?: string;
  /**
   * Notify this topic (e.g. the team's existing one) instead of a topic of the endpoint's own.
   * @default - a new topic, encrypted with a new KMS key that only this account's CloudWatch alarms may use
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * What pages the on-call engineer: slow first tokens, slow generation, errors,
 * too few healthy instances, requests queueing for a slot, a failing canary;
 * and one composite "endpoint degraded" alarm over all of them. Every alarm
 * notifies one encrypted SNS topic. A dashboard shows the same signals.
 */
export class FleetAlarms extends Construct {
  /** The topic every alarm notifies: alarmTopic, or the endpoint's own. */
  readonly topic: sns.ITopic;
  /** alarmEmail's subscription to the topic; undefined without alarmEmail. */
  readonly emailSubscription?: sns.Subscription;
  /** The condition a deploy-time alarmEmail puts on the subscription: the address is not empty. */
  readonly emailGiven?: CfnCondition;
  readonly alarms: Record<string, cloudwatch.Alarm>;
  readonly degraded: cloudwatch.CompositeAlarm;
  /**
   * The alarms an update's instance refresh watches: a new launch template
   * version that fails to boot, errors, or serves too slowly rolls back.
   * Capacity and queueing alarms are left out: a refresh changes capacity itself.
   */
  readonly updateRollbackAlarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;
  /** The fleet dimension's value, for the drains graph. */
  private readonly groupName: string;

  constructor(scope: Construct, id: string, props: FleetAlarmsProps) {
    super(scope, id);
    // The rules GravitonLlmEndpoint checks the same props with, for alarms built alone.
    throwIfProblems(`FleetAlarms ${this.node.path}`, [
      ...rangeProblems((['minCapacity', 'parallelSlots', 'ttftP90AlarmMs', 'tpotP90AlarmMs', 'errorRateAlarmPercent'] as const)
        .map((field) => ({ field, setting: field, value: props[field] }))),
      ...formatProblems({ alarmEmail: props.alarmEmail }),
    ]);
    this.groupName = props.groupName;
    this.topic = props.alarmTopic ?? this.createTopic();
    if (props.alarmEmail) {
      this.emailSubscription = this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      if (Token.isUnresolved(props.alarmEmail)) {
        // SNS refuses an email subscription without an address: a template whose address is a parameter
        // that may be left empty subscribes only when it is not.
        this.emailGiven = new CfnCondition(this, 'AlarmEmailGiven', { expression: Fn.conditionNot(Fn.conditionEquals(props.alarmEmail, '')) });
        (this.emailSubscription.node.defaultChild as sns.CfnSubscription).cfnOptions.condition = this.emailGiven;
      }
    }

    const lb = props.loadBalancer.metrics;
    const tg = props.targetGroup.metrics;
    const fiveMinutes = Duration.minutes(5);
    const serverMetric = (m: MetricDefinition, statistic: string) => new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE, metricName: m.name, dimensionsMap: { [FLEET_DIMENSION]: props.groupName }, statistic, period: Duration.minutes(1),
    });
    const canaryMetric = (m: MetricDefinition, statistic: string) => new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE, metricName: m.name, dimensionsMap: { [ENDPOINT_DIMENSION]: props.canaryEndpointName ?? '' }, statistic, period: fiveMinutes,
    });

    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (name: string, alarmProps: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, name, alarmProps);
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
      alarms[name] = alarm;
    };

    const errorRate = (name: string, source: string, errors: cloudwatch.IMetric, requests: cloudwatch.IMetric) => add(name, {
      alarmDescription: `More than ${props.errorRateAlarmPercent}% of requests got a 5xx from ${source}.`,
      metric: new cloudwatch.MathExpression({
        expression: '100 * errors / MAX([requests, 1])',
        usingMetrics: { errors, requests },
        label: `${name} (%)`,
        period: fiveMinutes,
      }),
      threshold: props.errorRateAlarmPercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    errorRate('LoadBalancer5xxRate', 'the load balancer (no healthy target, timeouts)',
      lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: fiveMinutes }), lb.requestCount({ period: fiveMinutes }));
    errorRate('Target5xxRate', 'llama-server',
      tg.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: fiveMinutes }), tg.requestCount({ period: fiveMinutes }));
    add('HealthyHostsBelowMinimum', {
      // stringifyNumber: minCapacity is a CloudFormation parameter in the org template.
      alarmDescription: `Fewer than ${Tokenization.stringifyNumber(props.minCapacity)} healthy instances behind the load balancer for 5 minutes.`,
      metric: tg.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }),
      threshold: props.minCapacity,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data means no healthy host reported at all.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    add('BootFailing', {
      alarmDescription: 'An instance failed to boot (bad checksum, build failure, health timeout); see the boot log group. During an update this rolls the update back.',
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: BOOT_METRICS.failure.name,
        dimensionsMap: { [FLEET_DIMENSION]: props.groupName },
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('RequestsQueueing', {
      alarmDescription: 'Requests have waited for a free slot for 10 minutes: the fleet is at maxCapacity or scaling cannot keep up.',
      metric: serverMetric(SERVER_METRICS.requestsDeferred, 'Minimum'),
      threshold: 0,
      evaluationPeriods: 10,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.canaryEndpointName) {
      add('TimeToFirstTokenP90', {
        alarmDescription: `The canary's p90 time to first token has been above ${props.ttftP90AlarmMs} ms for 15 minutes.`,
        metric: canaryMetric(CANARY_METRICS.timeToFirstToken, 'p90'),
        threshold: props.ttftP90AlarmMs,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add('TimePerOutputTokenP90', {
        alarmDescription: `The canary's p90 time per output token has been above ${props.tpotP90AlarmMs} ms for 15 minutes.`,
        metric: canaryMetric(CANARY_METRICS.timePerOutputToken, 'p90'),
        threshold: props.tpotP90AlarmMs,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add('CanaryFailing', {
        alarmDescription: 'Canary probes failed (error, timeout or empty answer) in two 5-minute periods running, or stopped reporting.',
        metric: canaryMetric(CANARY_METRICS.failure, 'Sum'),
        threshold: 2,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // A canary that stopped reporting is a failure of its own.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    this.alarms = alarms;
    this.updateRollbackAlarms = ['BootFailing', 'LoadBalancer5xxRate', 'Target5xxRate', 'TimeToFirstTokenP90', 'TimePerOutputTokenP90', 'CanaryFailing']
      .flatMap((name) => (alarms[name] ? [alarms[name]] : []));

    this.degraded = new cloudwatch.CompositeAlarm(this, 'EndpointDegraded', {
      compositeAlarmName: props.degradedAlarmName,
      alarmDescription: 'The endpoint is degraded: at least one of its latency, error, capacity or canary alarms is firing.',
      alarmRule: cloudwatch.AlarmRule.anyOf(...Object.values(alarms)),
    });
    this.degraded.addAlarmAction(new actions.SnsAction(this.topic));
    this.degraded.addOkAction(new actions.SnsAction(this.topic));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const utilization = new cloudwatch.MathExpression({
      expression: slotUtilizationExpression(props.parallelSlots),
      usingMetrics: { processing: serverMetric(SERVER_METRICS.requestsProcessing, 'Average'), deferred: serverMetric(SERVER_METRICS.requestsDeferred, 'Average') },
      label: 'Slot utilization (%)',
      period: Duration.minutes(1),
    });
    const rows: cloudwatch.IWidget[][] = [
      [
        new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [this.degraded, ...Object.values(alarms)], width: 8, height: 6 }),
        new cloudwatch.GraphWidget({ title: 'Slot utilization (scaling signal)', left: [utilization], width: 8, height: 6 }),
        new cloudwatch.GraphWidget({
          title: 'Requests in flight and queued',
          left: [serverMetric(SERVER_METRICS.requestsProcessing, 'Sum'), serverMetric(SERVER_METRICS.requestsDeferred, 'Sum')],
          width: 8,
          height: 6,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Server throughput (tokens/s per instance)',
          left: [serverMetric(SERVER_METRICS.predictedTokensPerSecond, 'Average'), serverMetric(SERVER_METRICS.promptTokensPerSecond, 'Average')],
          width: 8,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: 'Healthy hosts and 5xx',
          left: [tg.healthyHostCount(), tg.unhealthyHostCount()],
          right: [lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT), tg.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT)],
          width: 8,
          height: 6,
        }),
        new cloudwatch.GraphWidget({ title: 'Requests', left: [lb.requestCount()], right: [tg.targetResponseTime()], width: 8, height: 6 }),
      ],
    ];
    if (props.canaryEndpointName) {
      rows.push([
        new cloudwatch.GraphWidget({
          title: 'Canary: time to first token and per output token (p90, ms)',
          left: [canaryMetric(CANARY_METRICS.timeToFirstToken, 'p90')],
          right: [canaryMetric(CANARY_METRICS.timePerOutputToken, 'p90')],
          leftAnnotations: [{ value: props.ttftP90AlarmMs, label: 'TTFT alarm' }],
          rightAnnotations: [{ value: props.tpotP90AlarmMs, label: 'TPOT alarm' }],
          width: 12,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: 'Canary: failures',
          left: [canaryMetric(CANARY_METRICS.failure, 'Sum'), canaryMetric(CANARY_METRICS.success, 'Sum')],
          width: 12,
          height: 6,
        }),
      ]);
    }
    rows.forEach((row) => this.dashboard.addWidgets(...row));
  }

  /**
   * A row of the dashboard for the fleet's drains (a Spot interruption
   * notice or a rebalance recommendation): a graph of the drain metric by
   * reason, and beside it the table of each drain and how it ended, read
   * from the boot log group, one log stream per instance. It pages nothing,
   * and no alarm reads the drain metric: an interruption is the Spot
   * contract, not a failure, and the other instances absorb it; what it does
   * cost (fewer healthy hosts, 5xx, queueing) the alarms above already see.
   */
  showDrains(bootLogGroup: logs.ILogGroup): void {
    const fiveMinutes = Duration.minutes(5);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Drains by reason (per 5 minutes)',
        left: DRAIN_REASONS.map((reason) => new cloudwatch.Metric({
          namespace: METRIC_NAMESPACE,
          metricName: DRAIN_METRICS.drains.name,
          dimensionsMap: { [FLEET_DIMENSION]: this.groupName, [DRAIN_REASON_DIMENSION]: reason },
          statistic: 'Sum',
          period: fiveMinutes,
          label: reason,
        })),
        stacked: true,
        // Written out: aws-cdk-lib leaves a metric's period of 300 s out of the widget's JSON.
        period: fiveMinutes,
        width: 8,
        height: 6,
      }),
      new cloudwatch.LogQueryWidget({
        title: 'Drains: Spot interruption notices and rebalance recommendations (boot log, newest first)',
        logGroupNames: [bootLogGroup.logGroupName],
        queryLines: drainLogQueryLines(),
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 16,
        height: 6,
      }),
    );
  }

  /**
   * The endpoint's own topic, encrypted with a key of its own. CloudWatch must
   * be able to use the key to publish to an encrypted topic; the AWS-managed
   * SNS key does not allow it.
   */
  private createTopic(): sns.Topic {
    // Only on behalf of this account's alarms (aws:SourceAccount, aws:SourceArn): the service principal
    // alone would let any account's alarm that names this topic use the key (the confused deputy).
    const key = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'graviton-llm alarm topic' });
    const stack = Stack.of(this);
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsOfThisAccount',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }));
    // Nothing that uses this key needs a grant (CloudWatch and SNS act through the statements above), so
    // no principal may create one, except an AWS service doing so for an AWS resource: the account's
    // kms:* above would otherwise let any role with IAM kms:CreateGrant hand the key to anyone.
    // The conditions are those of the Control Tower control CT.KMS.PR.3, which cfn-guard checks in CI.
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }));
    return new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'graviton-llm alarms' });
  }
}
