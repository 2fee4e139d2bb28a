/**
 * The boot has one deadline: every step, wait and retry stops at it, so the
 * boot reports its own failure before the launch lifecycle hook times out
 * (which would abandon the instance without a word). After the boot, success
 * or failure, reporting may run on past it for REPORT_GRACE_SECONDS: the stack
 * sets the deadline at least that far below the hook's timeout.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Clock } from "./clock";

/** How long reporting may run past the deadline. */
export const REPORT_GRACE_SECONDS = 60;

/** What the instant init started is read from; each undefined where it cannot be read. */
export interface InitStartSources {
  /** The text of /proc/stat (its btime line: the kernel's boot time, in seconds since the epoch). */
  readonly procStat: () => string | undefined;
  /** The text of /proc/1/stat (field 22: PID 1's start, in clock ticks since boot). */
  readonly initStat: () => string | undefined;
  /** The clock ticks per second /proc counts in (getconf CLK_TCK). */
  readonly clockTicksPerSecond: () => number | undefined;
}

/**
 * When init started, in ms since the epoch, from /proc/stat's btime and
 * /proc/1/stat's start time; undefined where either is missing or garbled.
 */
export function initStartMs(sources: InitStartSources): number | undefined {
  const btime = /^btime\s+(\d+)\s*$/m.exec(sources.procStat() ?? "")?.[1];
  // Field 2 (the command, in parentheses) may hold spaces and parentheses,
  // so the fields are counted from its last ")": field 3 is then the first.
  const stat = sources.initStat() ?? "";
  const close = stat.lastIndexOf(")");
  const ticks = close < 0 ? undefined : stat.slice(close + 1).trim().split(/\s+/)[19];
  const hz = sources.clockTicksPerSecond();
  if (btime === undefined || ticks === undefined || !/^\d+$/.test(ticks) || hz === undefined || !Number.isInteger(hz) || hz < 1) {
    return undefined;
  }
  return Number(btime) * 1000 + Math.floor((Number(ticks) * 1000) / hz);
}

/**
 * When the deadline counts from, in ms since the epoch. On an instance, the
 * hook's timer starts at launch, before anything of the instance runs: the
 * earliest instant the instance can see is its init's start (in a container,
 * the container's init), and the stack leaves LAUNCH_TO_INIT_ALLOWANCE_SECONDS
 * (lib/constructs/inference-fleet.ts) for what comes before it; the user
 * data's own work is counted too. A boot that starts a whole deadline after
 * init (a re-run by hand on a serving machine) has no launch waiting on it and
 * counts from now, as does one with no init start (`initStart` undefined: a
 * local boot, or /proc unreadable).
 */
export function deadlineOriginMs(nowMs: number, deadlineSeconds: number, initStart: number | undefined): number {
  if (initStart !== undefined && initStart <= nowMs && nowMs - initStart < deadlineSeconds * 1000) return initStart;
  return nowMs;
}

/** The real /proc and getconf, for an instance. */
export const procInitStartSources: InitStartSources = {
  procStat: () => readOrUndefined("/proc/stat"),
  initStat: () => readOrUndefined("/proc/1/stat"),
  clockTicksPerSecond: () => {
    try {
      const hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
      return Number.isInteger(hz) && hz > 0 ? hz : undefined;
    } catch {
      return undefined;
    }
  },
};

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The boot's deadline: `seconds` after `originMs`, on `clock`. Immutable:
 * reporting gets its own (reportingGrace), which ends later.
 */
export class Deadline {
  /** The deadline, in ms since the epoch. */
  readonly endMs: number;

  /**
   * @param originMs when the deadline counts from (deadlineOriginMs)
   * @param seconds the boot's deadline (GLLM_BOOT_DEADLINE_SECONDS)
   * @param graceEndMs where set, the end of the reporting grace, which then is the time limit
   */
  constructor(
    readonly originMs: number,
    readonly seconds: number,
    private readonly clock: Clock,
    private readonly graceEndMs?: number,
  ) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`the boot deadline must be a positive whole number of seconds, got ${seconds}`);
    this.endMs = originMs + seconds * 1000;
  }

  /** Whole seconds left until the deadline (not the grace), 0 once it has passed. */
  secondsLeft(): number {
    return Math.max(0, Math.trunc((this.endMs - this.clock.now()) / 1000));
  }

  /** Whether the deadline (not the grace) has passed, to the second, as a phase's start checks it. */
  passed(): boolean {
    return this.secondsLeft() === 0;
  }

  /**
   * The instant nothing may run past, in ms since the epoch: the deadline,
   * or for reporting, the end of its grace.
   */
  timeLimitMs(): number {
    return this.graceEndMs ?? this.endMs;
  }

  /** Milliseconds until the time limit, 0 once it has passed. */
  msLeft(): number {
    return Math.max(0, this.timeLimitMs() - this.clock.now());
  }

  /**
   * The same deadline, with REPORT_GRACE_SECONDS from now to report in:
   * a boot that failed at its deadline still has time to say so.
   */
  reportingGrace(): Deadline {
    return new Deadline(this.originMs, this.seconds, this.clock, this.clock.now() + REPORT_GRACE_SECONDS * 1000);
  }
}
