/**
 * Reads a GGUF file's header: metadata and tensor infos, not tensor data.
 * Used to copy the Llama 3 tokenizer out of llama.cpp's vocab file and to
 * check what llama-quantize wrote. Only the header is read, so multi-GB
 * models cost a few MB of I/O.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import {
  alignUp,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufMetadata,
  GgufScalar,
  GgufScalarType,
  GgufTensorInfo,
  GgufValue,
  GgufValueType,
} from './gguf-types';

export interface GgufHeader {
  readonly version: number;
  readonly metadata: GgufMetadata;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset where tensor data begins. */
  readonly dataOffset: number;
}

/** Thrown by the cursor when the header runs past the bytes read so far. */
class NeedMoreBytes extends Error {}

class Cursor {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Buffer, private readonly eof: boolean) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  private take(n: number): number {
    if (this.pos + n > this.buf.length) {
      if (this.eof) throw new Error(`GGUF truncated at byte ${this.pos}`);
      throw new NeedMoreBytes();
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8 = () => this.view.getUint8(this.take(1));
  i8 = () => this.view.getInt8(this.take(1));
  u16 = () => this.view.getUint16(this.take(2), true);
  i16 = () => this.view.getInt16(this.take(2), true);
  u32 = () => this.view.getUint32(this.take(4), true);
  i32 = () => this.view.getInt32(this.take(4), true);
  f32 = () => this.view.getFloat32(this.take(4), true);
  f64 = () => this.view.getFloat64(this.take(8), true);
  u64 = () => this.view.getBigUint64(this.take(8), true);
  i64 = () => this.view.getBigInt64(this.take(8), true);

  /** A u64 that must fit a JS number (counts, lengths, dims). */
  size(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF size too large: ${v}`);
    return Number(v);
  }

  string(): string {
    const len = this.size();
    const at = this.take(len);
    return this.buf.toString('utf8', at, at + len);
  }

  scalar(type: GgufScalarType): GgufScalar {
    switch (type) {
      case GgufValueType.UINT8: return this.u8();
      case GgufValueType.INT8: return this.i8();
      case GgufValueType.UINT16: return this.u16();
      case GgufValueType.INT16: return this.i16();
      case GgufValueType.UINT32: return this.u32();
      case GgufValueType.INT32: return this.i32();
      case GgufValueType.FLOAT32: return this.f32();
      case GgufValueType.BOOL: return this.u8() !== 0;
      case GgufValueType.STRING: return this.string();
      case GgufValueType.UINT64: return this.u64();
      case GgufValueType.INT64: return this.i64();
      case GgufValueType.FLOAT64: return this.f64();
      default: throw new Error(`unknown GGUF value type ${type as number}`);
    }
  }

  value(): GgufValue {
    const type = this.u32() as GgufValueType;
    if (type !== GgufValueType.ARRAY) return { type, value: this.scalar(type) };
    const elementType = this.u32() as GgufScalarType;
    if (elementType === (GgufValueType.ARRAY as number)) throw new Error('nested GGUF arrays are not supported');
    const n = this.size();
    const value: GgufScalar[] = new Array(n);
    for (let i = 0; i < n; i++) value[i] = this.scalar(elementType);
    return { type, elementType, value };
  }
}

function parse(buf: Buffer, eof: boolean): GgufHeader {
  const c = new Cursor(buf, eof);
  if (c.u32() !== GGUF_MAGIC) throw new Error('not a GGUF file (bad magic)');
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new Error(`unsupported GGUF version ${version}`);
  const nTensors = c.size();
  const nKv = c.size();

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.string();
    metadata.set(key, c.value());
  }

  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.string();
    const nDims = c.u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.size());
    const type = c.u32();
    const offset = c.u64();
    tensors.push({ name, dims, type, offset });
  }

  const align = metadata.get('general.alignment');
  const alignment = align && align.type !== GgufValueType.ARRAY ? Number(align.value) : GGUF_DEFAULT_ALIGNMENT;
  return { version, metadata, tensors, alignment, dataOffset: alignUp(c.offset, alignment) };
}

/** Reads the header of the GGUF file at `file`. */
export function readGgufHeader(file: string): GgufHeader {
  const fd = openSync(file, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    // Headers range from a few KB to tens of MB (a 128k-token vocabulary);
    // read a prefix and grow it until the header parses.
    for (let want = 1 << 20; ; want *= 4) {
      const len = Math.min(want, fileSize);
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, got);
        if (n === 0) break;
        got += n;
      }
      try {
        return parse(buf.subarray(0, got), got >= fileSize);
      } catch (err) {
        if (!(err instanceof NeedMoreBytes)) throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Convenience accessor for a scalar metadata value. */
export function metadataScalar(metadata: GgufMetadata, key: string): GgufScalar | undefined {
  const v = metadata.get(key);
  return v && v.type !== GgufValueType.ARRAY ? v.value : undefined;
}
