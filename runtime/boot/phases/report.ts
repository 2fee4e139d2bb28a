/**
 * The report: how the boot ended, told to whoever waits on it, over the
 * Reporter port: for a boot that served, CONTINUE and SUCCESS; for one that
 * failed, the failure metric, ABANDON and FAILURE with the failure's reason.
 *
 * It runs after the boot's deadline may have passed, so it is not run through
 * runPhase (which refuses to start a phase past the deadline): it runs under
 * the reporting grace, which it starts, and which the stack leaves below the
 * lifecycle hook's timeout. It never fails: what could not be reported is
 * logged, recorded and returned. Which step a failed boot's lines carry
 * ("failure") and stopping the server before a failure is reported are the
 * caller's.
 */
import { type Deadline, REPORT_GRACE_SECONDS } from '../core/deadline';
import type { Phase, PhaseFailure } from '../core/phase';
import type { HookActionOutcome, LifecycleOutcome, ReportOutcome, Reporter } from '../ports';

export const REPORT_PHASE = 'report';

/** The reason a boot that serves signals with. */
export const SUCCESS_REASON = 'llama-server healthy';

/** How the boot ended: serving, or failed in a phase. */
export type BootEnd = { readonly ok: true } | { readonly ok: false; readonly failure: Pick<PhaseFailure, 'phase' | 'reason'> };

export interface ReportPhaseInput {
  readonly end: BootEnd;
  /** The boot's deadline: the grace starts from it, now. */
  readonly deadline: Deadline;
  /**
   * Moves the adapters' time limit to the grace (main's holder that the AWS
   * CLI and the metadata service read their limit from), so a report's
   * retries may run past the deadline, up to the grace's end.
   */
  readonly enterGrace: (grace: Deadline) => void;
  readonly reporter: Reporter;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** Records an event of the report for the boot's result: failure-metric, lifecycle-action, signal. */
  readonly record: (event: string, detail: string) => void;
}

/** What each report came to, for the boot's result. */
export interface ReportPhaseOutput {
  /** Only a failed boot counts itself. */
  readonly failureMetric: ReportOutcome | undefined;
  readonly lifecycleAction: ReportOutcome;
  /** Each hook's lifecycle action, in the configuration's order, where the reporter tried any. */
  readonly lifecycleActions: readonly HookActionOutcome[];
  /** What was signalled, and how that went. */
  readonly signal: ReportOutcome;
  readonly status: 'SUCCESS' | 'FAILURE';
  readonly result: 'CONTINUE' | 'ABANDON';
}

/** An outcome in a few words: "done", "refused: ValidationError ...". */
function describe(o: ReportOutcome): string {
  return o.kind === 'done' || o.kind === 'skipped' ? o.kind : `${o.kind}: ${o.detail}`;
}

export const reportPhase: Phase<ReportPhaseInput, ReportPhaseOutput> = {
  name: REPORT_PHASE,
  async run(input: ReportPhaseInput): Promise<ReportPhaseOutput> {
    const { end, reporter, log, record } = input;
    // Reporting may outlast the boot deadline by the grace the stack leaves for it.
    const grace = input.deadline.reportingGrace();
    input.enterGrace(grace);
    const status = end.ok ? 'SUCCESS' : 'FAILURE';
    const result = end.ok ? 'CONTINUE' : 'ABANDON';

    /** One report, unless the grace has run out; a reporter that throws (a bug) does not stop the others. */
    const report = async <O extends ReportOutcome>(event: string, what: string, send: () => Promise<O>): Promise<O | ReportOutcome> => {
      let outcome: O | ReportOutcome;
      if (grace.msLeft() === 0) {
        outcome = { kind: 'failed', detail: `the reporting grace of ${REPORT_GRACE_SECONDS} s ran out` };
        log(`WARNING: ${what} not reported: the reporting grace of ${REPORT_GRACE_SECONDS} s ran out`);
      } else {
        try {
          outcome = await send();
        } catch (e) {
          outcome = { kind: 'failed', detail: e instanceof Error ? e.message : String(e) };
          log(`WARNING: ${what} failed: ${outcome.detail}`);
        }
      }
      record(event, `${what}: ${describe(outcome)}`);
      return outcome;
    };

    const failureMetric = end.ok ? undefined : await report('failure-metric', 'failure metric', () => reporter.countFailure());
    // The lifecycle action before the signal: it is what lets a new instance serve.
    const lifecycle: LifecycleOutcome = await report('lifecycle-action', `lifecycle action ${result}`, () => reporter.completeLifecycleAction(result));
    const { hooks, ...lifecycleAction } = lifecycle;
    const signal = await report('signal', `signal ${status}`, () => reporter.signal(status, end.ok ? SUCCESS_REASON : end.failure.reason));
    return { failureMetric, lifecycleAction, lifecycleActions: hooks ?? [], signal, status, result };
  },
};
