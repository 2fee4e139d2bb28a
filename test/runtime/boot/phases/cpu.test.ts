import { X86_BASELINE_CPU_FLAGS } from '../../../../runtime/boot/build/defines';
import { GENERATIONS } from "../../../../lib/catalogs/graviton-generations";
import { Deadline } from "../../../../runtime/boot/core/deadline";
import { BootLog } from "../../../../runtime/boot/core/log";
import { runPhase } from "../../../../runtime/boot/core/phase";
import { cpuPhase, type CpuPhaseInput } from "../../../../runtime/boot/phases/cpu";
import type { CpuinfoRead, Platform } from "../../../../runtime/boot/ports";
import { FakeClock } from "../support/fake-clock";
import { cpuinfoOf, GRAVITON2, GRAVITON3, GRAVITON4, X86_64, X86_64_WITHOUT_AVX2 } from "../support/cpuinfo-samples";
import { failureOf } from '../support/phase-failure';

/** A machine of `machine` whose /proc/cpuinfo is `text` (undefined: unreadable). */
function fakePlatform(machine: string, text: string | undefined): Pick<Platform, "machine" | "cpuinfo"> & { reads: number } {
  const p = {
    reads: 0,
    machine: () => machine,
    cpuinfo: async (): Promise<CpuinfoRead> => (p.reads++, { source: "/proc/cpuinfo", text }),
  };
  return p;
}

/** The phase's input for an instance of generation `g` on `platform`. */
function input(g: 2 | 3 | 4, platform: Pick<Platform, "machine" | "cpuinfo">, overrides: Partial<CpuPhaseInput> = {}) {
  const lines: string[] = [];
  const spec = GENERATIONS[g];
  const value: CpuPhaseInput = {
    instanceTypes: [{ 2: "c6g.xlarge", 3: "c7g.xlarge", 4: "c8g.xlarge" }[g]],
    generations: [{ generation: g, cpuPart: spec.cpuPart, armArch: spec.armArch }],
    x86: "refused",
    x86BaselineFlags: X86_BASELINE_CPU_FLAGS,
    platform,
    log: (m) => lines.push(m),
    ...overrides,
  };
  return { value, lines };
}


describe("on aarch64, the CPU must be the configured generation", () => {
  test.each([
    [2, GRAVITON2],
    [3, GRAVITON3],
    [4, GRAVITON4],
  ] as const)("Graviton%i's cores pass as their own generation", async (g, cpuinfo) => {
    const { value, lines } = input(g, fakePlatform("aarch64", cpuinfo));
    await expect(cpuPhase.run(value)).resolves.toEqual({ machine: "aarch64", generation: g, armArch: GENERATIONS[g].armArch });
    expect(lines).toEqual([`CPU part ${GENERATIONS[g].cpuPart} matches Graviton${g}`]);
  });

  test("another generation fails, naming both parts and the -march that could die with SIGILL", async () => {
    // A Graviton3 build on Graviton2 (Neoverse N1).
    const { value, lines } = input(3, fakePlatform("aarch64", GRAVITON2));
    const f = await failureOf(cpuPhase.run(value));
    expect(f.phase).toBe("cpu");
    expect(f.reason).toBe(`CPU mismatch: c7g.xlarge is configured as Graviton3 (CPU part 0xd40) but /proc/cpuinfo reports CPU part 0xd0c; a build for -march=${GENERATIONS[3].armArch} could die with SIGILL here`);
    expect(lines).toEqual([]);
  });

  test("a group of several types of one generation: any of them passes on that generation; the mismatch names them all", async () => {
    const types = { instanceTypes: ["c7g.2xlarge", "m7g.2xlarge", "r7g.xlarge"] };
    const ok = input(3, fakePlatform("aarch64", GRAVITON3), types);
    await expect(cpuPhase.run(ok.value)).resolves.toEqual({ machine: "aarch64", generation: 3, armArch: GENERATIONS[3].armArch });
    expect(ok.lines).toEqual(["CPU part 0xd40 matches Graviton3"]);
    const f = await failureOf(cpuPhase.run(input(3, fakePlatform("aarch64", GRAVITON4), types).value));
    expect(f.reason).toMatch(/^CPU mismatch: c7g\.2xlarge or m7g\.2xlarge or r7g\.xlarge are configured as Graviton3 \(CPU part 0xd40\) but \/proc\/cpuinfo reports CPU part 0xd4f;/);
  });

  test("a newer generation than configured fails too: the build and its cache key name one core", async () => {
    const f = await failureOf(cpuPhase.run(input(3, fakePlatform("aarch64", GRAVITON4)).value));
    expect(f.reason).toMatch(/^CPU mismatch: .* reports CPU part 0xd4f;/);
  });

  test("a mix of cores fails, even when one of them is the configured one", async () => {
    const f = await failureOf(cpuPhase.run(input(3, fakePlatform("aarch64", cpuinfoOf(["0xd40", "0xd0c"]))).value));
    expect(f.reason).toMatch(/reports CPU part 0xd0c,0xd40;/);
  });

  test("a CPU description without a CPU part line fails: it is not an Arm CPU", async () => {
    const f = await failureOf(cpuPhase.run(input(3, fakePlatform("aarch64", X86_64)).value));
    expect(f.reason).toBe("no 'CPU part' line in /proc/cpuinfo: not an Arm CPU, cannot check it is c7g.xlarge (Graviton3, CPU part 0xd40)");
  });

  test("an unreadable CPU description fails, naming the file", async () => {
    const f = await failureOf(cpuPhase.run(input(4, fakePlatform("aarch64", undefined)).value));
    expect(f.reason).toBe("cannot read /proc/cpuinfo");
  });
});

describe("a group of several generations: each machine picks the generation its cores are, and so its build", () => {
  const generations = [3, 4].map((g) => ({ generation: g, cpuPart: GENERATIONS[g as 3 | 4].cpuPart, armArch: GENERATIONS[g as 3 | 4].armArch }));
  const mixed = { instanceTypes: ["c7g.2xlarge", "c8g.2xlarge"], generations };

  test.each([
    [3, GRAVITON3],
    [4, GRAVITON4],
  ] as const)("Graviton%i's CPU part picks Graviton%i, with its -march", async (g, cpuinfo) => {
    const { value, lines } = input(3, fakePlatform("aarch64", cpuinfo), mixed);
    await expect(cpuPhase.run(value)).resolves.toEqual({ machine: "aarch64", generation: g, armArch: GENERATIONS[g].armArch });
    expect(lines).toEqual([`CPU part ${GENERATIONS[g].cpuPart} matches Graviton${g} of the configured Graviton3, Graviton4: its build (-march=${GENERATIONS[g].armArch})`]);
  });

  test("a CPU part none of them has fails, naming the part, each generation with its part, and the types", async () => {
    const f = await failureOf(cpuPhase.run(input(3, fakePlatform("aarch64", GRAVITON2), mixed).value));
    expect(f.phase).toBe("cpu");
    expect(f.reason).toBe("CPU mismatch: c7g.2xlarge or c8g.2xlarge are configured as Graviton3 (CPU part 0xd40) or Graviton4 (CPU part 0xd4f) "
      + "but /proc/cpuinfo reports CPU part 0xd0c, none of theirs; a build for another core could die with SIGILL here");
  });

  test("a mix of the two generations' cores fails: one build runs on every core", async () => {
    const f = await failureOf(cpuPhase.run(input(3, fakePlatform("aarch64", cpuinfoOf(["0xd40", "0xd4f"])), mixed).value));
    expect(f.reason).toMatch(/reports CPU part 0xd40,0xd4f, a mix of cores;/);
  });

  test("on x86_64 (the box) the first configured generation, whose pins it takes", async () => {
    const { value } = input(3, fakePlatform("x86_64", X86_64), { ...mixed, x86: "allowed-in-test-box" });
    await expect(cpuPhase.run(value)).resolves.toMatchObject({ machine: "x86_64", generation: 3 });
  });
});

describe("on x86_64", () => {
  test("a local boot builds the portable x86 baseline, where the CPU has it", async () => {
    const platform = fakePlatform("x86_64", X86_64);
    const { value, lines } = input(4, platform, { x86: "allowed" });
    await expect(cpuPhase.run(value)).resolves.toEqual({ machine: "x86_64", generation: 4, armArch: GENERATIONS[4].armArch });
    expect(lines).toEqual(["x86_64 with SSE4.2/AVX/AVX2/FMA/F16C/BMI2: building ggml's portable x86 baseline, no Arm flags"]);
  });

  test("a CPU without one of the baseline's extensions fails, naming the first it lacks", async () => {
    const f = await failureOf(cpuPhase.run(input(4, fakePlatform("x86_64", X86_64_WITHOUT_AVX2), { x86: "allowed" }).value));
    expect(f.reason).toBe("this x86_64 CPU lacks avx2, which ggml's portable x86 build (GGML_NATIVE=OFF) uses");
  });

  test("an instance's boot refuses it before reading anything: instances are Graviton only", async () => {
    const platform = fakePlatform("x86_64", X86_64);
    const f = await failureOf(cpuPhase.run(input(3, platform).value));
    expect(f.reason).toBe("aws mode runs on Graviton (aarch64) only, not x86_64");
    expect(platform.reads).toBe(0);
  });

  test("the instance-in-a-box harness may run an instance's boot on it, with a warning", async () => {
    const { value, lines } = input(3, fakePlatform("x86_64", X86_64), { x86: "allowed-in-test-box" });
    await expect(cpuPhase.run(value)).resolves.toEqual({ machine: "x86_64", generation: 3, armArch: GENERATIONS[3].armArch });
    expect(lines[0]).toBe("WARNING: x86_64 in aws mode, allowed by GLLM_TEST_BOX_ALLOW_X86=1 (the instance-in-a-box test harness)");
    expect(lines).toHaveLength(2);
  });
});

test("another machine is not supported", async () => {
  const f = await failureOf(cpuPhase.run(input(3, fakePlatform("riscv64", "processor\t: 0\n"), { x86: "allowed" }).value));
  expect(f.reason).toBe("unsupported machine riscv64");
});

test("run by the phase runner, a mismatch is the boot's one failure, in phase cpu", async () => {
  const clock = new FakeClock();
  const log = new BootLog({ clock, console: () => undefined });
  const runner = { clock, log, deadline: new Deadline(clock.now(), 3600, clock) };
  const { value } = input(4, fakePlatform("aarch64", GRAVITON3), { log: (m) => log.log(m) });
  await expect(runPhase(cpuPhase, value, runner)).rejects.toMatchObject({ phase: "cpu", reason: expect.stringMatching(/^CPU mismatch: c8g\.xlarge/) });
  expect(log.events().map((e) => `${e.phase} ${e.event}`)).toEqual(["cpu start", "cpu failed"]);
});
