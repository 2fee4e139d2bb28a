/**
 * The drain-watch phase: once llama-server serves, the watcher that drains
 * the instance on a Spot interruption notice or a rebalance recommendation
 * (drain/watch.ts) is started as a service of its own. A watcher that cannot
 * be started fails no boot: the instance serves as well without it, and a
 * failed boot would have it terminated; the warning says what is lost.
 */
import type { Phase } from '../core/phase';

export const DRAIN_WATCH_PHASE = 'drain-watch';

export type DrainWatchStartOutcome = { readonly ok: true; readonly unit: string } | { readonly ok: false; readonly detail: string };

/** Starts the watcher (an instance's systemd unit). */
export interface DrainWatchStarter {
  start(): Promise<DrainWatchStartOutcome>;
}

export interface DrainWatchPhaseInput {
  readonly watcher: DrainWatchStarter;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** Records an outcome for the boot's result (BootLog.record, this phase's). */
  readonly record: (event: string, detail: string) => void;
}

export const drainWatchPhase: Phase<DrainWatchPhaseInput> = {
  name: DRAIN_WATCH_PHASE,
  async run(input) {
    const started = await input.watcher.start();
    if (started.ok) {
      input.record('started', started.unit);
      input.log(`started ${started.unit}: the instance drains on a Spot interruption notice or a rebalance recommendation`);
      return;
    }
    input.record('not-started', started.detail);
    input.log(`WARNING: the drain watcher did not start (${started.detail}); a Spot interruption will cut this instance's streams`);
  },
};
