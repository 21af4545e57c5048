/**
 * The PRNG family — every seeded random stream in kdp-edge comes from this module.
 *
 *   Rng           xoshiro128** + polar-method Gaussian. THE generator: the trainer (batches, noise),
 *                 the control loop (candidate noise, allocation-free `fillNormal`), the fuzzers and
 *                 anything new. `new Rng(seed)` for an independent stream.
 *   SeededRng     sfc32 + polar Gaussian, FROZEN: the dataset generators (maze2d, crazyflie-nav), env
 *                 resets and nav layouts. The shipped models were trained on datasets from this stream
 *                 and every documented evaluation seed (README, docs/benchmarks.md) resets through it.
 *   SeededRandom  mulberry32 + Box–Muller, FROZEN: int8 export calibration samples and the golden
 *                 fixtures (models/fixtures/). A re-export of a shipped model must give the same bytes
 *                 (manifest sha256) and the arm64 kernel digests pin the fixtures.
 *
 * The frozen streams are bit-identical to what made the shipped artefacts (test/util/rng-family.test.ts
 * pins their first values); do not use them for new code, and do not change them: that would silently
 * change datasets, evaluation episodes and exported models.
 */

/** xoshiro128** with a polar-method Gaussian: seeded, reproducible, allocation-free after construction. */
export class Rng {
  // state lives in typed arrays: object fields holding doubles would box a heap number per update
  private readonly s = new Uint32Array(4);
  private readonly spareBuf = new Float64Array(1);
  private hasSpare = false;

  constructor(seed: number) {
    // splitmix32 to spread the seed over the 128-bit state
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s[0] = next(); this.s[1] = next(); this.s[2] = next(); this.s[3] = next();
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = s1 << 9;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!;
    s[2]! ^= t; s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Standard normal. */
  normal(): number {
    if (this.hasSpare) { this.hasSpare = false; return this.spareBuf[0]!; }
    let u: number, v: number, s: number;
    do {
      u = this.uniform() * 2 - 1;
      v = this.uniform() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareBuf[0] = v * m;
    this.hasSpare = true;
    return u * m;
  }

  /**
   * `normal()` repeated into `out`, the same stream, in one self-contained loop: the control loop calls this every
   * replan, and a helper that returns a double or a uint32 ≥ 2³¹ boxes it (16 B) whenever the optimising compiler
   * declines to inline it — which depends on its budgets and on the host's load, not on this code.
   */
  fillNormal(out: Float32Array, offset = 0, length = out.length - offset): void {
    const st = this.s, spare = this.spareBuf;
    // the state as int32 bit patterns (xor and shifts do not care about the sign)
    let s0 = st[0]! | 0, s1 = st[1]! | 0, s2 = st[2]! | 0, s3 = st[3]! | 0;
    let i = offset;
    const end = offset + length;
    if (i < end && this.hasSpare) { this.hasSpare = false; out[i++] = spare[0]!; }
    while (i < end) {
      let u = 0, v = 0, s = 0;
      do {
        // two xoshiro128** steps (as nextU32), each mapped to [-1, 1) as uniform() * 2 - 1: u, then v
        for (let k = 0; k < 2; k++) {
          const x = Math.imul(s1, 5);
          const r = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
          const t = s1 << 9;
          s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
          u = v;
          v = (r / 4294967296) * 2 - 1;
        }
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const m = Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = u * m;
      spare[0] = v * m; // kept even when used at once, as normal() does: state() snapshots it
      if (i < end) out[i++] = spare[0]!;
      else this.hasSpare = true;
    }
    st[0] = s0; st[1] = s1; st[2] = s2; st[3] = s3;
  }

  /** State snapshot for checkpoints (resume reproduces the same stream). */
  state(): number[] {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!, this.hasSpare ? 1 : 0, this.spareBuf[0]!];
  }
  restore(s: number[]): void {
    if (s.length !== 6) throw new RangeError('rng state must have 6 entries');
    for (let i = 0; i < 4; i++) this.s[i] = s[i]! >>> 0;
    this.hasSpare = s[4] === 1;
    this.spareBuf[0] = s[5]!;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * FROZEN stream (see the top of this file): sfc32 with a Marsaglia-polar Gaussian, for dataset
 * generation and env resets. Integer ops only plus one log/sqrt, so the same seed gives the same stream
 * on every platform. Allocation-free after construction.
 */
export class SeededRng {
  /** sfc32 state a, b, c, counter d, as int32 (typed storage: no boxed doubles, no allocation) */
  private readonly s = new Int32Array(4);
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Restart the stream from `seed` (no allocation). */
  reseed(seed: number): void {
    // splitmix32 spreads the (possibly small) seed over the 128-bit state
    let x = (seed >>> 0) ^ 0x6a09e667;
    for (let i = 0; i < 3; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      this.s[i] = z ^ (z >>> 15);
    }
    this.s[3] = 1;
    this.hasSpare = false;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit integer, as a signed int32 (use `>>> 0` for unsigned). */
  i32(): number {
    const s = this.s;
    const a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    return this.i32() >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return (this.i32() >>> 0) * 2.3283064365386963e-10;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n), n ≤ 2^32 (unbiased enough for n ≪ 2^32: multiply-shift). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Marsaglia polar method; caches the second value). */
  normal(): number {
    if (this.hasSpare) { this.hasSpare = false; return this.spare; }
    let u = 0, v = 0, s = 0;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }
}

/** FROZEN stream (see the top of this file): mulberry32 + Box–Muller, for export calibration and the golden fixtures. */
export class SeededRandom {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) { this.s = (seed >>> 0) || 0x9e3779b9; }

  /** uniform in [0, 1) */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** standard normal */
  normal(): number {
    if (this.spare !== null) { const v = this.spare; this.spare = null; return v; }
    let u = 0;
    while (u <= 1e-12) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }
}
