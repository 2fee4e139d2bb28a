/**
 * The drain watcher with fakes for the metadata service, the ELB call, the
 * server's load and the clock: what it does on no notice, an interruption, a
 * rebalance recommendation, a metadata service that does not answer, and a
 * failed deregistration. No real sleeping: the fake clock moves when the
 * watcher sleeps.
 */
import { DEREGISTRATION_SETTLE_SECONDS, DRAIN_BUDGET_SECONDS, NOTICE_POLL_MS, SPOT_NOTICE_SECONDS, STOP_RESERVE_SECONDS } from '../../../../runtime/boot/drain/budget';
import {
  type CountOutcome, type DeregisterOutcome, type DrainCounter, type DrainReason, type DrainWatchInput, type LoadOutcome, type NoticeCheck, watchAndDrain,
} from '../../../../runtime/boot/drain/watch';
import { logLine } from '../../../../runtime/boot/core/log';
import { DRAIN_LINE_MARKS } from '../../../../lib/monitoring/drain-log-query';
import { DRAIN_REASONS } from '../../../../lib/monitoring/metric-definitions';
import { FakeClock } from '../support/fake-clock';

const ID = 'i-0123456789abcdef0';

interface Fakes {
  readonly input: DrainWatchInput;
  readonly clock: FakeClock;
  /** What happened, in order: check, deregister ID, load, stop. */
  readonly calls: string[];
  readonly lines: string[];
}

/**
 * `checks`: what the metadata service answers, one per check (the last one
 * repeats); `loads`: what the server's metrics say, one per read (the last repeats).
 */
function fakes(checks: NoticeCheck[], loads: LoadOutcome[] = [{ ok: true, inFlight: 0 }], deregister: DeregisterOutcome = { ok: true }, maxChecks?: number): Fakes {
  const clock = new FakeClock();
  const calls: string[] = [];
  const lines: string[] = [];
  let c = 0;
  let l = 0;
  const input: DrainWatchInput = {
    notices: { check: async () => { calls.push('check'); return checks[Math.min(c++, checks.length - 1)]; } },
    instanceId: async () => ({ ok: true, instanceId: ID }),
    targets: { deregister: async (id) => { calls.push(`deregister ${id}`); return deregister; } },
    load: { read: async () => { calls.push('load'); return loads[Math.min(l++, loads.length - 1)]; } },
    stopServer: async () => { calls.push('stop'); },
    clock,
    log: (m) => lines.push(m),
    ...(maxChecks !== undefined ? { maxChecks } : {}),
  };
  return { input, clock, calls, lines };
}

const NONE: NoticeCheck = { kind: 'none' };
const interruption = (atMs?: number): NoticeCheck => ({ kind: 'notice', notice: { kind: 'interruption', action: 'terminate', atMs } });
const REBALANCE: NoticeCheck = { kind: 'notice', notice: { kind: 'rebalance' } };
const busy = (n: number): LoadOutcome => ({ ok: true, inFlight: n });

test('no notice: it only asks, every poll interval, and never deregisters or stops', async () => {
  const f = fakes([NONE], undefined, undefined, 5);
  await expect(watchAndDrain(f.input)).resolves.toEqual({ kind: 'no-notice' });
  expect(f.calls).toEqual(['check', 'check', 'check', 'check', 'check']);
  expect(f.clock.sleeps).toEqual(Array(5).fill(NOTICE_POLL_MS));
});

test('an interruption: deregisters, waits while a request is in flight, then stops the server once none is', async () => {
  const f = fakes([NONE, NONE, interruption()], [busy(2), busy(1), busy(1), busy(0)]);
  const outcome = await watchAndDrain(f.input);
  expect(outcome).toEqual({ kind: 'drained', notice: { kind: 'interruption', action: 'terminate', atMs: undefined }, deregistered: true, ended: 'idle' });
  // Deregistered before the first load read; stopped only after the load read 0, and nothing after the stop.
  expect(f.calls.slice(0, 4)).toEqual(['check', 'check', 'check', `deregister ${ID}`]);
  const stop = f.calls.indexOf('stop');
  expect(stop).toBe(f.calls.length - 1);
  expect(f.calls.slice(4, stop).filter((c) => c === 'load').length).toBeGreaterThanOrEqual(4);
});

test('an idle server is kept up for the settle time after the deregistration, then stopped', async () => {
  const f = fakes([interruption()], [busy(0)]);
  const start = f.clock.now();
  await expect(watchAndDrain(f.input)).resolves.toMatchObject({ ended: 'idle', deregistered: true });
  // Not a timing assertion: the fake clock moves only by the watcher's own sleeps.
  expect(f.clock.now() - start).toBeGreaterThanOrEqual(DEREGISTRATION_SETTLE_SECONDS * 1000);
});

test('a server that stays busy is stopped at the end of the drain budget, never later', async () => {
  const f = fakes([interruption()], [busy(3)]);
  const start = f.clock.now();
  await expect(watchAndDrain(f.input)).resolves.toMatchObject({ ended: 'budget', deregistered: true });
  expect(f.calls[f.calls.length - 1]).toBe('stop');
  expect(f.clock.now() - start).toBe(DRAIN_BUDGET_SECONDS * 1000);
});

test('a notice that names its time ends the drain the stop reserve before it, where that is sooner than the budget', async () => {
  // Every FakeClock starts at the same instant, so the notice's time can be set before the fakes are.
  const start = new FakeClock().now();
  const at = start + 60_000;
  const f = fakes([interruption(at)], [busy(1)]);
  await watchAndDrain(f.input);
  expect(f.clock.now()).toBe(Math.min(start + DRAIN_BUDGET_SECONDS * 1000, at - STOP_RESERVE_SECONDS * 1000));
  expect(f.clock.now()).toBe(at - STOP_RESERVE_SECONDS * 1000);
});

test('a rebalance recommendation drains the same way', async () => {
  const f = fakes([NONE, REBALANCE], [busy(1), busy(0)]);
  await expect(watchAndDrain(f.input)).resolves.toEqual({ kind: 'drained', notice: { kind: 'rebalance' }, deregistered: true, ended: 'idle' });
  expect(f.calls.slice(0, 3)).toEqual(['check', 'check', `deregister ${ID}`]);
  expect(f.calls[f.calls.length - 1]).toBe('stop');
});

test('a metadata service that does not answer: it keeps asking, says so, and still drains once a notice comes', async () => {
  const down: NoticeCheck = { kind: 'unreachable', detail: 'connect ECONNREFUSED 169.254.169.254:80' };
  const f = fakes([down, down, down, NONE, interruption()]);
  await expect(watchAndDrain(f.input)).resolves.toMatchObject({ kind: 'drained', deregistered: true });
  expect(f.calls.filter((c) => c === 'check')).toHaveLength(5);
  expect(f.lines.some((l) => l.includes('ECONNREFUSED'))).toBe(true);
  // Said once for three failures in a row, not three times.
  expect(f.lines.filter((l) => l.includes('ECONNREFUSED'))).toHaveLength(1);
});

test('a failed deregistration still drains and stops: the machine goes anyway, and streams that run are let finish', async () => {
  const f = fakes([interruption()], [busy(1), busy(0)], { ok: false, detail: 'AccessDenied' });
  await expect(watchAndDrain(f.input)).resolves.toMatchObject({ kind: 'drained', deregistered: false, ended: 'idle' });
  expect(f.calls).toEqual(['check', `deregister ${ID}`, 'load', 'load', 'stop']);
  expect(f.lines.some((l) => l.includes('AccessDenied'))).toBe(true);
});

test('an instance id that cannot be read: no deregistration, the drain and the stop still happen', async () => {
  const f = fakes([interruption()], [busy(0)]);
  const input: DrainWatchInput = { ...f.input, instanceId: async () => ({ ok: false, detail: 'token: HTTP 403' }) };
  await expect(watchAndDrain(input)).resolves.toMatchObject({ deregistered: false, ended: 'idle' });
  expect(f.calls).toEqual(['check', 'load', 'stop']);
});

test('a load that cannot be read counts as busy: the server is stopped at the budget\'s end', async () => {
  const f = fakes([interruption()], [{ ok: false, detail: 'GET /metrics: HTTP 503' }]);
  await expect(watchAndDrain(f.input)).resolves.toMatchObject({ ended: 'budget' });
  expect(f.calls[f.calls.length - 1]).toBe('stop');
});

test('the budget: a notice seen a poll late, the drain and the stop reserve fit in the two-minute notice', () => {
  expect(NOTICE_POLL_MS / 1000 + DRAIN_BUDGET_SECONDS + STOP_RESERVE_SECONDS).toBeLessThanOrEqual(SPOT_NOTICE_SECONDS);
  expect(DEREGISTRATION_SETTLE_SECONDS).toBeLessThan(DRAIN_BUDGET_SECONDS);
});

test('the lines a drain writes are the ones a Spot dashboard lists: its start (what was announced) and its end, not the watch\'s own', async () => {
  const listed = (line: string) => line.includes(DRAIN_LINE_MARKS.tag) && (line.includes(DRAIN_LINE_MARKS.started) || line.includes(DRAIN_LINE_MARKS.ended));
  for (const [check, announced] of [[interruption(), 'a Spot interruption notice (terminate'], [REBALANCE, 'a rebalance recommendation']] as const) {
    const f = fakes([NONE, check], [busy(1), busy(0)]);
    await watchAndDrain(f.input);
    // As the boot log writes them, tagged with the watcher's step (drain-watch.ts).
    const lines = f.lines.map((m) => logLine(0, 'drain', m));
    const shown = lines.filter(listed);
    expect(shown).toHaveLength(2);
    expect(shown[0]).toContain(`[drain] ${announced}`);
    expect(shown[1]).toContain('[drain] llama-server stopped (no request in flight)');
    expect(lines.filter((l) => !listed(l)).length).toBeGreaterThan(0);
  }
});

describe('the drain metric: counted once per drain, never in the drain\'s way', () => {
  /** A counter that records its calls in the fakes' order; `answer` is what it does when asked. */
  const counting = (f: Fakes, answer: (reason: DrainReason) => Promise<CountOutcome>) => {
    const counted: { reason: DrainReason; untilMs: number }[] = [];
    const counter: DrainCounter = {
      metric: 'GravitonLlm/Drains',
      count: (reason, untilMs) => { f.calls.push(`count ${reason}`); counted.push({ reason, untilMs }); return answer(reason); },
    };
    return { input: { ...f.input, counter }, counted };
  };

  test('an interruption and a rebalance recommendation are each counted once, with their reason, after the deregistration and by the drain\'s end', async () => {
    const reasons: DrainReason[] = [];
    for (const check of [interruption(), REBALANCE]) {
      const f = fakes([check], [busy(1), busy(0)]);
      const start = f.clock.now();
      const c = counting(f, async () => ({ ok: true }));
      await expect(watchAndDrain(c.input)).resolves.toMatchObject({ kind: 'drained', deregistered: true, ended: 'idle' });
      expect(c.counted).toHaveLength(1);
      reasons.push(c.counted[0].reason);
      // Deregistered first; counted before the wait for the streams, which goes on as before, then the stop.
      expect(f.calls.slice(0, 4)).toEqual(['check', `deregister ${ID}`, `count ${c.counted[0].reason}`, 'load']);
      expect(f.calls[f.calls.length - 1]).toBe('stop');
      expect(c.counted[0].untilMs).toBe(start + DRAIN_BUDGET_SECONDS * 1000);
      expect(f.lines).toContain(`counted the drain in GravitonLlm/Drains (Reason ${c.counted[0].reason})`);
    }
    // The reasons are the dimension values the dashboard graphs, one line per value.
    expect(reasons).toEqual([...DRAIN_REASONS]);
  });

  test('a failed drain is counted too: the deregistration failed, the drain still happened', async () => {
    const f = fakes([interruption()], [busy(0)], { ok: false, detail: 'AccessDenied' });
    const c = counting(f, async () => ({ ok: true }));
    await expect(watchAndDrain(c.input)).resolves.toMatchObject({ deregistered: false });
    expect(f.calls).toEqual(['check', `deregister ${ID}`, 'count interruption', 'load', 'stop']);
  });

  test.each([
    ['answers that it failed', async (): Promise<CountOutcome> => ({ ok: false, detail: 'AccessDenied: cloudwatch:PutMetricData' }), 'AccessDenied: cloudwatch:PutMetricData'],
    ['throws', async (): Promise<CountOutcome> => { throw new Error('spawn aws ENOENT'); }, 'spawn aws ENOENT'],
  ])('a counter that %s: the drain is the same, and the warning says why', async (_name, answer, detail) => {
    const without = fakes([interruption()], [busy(1), busy(0)]);
    const expected = await watchAndDrain(without.input);
    const f = fakes([interruption()], [busy(1), busy(0)]);
    const c = counting(f, answer);
    await expect(watchAndDrain(c.input)).resolves.toEqual(expected);
    expect(f.calls.filter((call) => !call.startsWith('count'))).toEqual(without.calls);
    expect(f.lines).toContain(`WARNING: the drain was not counted in GravitonLlm/Drains (${detail}); the drain goes on`);
  });

  test('a count still running when the streams have ended does not hold the stop back; the watch ends once it does', async () => {
    const f = fakes([interruption()], [busy(0)]);
    let answer: (o: CountOutcome) => void = () => undefined;
    const c = counting(f, () => new Promise<CountOutcome>((resolve) => { answer = resolve; }));
    let done = false;
    const watching = watchAndDrain(c.input).then((o) => { done = true; return o; });
    // Let the watch run (the fake clock never blocks) until it has stopped the server.
    for (let i = 0; i < 1000 && !f.calls.includes('stop'); i++) await new Promise((r) => setImmediate(r));
    expect(f.calls[f.calls.length - 1]).toBe('stop');
    expect(done).toBe(false);
    answer({ ok: true });
    await expect(watching).resolves.toMatchObject({ kind: 'drained', ended: 'idle' });
  });

  test('no counter (GLLM_DRAIN_METRIC absent or empty): nothing counted, nothing said of it', async () => {
    const f = fakes([interruption()], [busy(0)]);
    await watchAndDrain(f.input);
    expect(f.lines.filter((l) => l.includes('counted'))).toEqual([]);
  });

  test('the count\'s lines are not lines the dashboard\'s table lists as a drain\'s start or end', async () => {
    const f = fakes([interruption()], [busy(0)]);
    const c = counting(f, async () => ({ ok: false, detail: 'x' }));
    await watchAndDrain(c.input);
    const countLines = f.lines.filter((l) => l.includes('counted')).map((m) => logLine(0, 'drain', m));
    expect(countLines).toHaveLength(1);
    expect(countLines.filter((l) => l.includes(DRAIN_LINE_MARKS.started) || l.includes(DRAIN_LINE_MARKS.ended))).toEqual([]);
  });
});
