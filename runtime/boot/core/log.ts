/**
 * The boot's log, for people, one line per message (`2026-01-02T03:04:05.678Z
 * [step] message`), and the boot's events, for
 * programs: a typed list that the boot's result file is made from. Tests
 * assert the events; the wording of the lines is free to change.
 */
import { appendFileSync, chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "./clock";

/** One thing that happened in a phase, for the boot's result. */
export interface BootEvent {
  /** The phase it happened in (the step's name, as in the log lines). */
  readonly phase: string;
  /** What happened, a short fixed word: start, done, failed, cache-hit, cache-miss ... */
  readonly event: string;
  /** When, in ms since the epoch. */
  readonly atMs: number;
  /** What people need to read it: a reason, a cache object, a duration. */
  readonly detail?: string;
  /** What the boot's result needs of it, where the detail (for people) is not to be parsed. */
  readonly data?: BootEventData;
}

/**
 * The facts an event carries for the boot's result (result-from-outcome.ts),
 * recorded as the phases learn them: a later event of one kind overrides an
 * earlier one (a build looked up in the cache, then compiled).
 */
export type BootEventData =
  /** The build phase named its build, and where it is taking it from. */
  | { readonly kind: 'build'; readonly key: string; readonly from: 'installed' | 'cache' | 'compile' | 'pinned' }
  /** Where the model as published is being taken from. */
  | { readonly kind: 'model-source'; readonly from: 'installed' | 'cache' | 'download' | 'pinned' }
  /** Where the quantized model served is being taken from. */
  | { readonly kind: 'model-quantized'; readonly from: 'installed' | 'cache' | 'quantize' | 'pinned' }
  /** The builder published an object as a new version (what its report pins). */
  | { readonly kind: 'published'; readonly what: 'build' | 'model'; readonly object: string; readonly versionId: string; readonly sha256: string }
  /** A version of a cache object was taken: its id, and its place among the object's versions, oldest first. */
  | { readonly kind: 'cache-take'; readonly object: string; readonly version: { readonly id: string; readonly position: number; readonly of: number } }
  /** A version of a cache object failed its checks, and was not used. */
  | { readonly kind: 'cache-discard'; readonly object: string; readonly version: string; readonly problem: string }
  /** A cache object was written, or meant to be. */
  | { readonly kind: 'cache-write'; readonly object: string; readonly outcome: 'written' | 'kept-existing' | 'skipped' | 'failed' };

/** A log line: the UTC time to the millisecond, the step in brackets, the message. */
export function logLine(atMs: number, step: string, message: string): string {
  return `${new Date(atMs).toISOString()} [${step}] ${message}`;
}

/** A duration as the log gives it, seconds to the millisecond: "12.034". */
export function secondsText(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  return `${Math.floor(whole / 1000)}.${String(whole % 1000).padStart(3, "0")}`;
}

export interface BootLogOptions {
  readonly clock: Clock;
  /** Where every line goes at once (the console: the caller's stdout, or the instance's cloud-init output). */
  readonly console: (line: string) => void;
  /** The step lines are tagged with until one is set. @default "init" */
  readonly step?: string;
}

/**
 * Lines go to the console at once, and to the log file from the moment it is
 * opened; lines logged before that (the configuration's checks, which decide
 * where the file is) are kept and written first.
 */
export class BootLog {
  /** The step each line is tagged with: the phase being run, or a stage of the boot around them. */
  step: string;
  private file: string | undefined;
  private early: string[] = [];
  private readonly recorded: BootEvent[] = [];

  constructor(private readonly opts: BootLogOptions) {
    this.step = opts.step ?? "init";
  }

  /** Logs a line for people, tagged with the current step. */
  log(message: string): void {
    // Multi-line text (a program's output) would break the one-line-per-entry format.
    const line = logLine(this.opts.clock.now(), this.step, message.replace(/\r?\n/g, " "));
    this.opts.console(line);
    if (this.file === undefined) this.early.push(line);
    else appendFileSync(this.file, `${line}\n`);
  }

  /**
   * Sends the lines, the ones logged so far first, to `file` too: created
   * with its directory, readable by its owner and group only (the CloudWatch
   * agent runs as root; the boot log names paths and versions, not secrets).
   */
  openFile(file: string): void {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, this.early.map((l) => `${l}\n`).join(""), { mode: 0o640 });
    chmodSync(file, 0o640);
    this.early = [];
    this.file = file;
  }

  /** Records an event of the boot, for its result; logs nothing. */
  record(phase: string, event: string, detail?: string, data?: BootEventData): BootEvent {
    const e: BootEvent = { phase, event, atMs: this.opts.clock.now(), ...(detail !== undefined ? { detail } : {}), ...(data !== undefined ? { data } : {}) };
    this.recorded.push(e);
    return e;
  }

  /** The events recorded so far, oldest first. */
  events(): readonly BootEvent[] {
    return [...this.recorded];
  }
}
