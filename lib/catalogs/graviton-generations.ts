/**
 * What the kit needs to know about each Graviton generation: the core, how to
 * recognise it on a running instance, and how to build llama.cpp for it.
 *
 * This is the one definition of the llama.cpp Arm build flags. The CDK code
 * renders them into each instance's boot environment and the tests cross-compile
 * with exactly these strings, so a flag that a compiler rejects fails a test
 * here rather than a boot in production.
 */
export type GravitonGeneration = 2 | 3 | 4 | 5;

export interface GenerationSpec {
  readonly generation: GravitonGeneration;
  /** Marketing name, e.g. `Graviton3`. */
  readonly name: string;
  /** Arm core the generation is built on. */
  readonly core: string;
  /**
   * The `CPU part` line of `/proc/cpuinfo` (the MIDR part number) on this
   * generation. The boot script refuses to serve a build made for another
   * generation: a Graviton3 build dies with SIGILL on Graviton2.
   */
  readonly cpuPart: string;
  /**
   * Value of llama.cpp's `GGML_CPU_ARM_ARCH` CMake option (passed to `-march`).
   * Graviton2: dotprod. Graviton3: SVE, int8 matmul (i8mm) and bf16.
   * Graviton4 and later: SVE2. Graviton5's Neoverse V3 is Armv9.2, but GCC 12
   * and 14 builds are tested with the Armv9.0 string, which covers every
   * feature llama.cpp's kernels use.
   */
  readonly armArch: string;
  /** SVE vector length in bits, where the core has SVE. */
  readonly sveBits?: number;
  /**
   * The Q4_0 repack layout llama.cpp picks on this core at model load
   * (`repack: repack tensor ... with <layout>`): 8x8 needs i8mm with 256-bit
   * SVE, 4x8 needs i8mm, 4x4 needs dotprod.
   */
  readonly q4_0Repack: 'q4_0_4x4' | 'q4_0_4x8' | 'q4_0_8x8';
  /** DRAM generation and speed, which bounds single-stream generation. */
  readonly memory: string;
}

export const GENERATIONS: Readonly<Record<GravitonGeneration, GenerationSpec>> = {
  2: {
    generation: 2,
    name: 'Graviton2',
    core: 'Neoverse N1',
    cpuPart: '0xd0c',
    armArch: 'armv8.2-a+dotprod+fp16',
    q4_0Repack: 'q4_0_4x4',
    memory: 'DDR4-3200',
  },
  3: {
    generation: 3,
    name: 'Graviton3',
    core: 'Neoverse V1',
    cpuPart: '0xd40',
    armArch: 'armv8.4-a+sve+i8mm+bf16+dotprod+fp16',
    sveBits: 256,
    q4_0Repack: 'q4_0_8x8',
    memory: 'DDR5-4800',
  },
  4: {
    generation: 4,
    name: 'Graviton4',
    core: 'Neoverse V2',
    cpuPart: '0xd4f',
    armArch: 'armv9-a+sve2+i8mm+bf16+dotprod+fp16',
    sveBits: 128,
    q4_0Repack: 'q4_0_4x8',
    memory: 'DDR5-5600',
  },
  5: {
    generation: 5,
    name: 'Graviton5',
    core: 'Neoverse V3',
    cpuPart: '0xd84',
    armArch: 'armv9-a+sve2+i8mm+bf16+dotprod+fp16',
    sveBits: 128,
    q4_0Repack: 'q4_0_4x8',
    memory: 'DDR5-8800',
  },
};
