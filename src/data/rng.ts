/**
 * A small seeded PRNG for dataset generation and env resets: sfc32 (32-bit, passes PractRand to
 * 2^40+ for our needs) with a Marsaglia-polar Gaussian. No Math.random anywhere in the data layer;
 * the same seed gives the same stream on every platform (integer ops only, plus one log/sqrt).
 * Allocation-free after construction.
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
