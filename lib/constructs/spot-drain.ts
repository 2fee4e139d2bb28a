/**
 * The load balancer's side of a Spot instance's drain: the target group's
 * deregistration delay for the Spot purchase option, and the rule that holds
 * a given delay within it (GravitonLlmEndpoint's deregistrationDelay, the
 * configuration's deregistrationDelaySeconds).
 */
import { Duration } from 'aws-cdk-lib';
import { DRAIN_BUDGET_SECONDS } from '../../runtime/boot/drain/budget';
import { PropProblem } from '../base/problems';
import { PurchaseOption } from './fleet-purchase';

/**
 * The target group's deregistration delay for a fleet that may run on Spot:
 * the drain watcher's budget (90 s), not the kit's on-demand 600 s.
 *
 * The load balancer stops sending new requests to a deregistering target and
 * lets the ones in flight complete for up to this delay (Application Load
 * Balancer guide, "Deregistration delay",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay).
 * On an interruption notice, EC2 takes the instance two minutes after the
 * notice ("Spot Instance interruption notices",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html),
 * and the watcher stops llama-server at most DRAIN_BUDGET_SECONDS after it saw
 * the notice: a longer delay keeps nothing alive that still exists, and a
 * shorter one would have the load balancer cut streams the watcher still lets
 * finish. It also bounds Auto Scaling's own terminations (scale-in, Capacity
 * Rebalance's replacement), which wait for the delay before terminating
 * ("Add an Elastic Load Balancing load balancer to your Auto Scaling group",
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/attach-load-balancer-asg.html):
 * on a Spot group a stream longer than this is cut at scale-in too, the price
 * of one delay for both.
 */
export const SPOT_DEREGISTRATION_DELAY_SECONDS = DRAIN_BUDGET_SECONDS;

/**
 * The delay the target group gets: the one given, else SPOT_DEREGISTRATION_DELAY_SECONDS
 * for a Spot group and `onDemandSeconds` (the kit's default) for an on-demand one.
 */
export function deregistrationDelayOf(purchaseOption: PurchaseOption | undefined, given: Duration | undefined, onDemandSeconds: number): Duration {
  return given ?? Duration.seconds(purchaseOption === PurchaseOption.SPOT ? SPOT_DEREGISTRATION_DELAY_SECONDS : onDemandSeconds);
}

/**
 * A delay given for a Spot group must fit the drain: above
 * SPOT_DEREGISTRATION_DELAY_SECONDS it is refused (see there why). A
 * deploy-time delay is the template's; an on-demand group takes any delay
 * its range allows.
 */
export function spotDeregistrationDelayProblems(purchaseOption: PurchaseOption | undefined, given: Duration | undefined): PropProblem[] {
  if (purchaseOption !== PurchaseOption.SPOT || given === undefined || given.isUnresolved()) {
    return [];
  }
  const seconds = given.toSeconds({ integral: false });
  if (seconds <= SPOT_DEREGISTRATION_DELAY_SECONDS) {
    return [];
  }
  return [{
    field: 'deregistrationDelay',
    given: seconds,
    expected: `expected at most ${SPOT_DEREGISTRATION_DELAY_SECONDS} seconds with purchaseOption 'spot': EC2 takes a Spot instance two minutes after `
      + 'its interruption notice ("Spot Instance interruption notices", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html), '
      + `and the instance's drain stops llama-server at most ${SPOT_DEREGISTRATION_DELAY_SECONDS} s after the notice, so a longer delay keeps no stream alive; `
      + 'the load balancer would only hold the group\'s own terminations (scale-in, Capacity Rebalance) that much longer '
      + '("Deregistration delay", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay). '
      + `Leave it unset (a Spot group gets ${SPOT_DEREGISTRATION_DELAY_SECONDS}) or give at most ${SPOT_DEREGISTRATION_DELAY_SECONDS}`,
  }];
}
