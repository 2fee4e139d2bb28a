/**
 * Deterministic pseudo-random numbers for generated model weights.
 * xoshiro128** seeded through splitmix32: fast in JS (32-bit integer ops only)
 * and identical on every machine, so a model file is a pure function of its
 * shape and seed, and cached copies stay valid.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a, to derive a per-tensor stream from the tensor's name. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    const sm = splitmix32((seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b1));
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm() | 1; // never the all-zero state
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(((Math.imul(this.b, 5) << 7) | (Math.imul(this.b, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = ((this.d << 11) | (this.d >>> 21)) >>> 0;
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    return r;
  }

  /** Fills `out` with values uniform in [-scale, scale). */
  fillUniform(out: Float32Array, scale: number): void {
    const k = (2 * scale) / 4294967296;
    for (let i = 0; i < out.length; i++) out[i] = this.nextU32() * k - scale;
  }
}
