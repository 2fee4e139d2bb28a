/**
 * The cpu phase: the CPU must be the one the build is for. A build for one
 * Graviton generation dies with SIGILL on an older one, so on aarch64 every
 * core must be exactly the generation the configuration (and the build's
 * cache key) names. On x86_64 (local boots, and the instance-in-a-box
 * harness) the build is ggml's portable x86 baseline, which needs its
 * instruction-set extensions.
 */
import { cpuFlags, cpuParts } from "../cpuinfo";
import { type Phase, PhaseFailure } from "../core/phase";
import type { Platform } from "../ports";

export const CPU_PHASE = "cpu";

/** The machines the boot builds for, as `uname -m` names them. */
export type BuildMachineName = "aarch64" | "x86_64";

export interface CpuPhaseInput {
  /**
   * The instance types the configuration names (GLLM_INSTANCE_TYPE), for the
   * failure's reason: the group may launch any of them, all of one generation,
   * so the CPU part, not the type, is what the build is checked against.
   */
  readonly instanceTypes: readonly string[];
  /** Its Graviton generation (GLLM_GENERATION). */
  readonly generation: number;
  /** The `CPU part` every core must report (GLLM_CPU_PART), e.g. 0xd40. */
  readonly cpuPart: string;
  /** The -march the build is for (GLLM_ARM_ARCH), for the failure's reason. */
  readonly armArch: string;
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
}

function fail(reason: string): never {
  throw new PhaseFailure(CPU_PHASE, reason);
}

async function checkCpuPart(input: CpuPhaseInput): Promise<void> {
  const { source, text } = await input.platform.cpuinfo();
  if (text === undefined) fail(`cannot read ${source}`);
  const parts = cpuParts(text);
  const configured = `Graviton${input.generation}`;
  const types = input.instanceTypes.join(" or ");
  if (parts.length === 0) {
    fail(`no 'CPU part' line in ${source}: not an Arm CPU, cannot check it is ${types} (${configured}, CPU part ${input.cpuPart})`);
  }
  if (parts.length !== 1 || parts[0] !== input.cpuPart) {
    fail(`CPU mismatch: ${types} ${input.instanceTypes.length > 1 ? "are" : "is"} configured as ${configured} (CPU part ${input.cpuPart}) but ${source} reports CPU part ${parts.join(",")}; a build for -march=${input.armArch} could die with SIGILL here`);
  }
  input.log(`CPU part ${input.cpuPart} matches ${configured}`);
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
      await checkCpuPart(input);
      return { machine };
    }
    if (machine === "x86_64") {
      if (input.x86 === "refused") fail(`aws mode runs on Graviton (aarch64) only, not ${machine}`);
      if (input.x86 === "allowed-in-test-box") {
        input.log("WARNING: x86_64 in aws mode, allowed by GLLM_TEST_BOX_ALLOW_X86=1 (the instance-in-a-box test harness)");
      }
      await checkX86Baseline(input);
      return { machine };
    }
    return fail(`unsupported machine ${machine}`);
  },
};
