/**
 * The boot's one source of time, injected so tests run on a fake clock and
 * never wait or assert on real time.
 */
import { setTimeout as sleepFor } from "node:timers/promises";

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds (at once for 0 or less). */
  sleep(ms: number): Promise<void>;
}

/** The machine's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms) => {
    if (ms > 0) await sleepFor(ms);
  },
};
