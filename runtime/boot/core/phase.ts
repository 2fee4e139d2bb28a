/**
 * A phase of the boot (deps, cpu, build, model, api-key, preflight, serve,
 * health): one module with one entry, run in order under the one deadline.
 * A phase fails with one typed failure, which the report turns into the
 * lifecycle action, the signal and the failure metric.
 */
import type { Clock } from "./clock";
import type { Deadline } from "./deadline";
import { type BootLog, secondsText } from "./log";

/**
 * Why the boot failed: the phase it failed in, and a reason for people (one
 * line: it becomes the signal's reason and the result's).
 */
export class PhaseFailure extends Error {
  readonly reason: string;

  constructor(
    readonly phase: string,
    reason: string,
  ) {
    // A program's output quoted in a reason must not break the one line it becomes.
    const line = reason.replace(/\s*\r?\n\s*/g, " ").trim();
    super(line);
    this.name = "PhaseFailure";
    this.reason = line;
  }
}

/**
 * One phase. `run` takes only what the phase needs (its typed inputs and the
 * ports it drives), returns what later phases need, and throws a PhaseFailure
 * naming itself to fail the boot.
 */
export interface Phase<Input, Output = void> {
  /** The step name its log lines carry, e.g. "cpu". */
  readonly name: string;
  run(input: Input): Promise<Output>;
}

/** What runs the phases: the boot's clock, log and deadline. */
export interface PhaseRunner {
  readonly clock: Clock;
  readonly log: BootLog;
  readonly deadline: Deadline;
}

/**
 * Runs one phase: a start line, a refusal to start
 * once the deadline has passed, a done line with its duration; and events
 * (start, done or failed) for the result. Any failure comes out as a
 * PhaseFailure of this phase: an unexpected error (a bug, an I/O error no
 * phase handled) is named after the phase it broke.
 */
export async function runPhase<Input, Output>(phase: Phase<Input, Output>, input: Input, runner: PhaseRunner): Promise<Output> {
  const { log, deadline } = runner;
  log.step = phase.name;
  const start = log.record(phase.name, "start").atMs;
  log.log("start");
  try {
    if (deadline.passed()) throw new PhaseFailure(phase.name, `boot deadline of ${deadline.seconds} s passed before step ${phase.name}`);
    const output = await phase.run(input);
    const took = `${secondsText(runner.clock.now() - start)} s`;
    log.record(phase.name, "done", took);
    log.log(`done in ${took}`);
    return output;
  } catch (e) {
    const failure = e instanceof PhaseFailure ? e : new PhaseFailure(phase.name, `step ${phase.name}: ${e instanceof Error ? e.message : String(e)}`);
    log.record(failure.phase, "failed", failure.reason);
    log.log(`ERROR: ${failure.reason}`);
    throw failure;
  }
}
