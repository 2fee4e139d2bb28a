import { Deadline } from "../../../../runtime/boot/core/deadline";
import { BootLog } from "../../../../runtime/boot/core/log";
import { type Phase, PhaseFailure, runPhase } from "../../../../runtime/boot/core/phase";
import { FakeClock } from "../support/fake-clock";

function setup(secondsAgo = 0, deadlineSeconds = 3600) {
  const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 0, 0, 0));
  const lines: string[] = [];
  const log = new BootLog({ clock, console: (l) => lines.push(l) });
  const deadline = new Deadline(clock.now() - secondsAgo * 1000, deadlineSeconds, clock);
  return { clock, lines, log, runner: { clock, log, deadline } };
}

describe("running a phase", () => {
  test("logs its start and its end with the time it took, under its name, and returns its output", async () => {
    const { clock, lines, log, runner } = setup();
    const phase: Phase<{ readonly n: number }, number> = {
      name: "build",
      run: async ({ n }) => {
        log.log("compiling");
        clock.advance(2_345);
        return n * 2;
      },
    };
    await expect(runPhase(phase, { n: 21 }, runner)).resolves.toBe(42);
    expect(lines.map((l) => l.replace(/^\S+ /, ""))).toEqual(["[build] start", "[build] compiling", "[build] done in 2.345 s"]);
    expect(log.events()).toEqual([
      { phase: "build", event: "start", atMs: Date.UTC(2026, 0, 2, 3, 0, 0, 0) },
      { phase: "build", event: "done", atMs: Date.UTC(2026, 0, 2, 3, 0, 2, 345), detail: "2.345 s" },
    ]);
  });

  test("a phase's own failure is logged as an error and recorded, and comes out as it was thrown", async () => {
    const { lines, log, runner } = setup();
    const phase: Phase<void> = { name: "cpu", run: async () => { throw new PhaseFailure("cpu", "CPU mismatch"); } };
    const err = await runPhase(phase, undefined, runner).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailure);
    expect(err).toMatchObject({ phase: "cpu", reason: "CPU mismatch" });
    expect(lines[lines.length - 1]).toMatch(/\[cpu\] ERROR: CPU mismatch$/);
    expect(log.events().map((e) => [e.event, e.detail])).toEqual([["start", undefined], ["failed", "CPU mismatch"]]);
  });

  test("an unexpected error becomes a failure of the phase it broke", async () => {
    const { runner } = setup();
    const phase: Phase<void> = { name: "model", run: async () => { throw new Error("EACCES: permission denied, open '/var/lib/graviton-llm/models'"); } };
    await expect(runPhase(phase, undefined, runner)).rejects.toMatchObject({
      phase: "model", reason: "step model: EACCES: permission denied, open '/var/lib/graviton-llm/models'",
    });
  });

  test("a failure's reason is one line, whatever output it quotes", () => {
    expect(new PhaseFailure("build", "compile failed: error: a\n  error: b\r\n").reason).toBe("compile failed: error: a error: b");
  });

  test("a phase that would start after the deadline does not run: the boot fails naming the deadline and the phase", async () => {
    const { lines, runner } = setup(61, 60);
    let ran = false;
    const phase: Phase<void> = { name: "model", run: async () => { ran = true; } };
    await expect(runPhase(phase, undefined, runner)).rejects.toMatchObject({ phase: "model", reason: "boot deadline of 60 s passed before step model" });
    expect(ran).toBe(false);
    expect(lines[lines.length - 1]).toMatch(/\[model\] ERROR: boot deadline of 60 s passed before step model$/);
  });
});
