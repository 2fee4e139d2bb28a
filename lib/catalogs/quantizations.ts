/**
 * GGUF quantizations the kit knows. Q4_0 is the Arm fast path: llama.cpp
 * repacks it at load into the interleaved layouts its dotprod, i8mm and SVE
 * kernels read. Q8_0 trades twice the memory for quality; Q4_K_M is the
 * common community default, smaller than Q8_0 but without the repacked
 * kernels on Arm. F16 is only a source format for on-instance quantization.
 */
export const QUANTIZATIONS = ['Q4_0', 'Q8_0', 'Q4_K_M', 'F16'] as const;

export type Quantization = (typeof QUANTIZATIONS)[number];

/**
 * Average bits a weight takes in a GGUF file of each quantization (llama.cpp's
 * block formats: Q4_0 packs 32 4-bit weights with an f16 scale, Q8_0 32 8-bit
 * weights with one, Q4_K_M mixes 4- and 6-bit blocks).
 */
export const BITS_PER_WEIGHT: Readonly<Record<Quantization, number>> = { F16: 16, Q8_0: 8.5, Q4_K_M: 4.85, Q4_0: 4.5 };
