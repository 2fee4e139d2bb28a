import { Deadline, REPORT_GRACE_SECONDS } from '../../../../runtime/boot/core/deadline';
import type { ReportOutcome, Reporter } from '../../../../runtime/boot/ports';
import { LocalReporter } from '../../../../runtime/boot/adapters/local-reporter';
import { type BootEnd, reportPhase, SUCCESS_REASON } from '../../../../runtime/boot/phases/report';
import { FakeClock } from '../support/fake-clock';

type Call = string;

/** A Reporter that answers as told and records each call, in order; `during` runs inside each call (to move the clock). */
function fakeReporter(answers: Partial<Record<'lifecycle' | 'signal' | 'metric', ReportOutcome | Error>> = {}, during: () => void = () => undefined) {
  const calls: Call[] = [];
  const answer = async (which: 'lifecycle' | 'signal' | 'metric', call: Call): Promise<ReportOutcome> => {
    calls.push(call);
    during();
    const a = answers[which] ?? { kind: 'done' };
    if (a instanceof Error) throw a;
    return a;
  };
  const reporter: Reporter = {
    completeLifecycleAction: (result) => answer('lifecycle', `lifecycle ${result}`),
    signal: (status, reason) => answer('signal', `signal ${status} ${reason}`),
    countFailure: () => answer('metric', 'metric'),
  };
  return { reporter, calls };
}

/** Runs the report on a boot of a 600 s deadline that started at `startedAgoS` seconds ago. */
async function report(end: BootEnd, reporter: Reporter, opts: { clock?: FakeClock; startedAgoS?: number } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const deadline = new Deadline(clock.now() - (opts.startedAgoS ?? 10) * 1000, 600, clock);
  const lines: string[] = [];
  const events: [string, string][] = [];
  const graces: Deadline[] = [];
  const out = await reportPhase.run({
    end, deadline, reporter, enterGrace: (g) => graces.push(g), log: (m) => lines.push(m), record: (e, d) => events.push([e, d]),
  });
  return { out, lines, events, graces, clock, deadline };
}

const failed: BootEnd = { ok: false, failure: { phase: 'model', reason: 'model from https://x: sha256 mismatch: expected a, got b' } };

test('a boot that serves completes the lifecycle action with CONTINUE, then signals SUCCESS; no failure metric', async () => {
  const { reporter, calls } = fakeReporter();
  const r = await report({ ok: true }, reporter);
  expect(calls).toEqual(['lifecycle CONTINUE', `signal SUCCESS ${SUCCESS_REASON}`]);
  expect(r.out).toEqual({ failureMetric: undefined, lifecycleAction: { kind: 'done' }, lifecycleActions: [], signal: { kind: 'done' }, status: 'SUCCESS', result: 'CONTINUE' });
  expect(r.events).toEqual([['lifecycle-action', 'lifecycle action CONTINUE: done'], ['signal', 'signal SUCCESS: done']]);
  expect(r.lines).toEqual([]);
});

test('a failed boot counts itself first, then abandons, then signals FAILURE with the failure\'s reason', async () => {
  const { reporter, calls } = fakeReporter();
  const r = await report(failed, reporter);
  expect(calls).toEqual(['metric', 'lifecycle ABANDON', `signal FAILURE ${failed.ok ? '' : failed.failure.reason}`]);
  expect(r.out.failureMetric).toEqual({ kind: 'done' });
  expect(r.events.map(([e]) => e)).toEqual(['failure-metric', 'lifecycle-action', 'signal']);
});

test('reporting runs under the grace, which starts now and may outlast the deadline', async () => {
  const { reporter } = fakeReporter();
  // The deadline passed 30 s ago: a boot that failed at its deadline still has time to say so.
  const r = await report(failed, reporter, { startedAgoS: 630 });
  expect(r.graces).toHaveLength(1);
  expect(r.graces[0].timeLimitMs()).toBe(r.clock.now() + REPORT_GRACE_SECONDS * 1000);
  expect(r.graces[0].endMs).toBe(r.deadline.endMs);
  expect(r.out.signal).toEqual({ kind: 'done' });
});

test('a refused hook (a reboot of a serving instance) and a refused signal are outcomes, and the reports go on', async () => {
  const { reporter, calls } = fakeReporter({
    lifecycle: { kind: 'refused', detail: 'ValidationError: No active Lifecycle Action found' },
    signal: { kind: 'refused', detail: 'ValidationError: not being created' },
  });
  const r = await report({ ok: true }, reporter);
  expect(calls).toHaveLength(2);
  expect(r.out.lifecycleAction).toEqual({ kind: 'refused', detail: 'ValidationError: No active Lifecycle Action found' });
  expect(r.events[0]).toEqual(['lifecycle-action', 'lifecycle action CONTINUE: refused: ValidationError: No active Lifecycle Action found']);
  expect(r.out.signal.kind).toBe('refused');
});

test('a report that failed, or a reporter that throws, does not stop the next one', async () => {
  const { reporter, calls } = fakeReporter({ metric: { kind: 'failed', detail: 'exit 255' }, lifecycle: new Error('bug in the reporter') });
  const r = await report(failed, reporter);
  expect(calls).toHaveLength(3);
  expect(r.out.failureMetric).toEqual({ kind: 'failed', detail: 'exit 255' });
  expect(r.out.lifecycleAction).toEqual({ kind: 'failed', detail: 'bug in the reporter' });
  expect(r.lines).toEqual(['WARNING: lifecycle action ABANDON failed: bug in the reporter']);
  expect(r.out.signal).toEqual({ kind: 'done' });
});

test('once the grace has run out, what is left is not reported, and says so', async () => {
  const clock = new FakeClock();
  // The failure metric's retries use up the whole grace.
  const { reporter, calls } = fakeReporter({}, () => clock.advance(REPORT_GRACE_SECONDS * 1000));
  const r = await report(failed, reporter, { clock });
  expect(calls).toEqual(['metric']);
  const ranOut = { kind: 'failed', detail: `the reporting grace of ${REPORT_GRACE_SECONDS} s ran out` };
  expect(r.out).toEqual({ failureMetric: { kind: 'done' }, lifecycleAction: ranOut, lifecycleActions: [], signal: ranOut, status: 'FAILURE', result: 'ABANDON' });
  expect(r.lines).toEqual([
    `WARNING: lifecycle action ABANDON not reported: the reporting grace of ${REPORT_GRACE_SECONDS} s ran out`,
    `WARNING: signal FAILURE not reported: the reporting grace of ${REPORT_GRACE_SECONDS} s ran out`,
  ]);
  expect(r.events.map(([e]) => e)).toEqual(['failure-metric', 'lifecycle-action', 'signal']);
});

test('local mode: the local reporter keeps what it was asked and answers that there is nothing to report to', async () => {
  const local = new LocalReporter();
  const r = await report(failed, local);
  expect(local.reports()).toEqual([
    { report: 'failure-metric' },
    { report: 'lifecycle-action', result: 'ABANDON' },
    { report: 'signal', status: 'FAILURE', reason: failed.ok ? '' : failed.failure.reason },
  ]);
  expect(r.out).toEqual({ failureMetric: { kind: 'skipped' }, lifecycleAction: { kind: 'skipped' }, lifecycleActions: [], signal: { kind: 'skipped' }, status: 'FAILURE', result: 'ABANDON' });
  expect(r.lines).toEqual([]);
});
