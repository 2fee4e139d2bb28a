/**
 * Writes a GGUF v3 file, streaming tensor data: each tensor supplies its bytes
 * in chunks, so a multi-GB model never has to sit in memory. The file is
 * written under a temporary name and renamed into place, so a reader (another
 * jest worker, a later run after a crash) never sees a partial model.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

import {
  alignUp,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgmlType,
  GgufScalar,
  GgufScalarType,
  GgufValue,
  GgufValueType,
} from './gguf-types';

export interface GgufTensorSource {
  readonly name: string;
  /** ggml order: dims[0] is the contiguous (row) dimension. */
  readonly dims: readonly number[];
  /** Only unquantized types are written here; llama-quantize does the rest. */
  readonly type: GgmlType.F32;
  /** The tensor's data, in order, in any chunking; must total `tensorByteSize`. */
  chunks(): Iterable<Uint8Array>;
}

export function tensorByteSize(t: Pick<GgufTensorSource, 'dims' | 'type'>): number {
  const bytesPerElement = 4; // F32
  return t.dims.reduce((a, b) => a * b, 1) * bytesPerElement;
}

/** Growable little-endian byte builder for the header. */
class ByteSink {
  private readonly parts: Buffer[] = [];
  private cur = Buffer.alloc(1 << 16);
  private pos = 0;
  length = 0;

  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.parts.push(this.cur.subarray(0, this.pos));
    this.cur = Buffer.alloc(Math.max(1 << 16, n));
    this.pos = 0;
  }

  private advance(n: number): number {
    this.room(n);
    const at = this.pos;
    this.pos += n;
    this.length += n;
    return at;
  }

  // `advance` may swap in a fresh buffer, so it must run before `this.cur`
  // is read: hence the `at` temporaries.
  u8(v: number) { const at = this.advance(1); this.cur.writeUInt8(v, at); }
  i8(v: number) { const at = this.advance(1); this.cur.writeInt8(v, at); }
  u16(v: number) { const at = this.advance(2); this.cur.writeUInt16LE(v, at); }
  i16(v: number) { const at = this.advance(2); this.cur.writeInt16LE(v, at); }
  u32(v: number) { const at = this.advance(4); this.cur.writeUInt32LE(v, at); }
  i32(v: number) { const at = this.advance(4); this.cur.writeInt32LE(v, at); }
  f32(v: number) { const at = this.advance(4); this.cur.writeFloatLE(v, at); }
  f64(v: number) { const at = this.advance(8); this.cur.writeDoubleLE(v, at); }
  u64(v: number | bigint) { const at = this.advance(8); this.cur.writeBigUInt64LE(BigInt(v), at); }
  i64(v: number | bigint) { const at = this.advance(8); this.cur.writeBigInt64LE(BigInt(v), at); }

  string(s: string) {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    const at = this.advance(bytes.length);
    bytes.copy(this.cur, at);
  }

  zeros(n: number) { const at = this.advance(n); this.cur.fill(0, at, at + n); }

  toBuffer(): Buffer {
    return Buffer.concat([...this.parts, this.cur.subarray(0, this.pos)]);
  }
}

function writeScalar(out: ByteSink, type: GgufScalarType, v: GgufScalar): void {
  switch (type) {
    case GgufValueType.UINT8: return out.u8(Number(v));
    case GgufValueType.INT8: return out.i8(Number(v));
    case GgufValueType.UINT16: return out.u16(Number(v));
    case GgufValueType.INT16: return out.i16(Number(v));
    case GgufValueType.UINT32: return out.u32(Number(v));
    case GgufValueType.INT32: return out.i32(Number(v));
    case GgufValueType.FLOAT32: return out.f32(Number(v));
    case GgufValueType.BOOL: return out.u8(v ? 1 : 0);
    case GgufValueType.STRING: return out.string(String(v));
    case GgufValueType.UINT64: return out.u64(v as number | bigint);
    case GgufValueType.INT64: return out.i64(v as number | bigint);
    case GgufValueType.FLOAT64: return out.f64(Number(v));
    default: throw new Error(`unknown GGUF value type ${type as number}`);
  }
}

function writeValue(out: ByteSink, v: GgufValue): void {
  out.u32(v.type);
  if (v.type !== GgufValueType.ARRAY) return writeScalar(out, v.type, v.value);
  out.u32(v.elementType);
  out.u64(v.value.length);
  for (const e of v.value) writeScalar(out, v.elementType, e);
}

/** Shorthands for building metadata. */
export const gguf = {
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
};

/**
 * Writes `metadata` and `tensors` to `file` (atomically). `general.alignment`
 * in the metadata, if present, sets the data alignment.
 */
export function writeGguf(
  file: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorSource[],
): void {
  const alignValue = metadata.get('general.alignment');
  const alignment =
    alignValue && alignValue.type !== GgufValueType.ARRAY ? Number(alignValue.value) : GGUF_DEFAULT_ALIGNMENT;

  const head = new ByteSink();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [key, value] of metadata) {
    head.string(key);
    writeValue(head, value);
  }
  let offset = 0;
  for (const t of tensors) {
    head.string(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.type);
    head.u64(offset);
    offset = alignUp(offset + tensorByteSize(t), alignment);
  }
  head.zeros(alignUp(head.length, alignment) - head.length);

  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, head.toBuffer());
    const pad = Buffer.alloc(alignment);
    for (const t of tensors) {
      const want = tensorByteSize(t);
      let wrote = 0;
      for (const chunk of t.chunks()) {
        writeAll(fd, chunk);
        wrote += chunk.byteLength;
      }
      if (wrote !== want) throw new Error(`tensor ${t.name}: wrote ${wrote} bytes, expected ${want}`);
      const padding = alignUp(wrote, alignment) - wrote;
      if (padding) writeAll(fd, pad.subarray(0, padding));
    }
    closeSync(fd);
    renameSync(tmp, file);
  } catch (err) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done);
}
