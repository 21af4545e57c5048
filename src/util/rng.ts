/**
 * xoshiro128** with a polar-method Gaussian: seeded, reproducible, allocation-free after construction.
 * Used by the trainer (batches, noise) and the control loop (candidate noise) alike.
 */
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
        // xoshiro128** twice (as nextU32), mapped to [-1, 1) as uniform() * 2 - 1
        let x = Math.imul(s1, 5);
        let r = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
        let t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        u = (r / 4294967296) * 2 - 1;
        x = Math.imul(s1, 5);
        r = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
        t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        v = (r / 4294967296) * 2 - 1;
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
