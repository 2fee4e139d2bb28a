/**
 * The load balancer's side of a Spot instance's drain, for the Spot purchase
 * option to wire into the target group (GravitonLlmEndpoint's
 * deregistrationDelaySeconds) for Spot groups.
 */
import { DRAIN_BUDGET_SECONDS } from '../../runtime/boot/drain/budget';

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
