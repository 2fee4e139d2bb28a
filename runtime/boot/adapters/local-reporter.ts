/**
 * The local-mode Reporter: a developer's machine has no lifecycle hook, stack
 * or metric to tell. It keeps what it was asked to report, in order (the boot's
 * caller learns the outcome from the boot's result instead), and answers that
 * there was nothing to report to.
 */
import type { ReportOutcome, Reporter } from '../ports';

/** One report asked of the reporter. */
export type LocalReport =
  | { readonly report: 'lifecycle-action'; readonly result: 'CONTINUE' | 'ABANDON' }
  | { readonly report: 'signal'; readonly status: 'SUCCESS' | 'FAILURE'; readonly reason: string }
  | { readonly report: 'failure-metric' };

export class LocalReporter implements Reporter {
  private readonly asked: LocalReport[] = [];

  /** What was asked so far, oldest first. */
  reports(): readonly LocalReport[] {
    return [...this.asked];
  }

  async completeLifecycleAction(result: 'CONTINUE' | 'ABANDON'): Promise<ReportOutcome> {
    this.asked.push({ report: 'lifecycle-action', result });
    return { kind: 'skipped' };
  }

  async signal(status: 'SUCCESS' | 'FAILURE', reason: string): Promise<ReportOutcome> {
    this.asked.push({ report: 'signal', status, reason });
    return { kind: 'skipped' };
  }

  async countFailure(): Promise<ReportOutcome> {
    this.asked.push({ report: 'failure-metric' });
    return { kind: 'skipped' };
  }
}
