/**
 * GGUF v3 constants and value model shared by the reader and writer.
 * Spec: ggml's docs/gguf.md (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf_metadata_value_type). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export type GgufScalarType = Exclude<GgufValueType, GgufValueType.ARRAY>;
export type GgufScalar = number | bigint | boolean | string;

/**
 * A metadata value with its wire type kept, so that values copied from one
 * file (e.g. the tokenizer's int32 token types) are written back unchanged.
 */
export type GgufValue =
  | { readonly type: GgufScalarType; readonly value: GgufScalar }
  | { readonly type: GgufValueType.ARRAY; readonly elementType: GgufScalarType; readonly value: readonly GgufScalar[] };

export type GgufMetadata = ReadonlyMap<string, GgufValue>;

/**
 * ggml tensor types this project reads or writes. The numbers are ggml's
 * `enum ggml_type`; names match `ggml_type_name`.
 */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
}

/** Name of a ggml type, or `type<N>` for one this table does not know. */
export function ggmlTypeName(type: number): string {
  return GgmlType[type] ?? `type${type}`;
}

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the contiguous (row) dimension. */
  readonly dims: readonly number[];
  readonly type: number;
  /** Offset of the tensor's data from the start of the data section. */
  readonly offset: bigint;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
