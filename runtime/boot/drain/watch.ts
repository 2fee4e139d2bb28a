/**
 * The drain watcher: on a fleet instance that serves, it asks the metadata
 * service every NOTICE_POLL_MS for a Spot interruption notice or a rebalance
 * recommendation, and on either drains the instance: it deregisters itself
 * from the target group (the load balancer sends it no new request), waits
 * while llama-server still has requests in flight, within DRAIN_BUDGET_SECONDS,
 * then stops llama-server. Ports only: the metadata service, the ELB call, the
 * server's load and its stop are adapters (drain-watch.ts wires an instance's).
 *
 * A rebalance recommendation ("EC2 instance rebalance recommendations",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/rebalance-recommendations.html)
 * says the instance is at elevated risk of interruption, usually before any
 * notice. The kit drains on it too, and that is a trade-off: with Capacity
 * Rebalance on, Auto Scaling launches a replacement on the recommendation and,
 * once it is in service, terminates this instance itself, deregistering it
 * from the target group with the deregistration delay, so running streams
 * would finish anyway ("Use Capacity Rebalance to handle Amazon EC2 Spot
 * Interruptions", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-capacity-rebalancing.html).
 * Draining at once instead lowers the fleet's capacity by one instance until
 * the replacement serves (a boot's length from a warm cache), and where no
 * replacement can be launched, the instance stays out of service until EC2
 * interrupts it or the group replaces it. What it buys: a recommendation can
 * come with, or just before, the notice, when two minutes is all there is.
 */
import type { Clock } from '../core/clock';
import type { InstanceIdOutcome } from '../ports';
import { DEREGISTRATION_SETTLE_SECONDS, DRAIN_BUDGET_SECONDS, LOAD_POLL_MS, NOTICE_POLL_MS, STOP_RESERVE_SECONDS } from './budget';

/** What the metadata service announced. */
export type Notice =
  /** spot/instance-action: `action` (terminate, stop, hibernate) at `atMs`, where the notice names a time it can be read. */
  | { readonly kind: 'interruption'; readonly action: string; readonly atMs: number | undefined }
  /** events/recommendations/rebalance. */
  | { readonly kind: 'rebalance' };

export type NoticeCheck =
  | { readonly kind: 'none' }
  | { readonly kind: 'notice'; readonly notice: Notice }
  /** The metadata service did not answer as it does (no token, an unexpected status, no connection). */
  | { readonly kind: 'unreachable'; readonly detail: string };

/** Asks the metadata service once for a notice (an interruption first: it is the more urgent). */
export interface NoticeSource {
  check(): Promise<NoticeCheck>;
}

export type DeregisterOutcome = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** Takes this instance out of its target group; every try ends by `untilMs`. */
export interface TargetDeregistration {
  deregister(instanceId: string, untilMs: number): Promise<DeregisterOutcome>;
}

/** Requests llama-server is working on or holds waiting for a slot, or why that could not be read. */
export type LoadOutcome = { readonly ok: true; readonly inFlight: number } | { readonly ok: false; readonly detail: string };

export interface ServerLoad {
  read(): Promise<LoadOutcome>;
}

/** Why the instance drains: the drain metric's Reason dimension. */
export type DrainReason = Notice['kind'];

export type CountOutcome = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** Counts one drain (a CloudWatch data point of 1); every try ends by `untilMs`. */
export interface DrainCounter {
  /** What is counted, for the log: `NAMESPACE/METRIC`. */
  readonly metric: string;
  count(reason: DrainReason, untilMs: number): Promise<CountOutcome>;
}

export interface DrainWatchInput {
  readonly notices: NoticeSource;
  /** The instance's id (the metadata service's), asked once a notice is seen; tries end by `untilMs`. */
  readonly instanceId: (untilMs: number) => Promise<InstanceIdOutcome>;
  readonly targets: TargetDeregistration;
  readonly load: ServerLoad;
  /** Counts the drain (GLLM_DRAIN_METRIC). @default - the drain is not counted (the key absent or empty) */
  readonly counter?: DrainCounter;
  /** Stops llama-server (the supervisor's stop). */
  readonly stopServer: () => Promise<void>;
  readonly clock: Clock;
  /** The boot log's lines, tagged drain. */
  readonly log: (message: string) => void;
  /** Tests: give up after this many checks without a notice. @default - never */
  readonly maxChecks?: number;
}

/** How the watch ended. */
export type DrainOutcome =
  | { readonly kind: 'no-notice' }
  | {
    readonly kind: 'drained';
    readonly notice: Notice;
    readonly deregistered: boolean;
    /** idle: no request in flight; budget: stopped at the budget's end, busy or not. */
    readonly ended: 'idle' | 'budget';
  };

/** After this many failed checks in a row the watcher says so again (once a minute at NOTICE_POLL_MS). */
const UNREACHABLE_REPEAT = 12;

/** Watches until a notice comes, then drains; resolves once llama-server is stopped. */
export async function watchAndDrain(input: DrainWatchInput): Promise<DrainOutcome> {
  const { clock, log } = input;
  log(`watching the instance metadata service every ${NOTICE_POLL_MS / 1000} s for a Spot interruption notice or a rebalance recommendation`);
  let failing = 0;
  for (let n = 0; input.maxChecks === undefined || n < input.maxChecks; n++) {
    const check = await input.notices.check();
    if (check.kind === 'notice') return drain(input, check.notice);
    if (check.kind === 'unreachable') {
      // A metadata service that does not answer says nothing of a notice: keep asking, and say so now and then.
      if (failing % UNREACHABLE_REPEAT === 0) log(`WARNING: the instance metadata service did not answer (${check.detail}); asking again every ${NOTICE_POLL_MS / 1000} s`);
      failing++;
    } else {
      if (failing > 0) log(`the instance metadata service answers again after ${failing} failed checks`);
      failing = 0;
    }
    await clock.sleep(NOTICE_POLL_MS);
  }
  return { kind: 'no-notice' };
}

function describeNotice(notice: Notice): string {
  if (notice.kind === 'rebalance') return 'a rebalance recommendation';
  const at = notice.atMs === undefined ? 'at a time not given' : `at ${new Date(notice.atMs).toISOString()}`;
  return `a Spot interruption notice (${notice.action} ${at})`;
}

/**
 * The drain: deregister, wait for the requests in flight, stop. A failed
 * deregistration still drains and stops: the notice means the machine goes
 * whatever happens, and a server stopped once its streams end refuses new
 * connections at once (the load balancer answers 502 and its health checks
 * mark the target unhealthy) rather than starting streams that the
 * interruption would cut mid-way; on a rebalance recommendation, the failing
 * health checks have Auto Scaling replace the instance.
 */
async function drain(input: DrainWatchInput, notice: Notice): Promise<DrainOutcome> {
  const { clock, log } = input;
  const seenMs = clock.now();
  const byBudget = seenMs + DRAIN_BUDGET_SECONDS * 1000;
  const untilMs = notice.kind === 'interruption' && notice.atMs !== undefined ? Math.min(byBudget, notice.atMs - STOP_RESERVE_SECONDS * 1000) : byBudget;
  log(`${describeNotice(notice)}: draining, llama-server stopped by ${new Date(untilMs).toISOString()} at the latest`);

  let deregistered = false;
  const id = await input.instanceId(untilMs);
  if (!id.ok) {
    log(`WARNING: cannot deregister from the target group: the instance's id is not known (${id.detail}); draining without`);
  } else {
    const out = await input.targets.deregister(id.instanceId, untilMs);
    deregistered = out.ok;
    log(out.ok ? `deregistered ${id.instanceId} from the target group: the load balancer sends it no new request` : `WARNING: deregistration of ${id.instanceId} failed (${out.detail}); draining without`);
  }

  // The count runs beside the wait for the streams, not before it: the deregistration is what keeps new
  // requests away, so it goes first, and the wait and the stop keep their own time, so a slow or failing
  // CloudWatch call costs the drain nothing. It is bounded by the drain's end, as every call of the drain
  // is, and awaited only once llama-server is stopped, so that the watcher's process does not end mid-call.
  const counted = countDrain(input, notice.kind, untilMs);

  const settledMs = deregistered ? clock.now() + DEREGISTRATION_SETTLE_SECONDS * 1000 : clock.now();
  let ended: 'idle' | 'budget' = 'budget';
  let last: string | undefined;
  while (clock.now() < untilMs) {
    const load = await input.load.read();
    const said = load.ok ? `${load.inFlight} request(s) in flight` : `llama-server's load unknown (${load.detail})`;
    if (said !== last) log(said);
    last = said;
    if (load.ok && load.inFlight === 0 && clock.now() >= settledMs) {
      ended = 'idle';
      break;
    }
    await clock.sleep(Math.min(LOAD_POLL_MS, untilMs - clock.now()));
  }
  if (ended === 'budget') log(`the drain's time is up (${last ?? 'load never read'}); stopping llama-server`);
  await input.stopServer();
  log(`llama-server stopped (${ended === 'idle' ? 'no request in flight' : 'at the end of the drain\'s time'}); the watcher ends`);
  await counted;
  return { kind: 'drained', notice, deregistered, ended };
}

/** Counts the drain where a counter is given; a failure, thrown or returned, is logged and no more. */
async function countDrain(input: DrainWatchInput, reason: DrainReason, untilMs: number): Promise<void> {
  const { counter, log } = input;
  if (counter === undefined) return;
  let out: CountOutcome;
  try {
    out = await counter.count(reason, untilMs);
  } catch (e) {
    out = { ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
  log(out.ok ? `counted the drain in ${counter.metric} (Reason ${reason})` : `WARNING: the drain was not counted in ${counter.metric} (${out.detail}); the drain goes on`);
}
