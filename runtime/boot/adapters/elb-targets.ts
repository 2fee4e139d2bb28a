/**
 * The drain watcher's TargetDeregistration: `aws elbv2 deregister-targets`
 * for this instance and llama-server's port, through the AWS CLI runner
 * (retried, bounded, named region). The load balancer then sends the target
 * no new request and lets the ones in flight finish for up to the target
 * group's deregistration delay (Application Load Balancer guide,
 * "Deregistration delay",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay).
 * The fleet's role may call it on its own target group only (InferenceFleet).
 */
import type { DeregisterOutcome } from '../drain/watch';
import type { AwsCli } from './aws-cli';

export interface ElbTargetsOptions {
  /** The CLI runner whose calls end by `untilMs` (the drain's end). */
  readonly cli: (untilMs: number) => Pick<AwsCli, 'call'>;
  /** GLLM_TARGET_GROUP_ARN. */
  readonly targetGroupArn: string;
  /** GLLM_PORT: the target is registered with the instance's id and this port. */
  readonly port: number;
}

export class ElbTargets {
  constructor(private readonly opts: ElbTargetsOptions) {}

  async deregister(instanceId: string, untilMs: number): Promise<DeregisterOutcome> {
    const { targetGroupArn, port } = this.opts;
    const out = await this.opts.cli(untilMs).call({
      what: `deregistration of ${instanceId} port ${port} from ${targetGroupArn}`,
      args: ['elbv2', 'deregister-targets', '--target-group-arn', targetGroupArn, '--targets', `Id=${instanceId},Port=${port}`],
      // AWS's final answers: no such group, or a target it does not know (ELB API reference, DeregisterTargets, Errors).
      refusals: ['TargetGroupNotFound', 'InvalidTarget'],
    });
    if (out.kind === 'done') return { ok: true };
    return { ok: false, detail: out.kind === 'refused' ? `${out.code}: ${out.detail}` : out.detail };
  }
}
