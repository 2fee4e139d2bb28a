/**
 * Retries for the calls whose failure would decide an instance's fate on a
 * transient error (S3, SSM, git, the lifecycle action, the signal).
 */
import type { Clock } from "./clock";

/** Tries of each call. */
export const RETRY_ATTEMPTS = 6;

/** The longest wait between two tries. */
const MAX_DELAY_MS = 20_000;

/**
 * The wait before try `attempt + 1`, after try `attempt` (1-based) failed:
 * 1, 2, 4, 8 ... s capped at 20, each between half and all of that ("equal
 * jitter"), so instances launched together do not retry in step against a
 * throttled API. `random` is in [0, 1), as Math.random.
 */
export function retryDelayMs(attempt: number, random: () => number): number {
  const base = Math.min(1000 * 2 ** (attempt - 1), MAX_DELAY_MS);
  const half = Math.floor(base / 2);
  return half + Math.floor(random() * (base - half + 1));
}

/**
 * How one try ended. `final` is an answer no retry would change (AWS's
 * refusal: a missing parameter, no pending lifecycle action, a write refused
 * because the object exists); `transient` is worth another try. `detail`
 * says what happened, for the log (e.g. "exit 1", "ThrottlingException").
 */
export type Attempt<T> =
  | { readonly kind: "done"; readonly value: T }
  | { readonly kind: "final"; readonly detail: string }
  | { readonly kind: "transient"; readonly detail: string };

/** How the retries ended: with a value, or with the last try's failure and why no further try was made. */
export type RetryOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly attempts: number }
  | {
      readonly ok: false;
      /** final: the last try's answer was final; exhausted: every try failed; out-of-time: no time for another. */
      readonly ended: "final" | "exhausted" | "out-of-time";
      readonly detail: string;
      readonly attempts: number;
    };

export interface RetryOptions {
  readonly clock: Clock;
  /** In [0, 1), as Math.random; a fixed one in tests. */
  readonly random: () => number;
  /** The instant no wait may end after, in ms since the epoch (Deadline.timeLimitMs at the call). */
  readonly limitMs: number;
  /** Where the retries are told (the boot's log). */
  readonly log: (message: string) => void;
  /** @default RETRY_ATTEMPTS */
  readonly attempts?: number;
}

/**
 * Runs `attempt` until it is done, its answer is final, RETRY_ATTEMPTS tries
 * have failed, or the next wait would end at or after the time limit: a retry
 * never sleeps past the deadline. `what` names the call in the log lines.
 * A try that throws is not classified: the error goes to the caller.
 */
export async function retry<T>(what: string, attempt: (n: number) => Promise<Attempt<T>>, opts: RetryOptions): Promise<RetryOutcome<T>> {
  const max = opts.attempts ?? RETRY_ATTEMPTS;
  for (let n = 1; ; n++) {
    const result = await attempt(n);
    if (result.kind === "done") return { ok: true, value: result.value, attempts: n };
    if (result.kind === "final") return { ok: false, ended: "final", detail: result.detail, attempts: n };
    if (n >= max) {
      opts.log(`${what} failed (${result.detail}) ${max} times`);
      return { ok: false, ended: "exhausted", detail: result.detail, attempts: n };
    }
    const delay = retryDelayMs(n, opts.random);
    if (opts.clock.now() + delay >= opts.limitMs) {
      opts.log(`${what} failed (${result.detail}); no time left for another try`);
      return { ok: false, ended: "out-of-time", detail: result.detail, attempts: n };
    }
    opts.log(`${what} failed (${result.detail}); try ${n + 1}/${max} in ${(delay / 1000).toFixed(3)} s`);
    await opts.clock.sleep(delay);
  }
}
