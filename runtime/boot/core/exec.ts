/**
 * Runs one program under the boot's time limit (GNU timeout --kill-after=10),
 * as the service user where asked (setpriv).
 * Every program the boot runs that can take long goes through this: the
 * package installs, git, CMake, the compile, llama-quantize, a build's checks.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Clock } from "./clock";

export interface ExecRequest {
  /** The step the program runs for, named in what its result says. */
  readonly step: string;
  readonly program: string;
  readonly args?: readonly string[];
  /**
   * When it is stopped, in ms since the epoch (Deadline.timeLimitMs): it gets
   * SIGTERM then, and SIGKILL a grace later if still running. A limit
   * already passed runs nothing.
   */
  readonly limitMs: number;
  /**
   * Run it as the service user, where the runner has one (an instance's boot,
   * as root): a build's programs, from the cache or just compiled, get no
   * more than the service will give them, root least of all.
   */
  readonly asServiceUser?: boolean;
  /** Variables added to the boot's own environment (CC, CXX ...). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Its standard input, as text; else a file (read by the boot, so the program needs no access to it); else none. */
  readonly input?: string;
  readonly stdinFile?: string;
  /**
   * Appends its standard output and error to this file (a package manager's
   * or the build's log) instead of capturing them: the result's stdout and
   * stderr are then empty.
   */
  readonly appendOutputTo?: string;
}

export interface ExecResult {
  readonly step: string;
  /** The program asked for (setpriv aside). */
  readonly program: string;
  /** The program and its arguments, as run (setpriv's included), for messages. */
  readonly argv: readonly string[];
  /** Its exit status; undefined if a signal ended it or it never started. */
  readonly exitCode: number | undefined;
  /** The signal that ended it, if one did. */
  readonly signal: NodeJS.Signals | undefined;
  /** Whether it was stopped at the time limit, or not started because the limit had passed. */
  readonly timedOut: boolean;
  /** Why it could not start (no such program, no permission). */
  readonly startError: string | undefined;
  /** What it wrote, the last maxCaptureBytes of each. */
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly clock: Clock;
  /**
   * The user asServiceUser runs as, where the boot has one: an instance's
   * boot, running as root. Undefined (a local boot, which is not root) runs
   * every program as the boot's own user.
   */
  readonly serviceUser?: string;
  /** How long a program stopped at the limit has to exit before SIGKILL. @default 10000 (timeout --kill-after=10) */
  readonly killGraceMs?: number;
  /** The setpriv program. @default "setpriv" */
  readonly setpriv?: string;
  /** How much of each output stream is kept (the end of it). @default 1 MiB */
  readonly maxCaptureBytes?: number;
}

/** Whether the program ran and exited 0. */
export function succeeded(r: ExecResult): boolean {
  return r.exitCode === 0;
}

/** How the program ended, for a log line or a failure reason: "exit 2", "killed by SIGSEGV" ... */
export function describeExit(r: ExecResult): string {
  if (r.timedOut) return r.exitCode === undefined && r.signal === undefined ? "not started: no time left before the boot's time limit" : "stopped at the boot's time limit";
  if (r.startError !== undefined) return `could not start: ${r.startError}`;
  if (r.signal !== undefined) return `killed by ${r.signal}`;
  return `exit ${r.exitCode}`;
}

/** The step, the program and how it ended, for a failure reason: "step build: cmake exit 1". */
export function explainExit(r: ExecResult): string {
  return `step ${r.step}: ${r.program} ${describeExit(r)}`;
}

/** Keeps the last `max` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0].length >= this.max) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString("utf8");
  }
}

export class Exec {
  constructor(private readonly opts: ExecOptions) {}

  /** The argument vector `req` runs with: behind setpriv where it runs as the service user. */
  argv(req: ExecRequest): string[] {
    const own = [req.program, ...(req.args ?? [])];
    const user = req.asServiceUser ? this.opts.serviceUser : undefined;
    if (user === undefined) return own;
    return [this.opts.setpriv ?? "setpriv", `--reuid=${user}`, `--regid=${user}`, "--init-groups", "--no-new-privs", "--", ...own];
  }

  /** Runs the program; resolves when it has exited (or could not start). Never rejects for the program's sake. */
  run(req: ExecRequest): Promise<ExecResult> {
    const argv = this.argv(req);
    const base = { step: req.step, program: req.program, argv };
    const left = req.limitMs - this.opts.clock.now();
    if (left <= 0) {
      return Promise.resolve({ ...base, exitCode: undefined, signal: undefined, timedOut: true, startError: undefined, stdout: "", stderr: "" });
    }
    const max = this.opts.maxCaptureBytes ?? 1024 * 1024;
    const out = new Tail(max);
    const err = new Tail(max);
    const fds: number[] = [];
    const result = (fields: Pick<ExecResult, "exitCode" | "signal" | "timedOut" | "startError">): ExecResult => ({
      ...base, ...fields, stdout: out.text(), stderr: err.text(),
    });
    try {
      const stdin = req.stdinFile !== undefined ? openSync(req.stdinFile, "r") : req.input !== undefined ? "pipe" : "ignore";
      if (typeof stdin === "number") fds.push(stdin);
      const output = req.appendOutputTo !== undefined ? openSync(req.appendOutputTo, "a") : "pipe";
      if (typeof output === "number") fds.push(output);
      return new Promise((resolve) => {
        let timedOut = false;
        let settled = false;
        let killer: NodeJS.Timeout | undefined;
        // Its own process group, as timeout makes one: the limit stops what it started too.
        const child = spawn(argv[0], argv.slice(1), {
          cwd: req.cwd,
          env: { ...process.env, ...req.env },
          stdio: [stdin, output, output],
          detached: true,
        });
        const signalGroup = (signal: NodeJS.Signals) => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, signal);
          } catch {
            // Already gone.
          }
        };
        const stopper = setTimeout(() => {
          timedOut = true;
          signalGroup("SIGTERM");
          killer = setTimeout(() => signalGroup("SIGKILL"), this.opts.killGraceMs ?? 10_000);
        }, left);
        const done = (fields: Pick<ExecResult, "exitCode" | "signal" | "timedOut" | "startError">) => {
          if (settled) return;
          settled = true;
          clearTimeout(stopper);
          if (killer !== undefined) clearTimeout(killer);
          for (const fd of fds.splice(0)) closeSync(fd);
          resolve(result(fields));
        };
        child.stdout?.on("data", (c: Buffer) => out.push(c));
        child.stderr?.on("data", (c: Buffer) => err.push(c));
        if (req.input !== undefined && child.stdin) {
          // A program that exits without reading its input must not fail the boot with EPIPE.
          child.stdin.on("error", () => undefined);
          child.stdin.end(req.input);
        }
        child.on("error", (e) => done({ exitCode: undefined, signal: undefined, timedOut: false, startError: e.message }));
        child.on("close", (code, signal) => done({ exitCode: code ?? undefined, signal: signal ?? undefined, timedOut, startError: undefined }));
      });
    } catch (e) {
      for (const fd of fds.splice(0)) closeSync(fd);
      return Promise.resolve(result({ exitCode: undefined, signal: undefined, timedOut: false, startError: (e as Error).message }));
    }
  }
}
