import { Deadline, deadlineOriginMs, initStartMs, procInitStartSources, REPORT_GRACE_SECONDS } from "../../../../runtime/boot/core/deadline";
import { FakeClock } from "../support/fake-clock";

/** /proc/1/stat of a systemd PID 1 that started 212 ticks after boot (field 22). */
const INIT_STAT = "1 (systemd) S 0 1 1 0 -1 4194560 41234 2176321 108 1013 219 133 5317 2280 20 0 1 0 212 173727744 3201 18446744073709551615 1 1 0 0 0 0 671173123 4096 1260 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
const PROC_STAT = "cpu  1 2 3 4\nintr 12345\nctxt 6789\nbtime 1767322800\nprocesses 4321\n";
const sources = (procStat: string | undefined, initStat: string | undefined, ...hz: [number | undefined] | []) =>
  ({ procStat: () => procStat, initStat: () => initStat, clockTicksPerSecond: () => (hz.length ? hz[0] : 100) });

describe("when init started", () => {
  test("is the kernel's boot time plus PID 1's start, in ticks of CLK_TCK", () => {
    expect(initStartMs(sources(PROC_STAT, INIT_STAT))).toBe(1767322800 * 1000 + 2120);
    expect(initStartMs(sources(PROC_STAT, INIT_STAT, 250))).toBe(1767322800 * 1000 + 848);
  });

  test("counts the fields from the command's last parenthesis, which may hold spaces and parentheses", () => {
    const odd = INIT_STAT.replace("(systemd)", "(my init) (x)");
    expect(initStartMs(sources(PROC_STAT, odd))).toBe(1767322800 * 1000 + 2120);
  });

  test("is unknown where a source is missing or garbled", () => {
    expect(initStartMs(sources(undefined, INIT_STAT))).toBeUndefined();
    expect(initStartMs(sources("cpu 1 2 3\n", INIT_STAT))).toBeUndefined();
    expect(initStartMs(sources(PROC_STAT, undefined))).toBeUndefined();
    expect(initStartMs(sources(PROC_STAT, "1 (systemd) S 0 1"))).toBeUndefined();
    expect(initStartMs(sources(PROC_STAT, INIT_STAT.replace(" 212 ", " -5 ")))).toBeUndefined();
    expect(initStartMs(sources(PROC_STAT, INIT_STAT, undefined))).toBeUndefined();
    expect(initStartMs(sources(PROC_STAT, INIT_STAT, 0))).toBeUndefined();
  });

  test("this machine's /proc gives an instant in the past", () => {
    const start = initStartMs(procInitStartSources);
    // Linux only, as instances are; the reading itself is checked above against fixed samples.
    if (process.platform !== "linux") return;
    expect(start).toBeDefined();
    expect(start!).toBeLessThanOrEqual(Date.now());
  });
});

describe("where the deadline counts from", () => {
  const now = 1767322800_000 + 600_000;

  test("init's start, when that is within one deadline of now (a launch the hook's timer waits on)", () => {
    expect(deadlineOriginMs(now, 3600, now - 90_000)).toBe(now - 90_000);
  });

  test("now, a whole deadline or more after init (a re-run by hand on a serving machine)", () => {
    expect(deadlineOriginMs(now, 60, now - 60_000)).toBe(now);
    expect(deadlineOriginMs(now, 60, now - 59_999)).toBe(now - 59_999);
  });

  test("now, with no init start (a local boot, or /proc unreadable), or one in the future (a clock stepped back)", () => {
    expect(deadlineOriginMs(now, 3600, undefined)).toBe(now);
    expect(deadlineOriginMs(now, 3600, now + 1)).toBe(now);
  });
});

describe("the deadline", () => {
  test("counts whole seconds left, down to 0, and has passed at 0", () => {
    const clock = new FakeClock();
    const d = new Deadline(clock.now() - 58_500, 60, clock);
    expect(d.secondsLeft()).toBe(1);
    expect(d.passed()).toBe(false);
    expect(d.msLeft()).toBe(1_500);
    clock.advance(600);
    expect(d.secondsLeft()).toBe(0);
    expect(d.passed()).toBe(true);
    expect(d.msLeft()).toBe(900);
    clock.advance(5_000);
    expect(d.secondsLeft()).toBe(0);
    expect(d.msLeft()).toBe(0);
  });

  test("is the time limit until reporting, which gets the grace from its own start", () => {
    const clock = new FakeClock();
    const d = new Deadline(clock.now() - 120_000, 60, clock);
    expect(d.timeLimitMs()).toBe(clock.now() - 60_000);
    expect(d.msLeft()).toBe(0);
    const report = d.reportingGrace();
    expect(report.timeLimitMs()).toBe(clock.now() + REPORT_GRACE_SECONDS * 1000);
    expect(report.msLeft()).toBe(60_000);
    // The deadline itself stays where it was, for the report and for the boot.
    expect(report.passed()).toBe(true);
    expect(report.endMs).toBe(d.endMs);
    expect(d.timeLimitMs()).toBe(d.endMs);
    clock.advance(61_000);
    expect(report.msLeft()).toBe(0);
  });

  test("is a positive whole number of seconds", () => {
    const clock = new FakeClock();
    expect(() => new Deadline(0, 0, clock)).toThrow(/positive whole number of seconds, got 0/);
    expect(() => new Deadline(0, 1.5, clock)).toThrow(/got 1\.5/);
  });
});
