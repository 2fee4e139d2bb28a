/**
 * The aws-mode Reporter: the launch lifecycle action, the stack's signal and
 * the failure metric, through the AWS CLI as the instance. Each method logs
 * what happened and returns it; none fails the boot.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { HookActionOutcome, InstanceIdOutcome, LifecycleOutcome, Platform, ReportOutcome, Reporter } from '../ports';
import type { AwsCli, AwsCliOutcome } from './aws-cli';
import { FLEET_DIMENSION_NAME, putCountArgs } from './metric-data';

/** Where Amazon Linux installs cfn-signal (aws-cfn-bootstrap), if it does. */
export const CFN_SIGNAL_PATH = '/opt/aws/bin/cfn-signal';
/** The most of a reason a signal carries, in characters. */
export const SIGNAL_REASON_MAX_CHARS = 250;

export interface AwsReporterOptions {
  readonly cli: AwsCli;
  /** Where the instance's id comes from (the metadata service). */
  readonly platform: Pick<Platform, 'instanceId'>;
  /** GLLM_AUTOSCALING_GROUP: the group the instance belongs to (the metric's dimension). */
  readonly autoScalingGroup: string;
  /** GLLM_LIFECYCLE_HOOK: the group's own hook first, then hooks of earlier kit versions; none: no action to complete. */
  readonly lifecycleHooks: readonly string[];
  /** GLLM_STACK_NAME and GLLM_SIGNAL_RESOURCE: the creation policy signalled. */
  readonly stackName: string;
  readonly signalResource: string;
  /** GLLM_METRIC_NAMESPACE and GLLM_BOOT_FAILURE_METRIC (empty: no metric). */
  readonly metricNamespace: string;
  readonly bootFailureMetric: string;
  /** cfn-signal, used where it is an executable file (it needs no IAM permission). @default CFN_SIGNAL_PATH */
  readonly cfnSignal?: string;
  /** The boot's log. */
  readonly log: (message: string) => void;
  /** The time, in ms since the epoch, each lifecycle action's last try ended at. @default Date.now */
  readonly now?: () => number;
}

/** The outcome of a call, for the port. */
function reportOf(o: AwsCliOutcome): ReportOutcome {
  return o.kind === 'done' ? { kind: 'done' } : { kind: o.kind, detail: o.detail };
}

export class AwsReporter implements Reporter {
  private instance: Promise<InstanceIdOutcome> | undefined;

  constructor(private readonly opts: AwsReporterOptions) {}

  /**
   * The group holds each launching instance (Pending:Wait, or
   * Warmed:Pending:Wait in a warm pool) until its boot completes the launch
   * lifecycle action. The hooks are completed in order; the outcome is the
   * group's own hook's. AWS's refusal (a ValidationError: no pending launch,
   * as after a reboot of a serving instance, or no such hook) is final: for
   * the group's hook a warning, for a hook of an earlier kit version the
   * expected answer once an upgrade's update has deleted it.
   */
  async completeLifecycleAction(result: 'CONTINUE' | 'ABANDON'): Promise<LifecycleOutcome> {
    const { cli, lifecycleHooks: hooks, autoScalingGroup, log } = this.opts;
    const now = this.opts.now ?? Date.now;
    if (hooks.length === 0) return { kind: 'skipped', hooks: [] };
    const id = await this.instanceId();
    if (!id.ok) {
      log(`WARNING: could not complete lifecycle action ${hooks[0]} with ${result}: no instance id from the metadata service`);
      const failed: ReportOutcome = { kind: 'failed', detail: `no instance id: ${id.detail}` };
      // The group's own hook, failed; the others were not tried.
      return { ...failed, hooks: [{ hook: hooks[0], outcome: failed, atMs: now() }] };
    }
    let own: ReportOutcome | undefined;
    const tried: HookActionOutcome[] = [];
    for (const [i, hook] of hooks.entries()) {
      const done = await cli.call({
        what: `complete-lifecycle-action ${hook} ${result}`,
        args: ['autoscaling', 'complete-lifecycle-action', '--lifecycle-hook-name', hook, '--auto-scaling-group-name', autoScalingGroup,
          '--instance-id', id.instanceId, '--lifecycle-action-result', result],
        refusals: ['ValidationError'],
      });
      if (done.kind === 'done') log(`lifecycle action ${hook} completed with ${result}`);
      else if (i === 0) log(`WARNING: could not complete lifecycle action ${hook} with ${result} (${done.detail})`);
      else if (done.kind === 'refused') log(`lifecycle hook ${hook} of an earlier kit version holds no action for this instance`);
      else log(`WARNING: could not complete lifecycle action ${hook} of an earlier kit version with ${result} (${done.detail})`);
      own ??= reportOf(done);
      tried.push({ hook, outcome: reportOf(done), atMs: now() });
    }
    return { ...(own as ReportOutcome), hooks: tried };
  }

  /**
   * Tells the group's creation policy how this instance did: with cfn-signal
   * where installed, else the API as the instance. On a re-run, and on every
   * instance launched after the stack's creation, the stack no longer waits
   * for signals and refuses them (a ValidationError): final, and no warning.
   */
  async signal(status: 'SUCCESS' | 'FAILURE', reason: string): Promise<ReportOutcome> {
    const { cli, stackName, signalResource, log } = this.opts;
    const cfnSignal = this.opts.cfnSignal ?? CFN_SIGNAL_PATH;
    let sent: AwsCliOutcome;
    if (await isExecutable(cfnSignal)) {
      sent = await cli.callProgram({
        what: `signal ${status}`,
        program: cfnSignal,
        args: ['-e', status === 'SUCCESS' ? '0' : '1', '--reason', Array.from(reason).slice(0, SIGNAL_REASON_MAX_CHARS).join(''),
          '--stack', stackName, '--resource', signalResource, '--region', cli.region],
        refusals: ['ValidationError'],
        // cfn-signal prints AWS's error without the CLI's form; the code is a word of it.
        errorCode: (output) => (/\bValidationError\b/.test(output) ? 'ValidationError' : undefined),
      });
    } else {
      const id = await this.instanceId();
      if (!id.ok) {
        log(`WARNING: could not signal ${status}: no instance id from the metadata service`);
        return { kind: 'failed', detail: `no instance id: ${id.detail}` };
      }
      sent = await cli.call({
        what: `signal ${status}`,
        args: ['cloudformation', 'signal-resource', '--stack-name', stackName, '--logical-resource-id', signalResource,
          '--unique-id', id.instanceId, '--status', status],
        refusals: ['ValidationError'],
      });
    }
    if (sent.kind === 'done') log(`signalled ${status} to ${stackName}/${signalResource}`);
    else if (sent.kind === 'refused') log(`the stack takes no signal now (it is not being created); ${status} not signalled`);
    else log(`WARNING: could not signal ${status} to ${stackName}/${signalResource}`);
    return reportOf(sent);
  }

  /**
   * A failed boot counts itself directly: it may end before the CloudWatch
   * agent ships a single log line. The update's instance refresh watches the
   * alarm on this metric, so a boot that fails during an update rolls it back.
   */
  async countFailure(): Promise<ReportOutcome> {
    const { cli, metricNamespace, bootFailureMetric: metric, autoScalingGroup, log } = this.opts;
    if (metric === '') return { kind: 'skipped' };
    const put = await cli.call({
      what: `put-metric-data ${metric}`,
      args: putCountArgs(metricNamespace, metric, { [FLEET_DIMENSION_NAME]: autoScalingGroup }),
      refusals: [],
    });
    if (put.kind === 'done') log(`counted the failure in ${metricNamespace}/${metric}`);
    else log(`WARNING: could not publish ${metricNamespace}/${metric}`);
    return reportOf(put);
  }

  /** The instance's id, read once it is had (a failed read is tried again by the next report). */
  private async instanceId(): Promise<InstanceIdOutcome> {
    this.instance ??= this.opts.platform.instanceId();
    const id = await this.instance;
    if (!id.ok) this.instance = undefined;
    return id;
  }
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
