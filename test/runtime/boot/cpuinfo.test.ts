import { cpuFlags, cpuParts } from "../../../runtime/boot/cpuinfo";
import { cpuinfoOf, GRAVITON2, GRAVITON3, GRAVITON4, X86_64 } from "./support/cpuinfo-samples";

describe("the CPU parts", () => {
  test("name each Graviton generation's core", () => {
    expect(cpuParts(GRAVITON2)).toEqual(["0xd0c"]);
    expect(cpuParts(GRAVITON3)).toEqual(["0xd40"]);
    expect(cpuParts(GRAVITON4)).toEqual(["0xd4f"]);
  });

  test("are none on an x86 CPU", () => {
    expect(cpuParts(X86_64)).toEqual([]);
  });

  test("are each part once, lowercased and sorted, whatever the cores' order and case", () => {
    expect(cpuParts(cpuinfoOf(["0xD40", "0xd0c", "0xd40", "0xd0c"]))).toEqual(["0xd0c", "0xd40"]);
  });

  test("come only from lines that start with CPU part", () => {
    expect(cpuParts("model name\t: not a CPU part : 0xd40\n  CPU part\t: 0xd0c\nCPU part\t: 0xd4f\n")).toEqual(["0xd4f"]);
    expect(cpuParts("CPU part\t: d40\n")).toEqual([]);
  });
});

describe("the CPU flags", () => {
  test("are the first core's flags line", () => {
    expect(cpuFlags(X86_64)).toEqual(expect.arrayContaining(["sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"]));
    expect(cpuFlags("flags\t\t: fpu  avx\nflags\t\t: other\n")).toEqual(["fpu", "avx"]);
    expect(cpuFlags("flags\t\t:\n")).toEqual([]);
  });

  test("are undefined on an Arm CPU, which names its features otherwise", () => {
    expect(cpuFlags(GRAVITON3)).toBeUndefined();
  });
});
