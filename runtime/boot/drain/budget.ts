/**
 * The drain's clock: how often the watcher asks, and how the two minutes of a
 * Spot interruption notice are shared out. lib/ takes the load balancer's
 * deregistration delay for Spot groups from here (lib/constructs/spot-drain.ts).
 *
 * The notice: "two minutes before Amazon EC2 stops or terminates your Spot
 * Instance" (EC2 user guide, "Spot Instance interruption notices",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html).
 */

/** How long a Spot interruption notice comes before the interruption. */
export const SPOT_NOTICE_SECONDS = 120;

/**
 * How often the metadata service is asked for a notice: the user guide's
 * advice ("we recommend that you check for these interruption notices every
 * 5 seconds", same page). A notice is seen at most this late.
 */
export const NOTICE_POLL_MS = 5_000;

/** How often llama-server's load is read while the watcher waits for its streams to end. */
export const LOAD_POLL_MS = 1_000;

/**
 * Kept at the end of the notice for stopping llama-server (SIGTERM; it exits
 * in well under a second once idle, systemd's stop timeout aside) and for the
 * operating system's own shutdown before EC2 acts.
 */
export const STOP_RESERVE_SECONDS = 20;

/**
 * From the moment a notice is seen until llama-server is stopped, however busy
 * it still is: the deregistration call and the wait for running streams. A
 * notice seen up to NOTICE_POLL_MS late, plus this, plus STOP_RESERVE_SECONDS,
 * is within SPOT_NOTICE_SECONDS with 5 s to spare (5 + 90 + 20 = 115 <= 120;
 * test/runtime/boot/drain/watch.test.ts holds it). Where the notice
 * names the instant of the interruption, the drain also ends
 * STOP_RESERVE_SECONDS before it, whichever is first.
 */
export const DRAIN_BUDGET_SECONDS = 90;

/**
 * After a deregistration, the server keeps serving at least this long even
 * when idle: the load balancer stops sending new requests to a deregistering
 * target, but its nodes learn of it over a few seconds (Application Load
 * Balancer guide, "Deregistration delay",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay,
 * states no bound), and a request routed just before would find the server gone.
 */
export const DEREGISTRATION_SETTLE_SECONDS = 10;
