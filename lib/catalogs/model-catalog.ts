import { ArchitectureId } from './model-architectures';
import { Quantization } from './quantizations';

/** One GGUF file the kit can deploy by id, verified by size and SHA-256 at every boot. */
export interface CatalogModel {
  readonly id: string;
  readonly architecture: ArchitectureId;
  readonly quantization: Quantization;
  /** Hugging Face repository. */
  readonly repository: string;
  /**
   * Hugging Face revision (a commit) the file is downloaded at: never a branch, which its owner can
   * move to other bytes (the boot would then refuse them, and every boot fail).
   */
  readonly revision: string;
  readonly file: string;
  readonly sizeBytes: number;
  /** The file's SHA-256 (its Git LFS object id). */
  readonly sha256: string;
}

/**
 * The catalog. Sizes and SHA-256 sums are the publishers' Git LFS object ids
 * at the pinned revision, as recorded by several independent projects that
 * download these files; an entry goes in only when its hash could be
 * confirmed. Files not listed here (the Q4_0 files of 3B, 8B and 70B; the
 * split Q8_0 of 70B) can still be served as a `customModel` with the hash you
 * compute yourself (`sha256sum FILE`).
 */
export const CATALOG_MODELS: readonly CatalogModel[] = [
  {
    id: 'llama-3.2-1b-instruct-q4_0',
    architecture: 'llama-3.2-1b',
    quantization: 'Q4_0',
    repository: 'bartowski/Llama-3.2-1B-Instruct-GGUF',
    // The commit at which this repository's Q8_0 and Q4_K_M entries (below) are confirmed. This
    // file's size and hash are confirmed by projects that download it from `main`; that the file
    // at this commit has them is inferred, not confirmed: a boot refuses a file that differs.
    revision: '067b946cf014b7c697f3654f621d577a3e3afd1c',
    file: 'Llama-3.2-1B-Instruct-Q4_0.gguf',
    sizeBytes: 773025920,
    sha256: 'fa0390e7c043f89ae1847bd6682d748041a99d4ef3de0e0b27d33b6af97a8be8',
  },
  {
    id: 'llama-3.2-1b-instruct-q8_0',
    architecture: 'llama-3.2-1b',
    quantization: 'Q8_0',
    repository: 'bartowski/Llama-3.2-1B-Instruct-GGUF',
    revision: '067b946cf014b7c697f3654f621d577a3e3afd1c',
    file: 'Llama-3.2-1B-Instruct-Q8_0.gguf',
    sizeBytes: 1321083008,
    sha256: '432f310a77f4650a88d0fd59ecdd7cebed8d684bafea53cbff0473542964f0c3',
  },
  {
    id: 'llama-3.2-1b-instruct-q4_k_m',
    architecture: 'llama-3.2-1b',
    quantization: 'Q4_K_M',
    repository: 'bartowski/Llama-3.2-1B-Instruct-GGUF',
    revision: '067b946cf014b7c697f3654f621d577a3e3afd1c',
    file: 'Llama-3.2-1B-Instruct-Q4_K_M.gguf',
    sizeBytes: 807694464,
    sha256: '6f85a640a97cf2bf5b8e764087b1e83da0fdb51d7c9fab7d0fece9385611df83',
  },
  {
    id: 'llama-3.2-3b-instruct-q8_0',
    architecture: 'llama-3.2-3b',
    quantization: 'Q8_0',
    repository: 'bartowski/Llama-3.2-3B-Instruct-GGUF',
    revision: '5ab33fa94d1d04e903623ae72c95d1696f09f9e8',
    file: 'Llama-3.2-3B-Instruct-Q8_0.gguf',
    sizeBytes: 3421899296,
    sha256: 'b5607b5090a8280063fff2d706bb3408ca6542341b06aab39c3eca0a28575921',
  },
  {
    id: 'llama-3.2-3b-instruct-q4_k_m',
    architecture: 'llama-3.2-3b',
    quantization: 'Q4_K_M',
    repository: 'bartowski/Llama-3.2-3B-Instruct-GGUF',
    revision: '5ab33fa94d1d04e903623ae72c95d1696f09f9e8',
    file: 'Llama-3.2-3B-Instruct-Q4_K_M.gguf',
    sizeBytes: 2019377696,
    sha256: '6c1a2b41161032677be168d354123594c0e6e67d2b9227c84f296ad037c728ff',
  },
  {
    id: 'llama-3.1-8b-instruct-q8_0',
    architecture: 'llama-3.1-8b',
    quantization: 'Q8_0',
    repository: 'bartowski/Meta-Llama-3.1-8B-Instruct-GGUF',
    revision: 'bf5b95e96dac0462e2a09145ec66cae9a3f12067',
    file: 'Meta-Llama-3.1-8B-Instruct-Q8_0.gguf',
    sizeBytes: 8540775840,
    sha256: '9da71c45c90a821809821244d4971e5e5dfad7eb091f0b8ff0546392393b6283',
  },
  {
    id: 'llama-3.1-8b-instruct-q4_k_m',
    architecture: 'llama-3.1-8b',
    quantization: 'Q4_K_M',
    repository: 'bartowski/Meta-Llama-3.1-8B-Instruct-GGUF',
    revision: 'bf5b95e96dac0462e2a09145ec66cae9a3f12067',
    file: 'Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf',
    sizeBytes: 4920739232,
    sha256: '7b064f5842bf9532c91456deda288a1b672397a54fa729aa665952863033557c',
  },
  {
    id: 'llama-3.3-70b-instruct-q4_k_m',
    architecture: 'llama-3.3-70b',
    quantization: 'Q4_K_M',
    repository: 'bartowski/Llama-3.3-70B-Instruct-GGUF',
    revision: 'b6c5c9f176f3279204034e1d16d393105e95cb88',
    file: 'Llama-3.3-70B-Instruct-Q4_K_M.gguf',
    sizeBytes: 42520398816,
    sha256: '32df3baccb556f9840059b2528b2dee4d3d516b24afdfb9d0c56ff5f63e3a664',
  },
];

/**
 * Llama 3.2 3B Instruct: the smallest model that handles chat, summarising and
 * classification well. Q4_K_M rather than Q4_0 because no Q4_0 file of 3B has
 * a hash the kit could verify yet; the pinned llama.cpp release repacks Q4_K
 * for the Arm dotprod and i8mm kernels as it does Q4_0.
 */
export const DEFAULT_MODEL_ID = 'llama-3.2-3b-instruct-q4_k_m';

export const CATALOG_MODEL_IDS: readonly string[] = CATALOG_MODELS.map((m) => m.id);

export function findCatalogModel(id: string): CatalogModel | undefined {
  return CATALOG_MODELS.find((m) => m.id === id);
}

export function modelDownloadUrl(m: CatalogModel): string {
  return `https://huggingface.co/${m.repository}/resolve/${m.revision}/${m.file}`;
}
