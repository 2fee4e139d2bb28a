import { type Attempt, retry, RETRY_ATTEMPTS, retryDelayMs } from "../../../../runtime/boot/core/retry";
import { FakeClock } from "../support/fake-clock";

/** A call that fails transiently `failures` times, then succeeds; counts its calls. */
function flaky(failures: number) {
  const calls = { n: 0 };
  const call = async (): Promise<Attempt<string>> => (++calls.n > failures ? { kind: "done", value: `ok after ${calls.n}` } : { kind: "transient", detail: "exit 1" });
  return { call, calls };
}

function setup(limitFromNowMs = 3_600_000, random = () => 0.5) {
  const clock = new FakeClock();
  const lines: string[] = [];
  return { clock, lines, opts: { clock, random, limitMs: clock.now() + limitFromNowMs, log: (m: string) => lines.push(m) } };
}

describe("the delay before the next try", () => {
  test("doubles from 1 s up to 20 s, each between half and all of its step", () => {
    const steps = [1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000];
    steps.forEach((step, i) => {
      expect(retryDelayMs(i + 1, () => 0)).toBe(step / 2);
      expect(retryDelayMs(i + 1, () => 0.999999999)).toBe(step);
    });
    expect(retryDelayMs(40, () => 0.5)).toBeLessThanOrEqual(20000);
  });

  test("spreads over the whole range with the random draw (equal jitter)", () => {
    expect(retryDelayMs(3, () => 0.25)).toBe(2000 + 500);
    expect(retryDelayMs(3, () => 0.75)).toBe(2000 + 1500);
  });
});

describe("retry", () => {
  test("retries a failing call with growing, jittered waits until it succeeds, and says so", async () => {
    const { clock, lines, opts } = setup();
    const { call, calls } = flaky(2);
    const out = await retry("the flaky call", call, opts);
    expect(out).toEqual({ ok: true, value: "ok after 3", attempts: 3 });
    expect(calls.n).toBe(3);
    expect(clock.sleeps).toEqual([750, 1500]);
    expect(lines).toEqual([
      "the flaky call failed (exit 1); try 2/6 in 0.750 s",
      "the flaky call failed (exit 1); try 3/6 in 1.500 s",
    ]);
  });

  test("gives up after RETRY_ATTEMPTS tries", async () => {
    const { clock, lines, opts } = setup();
    const { call, calls } = flaky(100);
    const out = await retry("the broken call", call, opts);
    expect(out).toEqual({ ok: false, ended: "exhausted", detail: "exit 1", attempts: RETRY_ATTEMPTS });
    expect(calls.n).toBe(RETRY_ATTEMPTS);
    expect(clock.sleeps).toHaveLength(RETRY_ATTEMPTS - 1);
    expect(lines[lines.length - 1]).toBe(`the broken call failed (exit 1) ${RETRY_ATTEMPTS} times`);
  });

  test("does not retry a final answer", async () => {
    const { clock, lines, opts } = setup();
    let n = 0;
    const out = await retry("the answered call", async () => (n++, { kind: "final", detail: "ParameterNotFound" }), opts);
    expect(out).toEqual({ ok: false, ended: "final", detail: "ParameterNotFound", attempts: 1 });
    expect(n).toBe(1);
    expect(clock.sleeps).toEqual([]);
    expect(lines).toEqual([]);
  });

  test("never sleeps past the time limit: a wait that would end at or after it ends the retries", async () => {
    // 500 ms left, and the first wait is at least 500 ms.
    const { clock, lines, opts } = setup(500, () => 0);
    const { call, calls } = flaky(10);
    const out = await retry("the late call", call, opts);
    expect(out).toEqual({ ok: false, ended: "out-of-time", detail: "exit 1", attempts: 1 });
    expect(calls.n).toBe(1);
    expect(clock.sleeps).toEqual([]);
    expect(lines).toEqual(["the late call failed (exit 1); no time left for another try"]);
  });

  test("takes the tries that fit before the limit, then stops", async () => {
    // Waits of 1, 2 and 4 s (the top of each step): 3 s fit in 5 s, the third wait does not.
    const { clock, opts } = setup(5_000, () => 0.999999999);
    const { call, calls } = flaky(10);
    const out = await retry("the slow call", call, opts);
    expect(out).toMatchObject({ ok: false, ended: "out-of-time", attempts: 3 });
    expect(calls.n).toBe(3);
    expect(clock.sleeps).toEqual([1000, 2000]);
  });

  test("passes the try's number, and lets a try's own error through", async () => {
    const { opts } = setup();
    const seen: number[] = [];
    await retry("numbered", async (n) => (seen.push(n), n < 3 ? { kind: "transient", detail: "x" } : { kind: "done", value: n }), opts);
    expect(seen).toEqual([1, 2, 3]);
    await expect(retry("a bug", async () => { throw new Error("boom"); }, opts)).rejects.toThrow("boom");
  });
});
