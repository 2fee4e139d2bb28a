/**
 * Reading /proc/cpuinfo, defined once: the boot's CPU check (phases/cpu.ts),
 * the local boot's choice of generation (lib/boot/local-boot-options.ts) and
 * the tests' x86 builds (test/support/llama-cpp-build.ts) take it from here.
 *
 * Pure: the text in, what it says out.
 */

/**
 * The distinct `CPU part` values of the cores (the MIDR part number, which
 * names an Arm core: 0xd40 is Neoverse V1), lowercased and sorted; none on a
 * CPU that is not Arm.
 */
export function cpuParts(cpuinfo: string): string[] {
  const parts = new Set<string>();
  for (const line of cpuinfo.split("\n")) {
    const m = /^CPU\spart\s*:\s*(0x[0-9a-fA-F]+)/.exec(line);
    if (m) parts.add(m[1].toLowerCase());
  }
  return [...parts].sort();
}

/**
 * The instruction-set flags of the first core's `flags` line (x86:
 * sse4_2 avx2 fma ...); undefined where there is no such line (Arm names
 * its features on a `Features` line).
 */
export function cpuFlags(cpuinfo: string): string[] | undefined {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  if (!line) return undefined;
  return line[1].trim().split(/\s+/).filter((f) => f !== "");
}
