/**
 * /proc/cpuinfo as the machines the boot runs on print it (two cores each,
 * abridged to the lines the boot reads and those around them).
 */

/** An Arm core of `part`: the layout of a Graviton's /proc/cpuinfo. */
function armCore(i: number, part: string, features: string, variant: string): string {
  return [
    `processor\t: ${i}`,
    "BogoMIPS\t: 2100.00",
    `Features\t: ${features}`,
    "CPU implementer\t: 0x41",
    "CPU architecture: 8",
    `CPU variant\t: ${variant}`,
    `CPU part\t: ${part}`,
    "CPU revision\t: 1",
    "",
  ].join("\n");
}

/** Cores of the given parts (a mix, where they differ). */
export function cpuinfoOf(parts: readonly string[]): string {
  return parts.map((p, i) => armCore(i, p, "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs", "0x1")).join("\n");
}

/** Graviton2 (Neoverse N1, m6g/c6g/r6g). */
export const GRAVITON2 = [0, 1].map((i) => armCore(i, "0xd0c", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs", "0x3")).join("\n");

/** Graviton3 (Neoverse V1, c7g/m7g/r7g). */
export const GRAVITON3 = [0, 1].map((i) => armCore(i, "0xd40", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng", "0x1")).join("\n");

/** Graviton4 (Neoverse V2, c8g/m8g/r8g). */
export const GRAVITON4 = [0, 1].map((i) => armCore(i, "0xd4f", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 flagm2 frint svei8mm svebf16 i8mm bf16 dgh rng bti", "0x0")).join("\n");

/** An x86_64 developer machine with the portable baseline (AVX2, FMA, F16C, BMI2). */
export const X86_64 = [0, 1].map((i) => [
  `processor\t: ${i}`,
  "vendor_id\t: GenuineIntel",
  "cpu family\t: 6",
  "model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
  "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single ssbd ibrs ibpb stibp ibrs_enhanced fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves wbnoinvd ida arat avx512vbmi pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme avx512_vpopcntdq rdpid md_clear flush_l1d arch_capabilities",
  "",
].join("\n")).join("\n");

/** An older x86_64 CPU without AVX2, FMA or BMI2 (Sandy Bridge). */
export const X86_64_WITHOUT_AVX2 = [
  "processor\t: 0",
  "vendor_id\t: GenuineIntel",
  "model name\t: Intel(R) Core(TM) i7-2600 CPU @ 3.40GHz",
  "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx rdtscp lm constant_tsc pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 popcnt aes xsave avx",
  "",
].join("\n");
