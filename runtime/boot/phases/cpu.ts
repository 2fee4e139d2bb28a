/**
 * The cpu phase: which of the configured generations this CPU is, and so
 * which build it runs. A build for one Graviton generation dies with SIGILL
 * on an older one, so on aarch64 every core must report the same CPU part,
 * and it must be the part of a generation the configuration names (a group
 * of several generations names each); that generation's -march is the
 * build's, and part of its cache key. On x86_64 (local boots, and the instance-in-a-box
 * harness) the build is ggml's portable x86 baseline, which needs its
 * instruction-set extensions.
 */
import { cpuFlags, cpuParts } from "../cpuinfo";
import { type Phase, PhaseFailure } from "../core/phase";
import type { GenerationBuild } from "../contract";
import type { Platform } from "../ports";

export const CPU_PHASE = "cpu";

/** The machines the boot builds for, as `uname -m` names them. */
export type BuildMachineName = "aarch64" | "x86_64";

export interface CpuPhaseInput {
  /**
   * The instance types the configuration names (GLLM_INSTANCE_TYPE), for the
   * failure's reason: the group may launch any of them, so the CPU part, not
   * the type, is what the build is chosen and checked by.
   */
  readonly instanceTypes: readonly string[];
  /**
   * The generations the group may launch (GLLM_GENERATION, GLLM_CPU_PART,
   * GLLM_ARM_ARCH), the first type's first: every core must report the CPU
   * part of one of them.
   */
  readonly generations: readonly GenerationBuild[];
  /**
   * Whether an x86_64 CPU may go on: allowed for a local boot; refused on an
   * instance, which is Graviton only; allowed-in-test-box where the
   * instance-in-a-box harness runs the instance's boot in an x86_64 container
   * (GLLM_TEST_BOX_ALLOW_X86=1 in the boot's process environment, which the
   * stack's user data never sets), which is logged as a warning.
   */
  readonly x86: "allowed" | "refused" | "allowed-in-test-box";
  /** The /proc/cpuinfo flags the portable x86 build compiles for (the build's X86_BASELINE_CPU_FLAGS). */
  readonly x86BaselineFlags: readonly string[];
  readonly platform: Pick<Platform, "machine" | "cpuinfo">;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
}

export interface CpuPhaseOutput {
  /** The machine the build is for: part of its cache key. */
  readonly machine: BuildMachineName;
  /** The configured generation this machine is (on x86_64, the first: it selects the pins only). */
  readonly generation: number;
  /** That generation's -march (GLLM_ARM_ARCH's entry): the aarch64 build's, part of its cache key. */
  readonly armArch: string;
}

function fail(reason: string): never {
  throw new PhaseFailure(CPU_PHASE, reason);
}

/** `Graviton3 (CPU part 0xd40)`, and with several generations each, joined by "or". */
function configuredWords(generations: readonly GenerationBuild[]): string {
  return generations.map((g) => `Graviton${g.generation} (CPU part ${g.cpuPart})`).join(" or ");
}

/** The configured generation every core of this machine is; fails for a mix of cores or a part none has. */
async function pickGeneration(input: CpuPhaseInput): Promise<GenerationBuild> {
  const { source, text } = await input.platform.cpuinfo();
  if (text === undefined) fail(`cannot read ${source}`);
  const parts = cpuParts(text);
  const types = input.instanceTypes.join(" or ");
  const [only] = input.generations;
  if (parts.length === 0) {
    const configured = input.generations.length === 1 ? `Graviton${only.generation}, CPU part ${only.cpuPart}` : configuredWords(input.generations);
    fail(`no 'CPU part' line in ${source}: not an Arm CPU, cannot check it is ${types} (${configured})`);
  }
  const picked = parts.length === 1 ? input.generations.find((g) => g.cpuPart === parts[0]) : undefined;
  if (picked === undefined) {
    const are = input.instanceTypes.length > 1 ? "are" : "is";
    // One generation: its build's -march is the one that would run here.
    fail(input.generations.length === 1
      ? `CPU mismatch: ${types} ${are} configured as Graviton${only.generation} (CPU part ${only.cpuPart}) but ${source} reports CPU part ${parts.join(",")}; a build for -march=${only.armArch} could die with SIGILL here`
      : `CPU mismatch: ${types} ${are} configured as ${configuredWords(input.generations)} but ${source} reports CPU part ${parts.join(",")}${parts.length > 1 ? ", a mix of cores" : ", none of theirs"}; a build for another core could die with SIGILL here`);
  }
  input.log(`CPU part ${picked.cpuPart} matches Graviton${picked.generation}${input.generations.length > 1 ? ` of the configured ${input.generations.map((g) => `Graviton${g.generation}`).join(", ")}: its build (-march=${picked.armArch})` : ""}`);
  return picked;
}

/** sse4_2 -> SSE4.2, as people write the extensions. */
const flagName = (flag: string) => flag.toUpperCase().replace(/_/g, ".");

async function checkX86Baseline(input: CpuPhaseInput): Promise<void> {
  const { source, text } = await input.platform.cpuinfo();
  if (text === undefined) fail(`cannot read ${source}`);
  const flags = cpuFlags(text) ?? [];
  const missing = input.x86BaselineFlags.find((f) => !flags.includes(f));
  if (missing !== undefined) fail(`this x86_64 CPU lacks ${missing}, which ggml's portable x86 build (GGML_NATIVE=OFF) uses`);
  input.log(`x86_64 with ${input.x86BaselineFlags.map(flagName).join("/")}: building ggml's portable x86 baseline, no Arm flags`);
}

export const cpuPhase: Phase<CpuPhaseInput, CpuPhaseOutput> = {
  name: CPU_PHASE,
  async run(input) {
    const machine = input.platform.machine();
    if (machine === "aarch64") {
      const picked = await pickGeneration(input);
      return { machine, generation: picked.generation, armArch: picked.armArch };
    }
    if (machine === "x86_64") {
      if (input.x86 === "refused") fail(`aws mode runs on Graviton (aarch64) only, not ${machine}`);
      if (input.x86 === "allowed-in-test-box") {
        input.log("WARNING: x86_64 in aws mode, allowed by GLLM_TEST_BOX_ALLOW_X86=1 (the instance-in-a-box test harness)");
      }
      await checkX86Baseline(input);
      // The x86 build is the portable one whatever the generation; the first configured selects the pins.
      const [first] = input.generations;
      return { machine, generation: first.generation, armArch: first.armArch };
    }
    return fail(`unsupported machine ${machine}`);
  },
};
