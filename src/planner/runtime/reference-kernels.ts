/**
 * Plain TypeScript kernels: the reference path for every op (tests, fallback `backend: 'reference'`).
 * They read/write caller-provided typed-array views and never allocate. The integer kernels follow
 * TFLite's reference arithmetic exactly (see quant.ts); the float kernels accumulate in doubles.
 * ADD, MUL, CONCATENATION and the int8 elementwise kernels here are also what the WASM backend runs
 * for those ops (they are a few hundred element operations per invoke, not worth a WASM call).
 */
import { I6_OFFSET, i6Index } from './i6-layout.js';
import { mulByQuantizedMultiplier, roundHalfAway, roundHalfEven } from './quant.js';

/** f32 FC over the packed weights (fc-layout.ts packF32Weights), accumulating in doubles. */
export function fcF32(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array,
  rows: number, inDim: number, outDim: number, lo: number, hi: number): void {
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = (o >> 3) * inDim * 8 + (o & 7);
      let s = b === null ? 0 : b[o]!;
      for (let i = 0; i < inDim; i++) s += x[xo + i]! * w[wo + i * 8]!;
      y[r * outDim + o] = s < lo ? lo : s > hi ? hi : s;
    }
  }
}

/** int8 FC over the packed weights (see fc-layout.ts packInt8Weights); TFLite reference arithmetic. */
export function fcI8(x: Int8Array, w: Int16Array | Int8Array, bias: Int32Array | null, y: Int8Array,
  rows: number, inDim: number, inPad: number, outDim: number,
  inZp: number, mult: number, shift: number, fpScale: number, outZp: number, lo: number, hi: number): void {
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = (o >> 3) * inPad * 8 + (o & 7) * 2;
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += (x[xo + i]! - inZp) * w[wo + (i >> 1) * 16 + (i & 1)]!;
      if (bias !== null) acc += bias[o]!;
      let v = (fpScale !== 0 ? roundHalfEven(Math.fround(Math.fround(acc) * fpScale)) : mulByQuantizedMultiplier(acc | 0, mult, shift)) + outZp;
      v = v < lo ? lo : v > hi ? hi : v;
      y[r * outDim + o] = v;
    }
  }
}

/**
 * The relaxed kernel's arithmetic on its own packed layout (i6-layout.ts):
 * Σ x·(w + 32) − 32·Σx + (bias − zx·Σw), which equals TFLite's Σ (x − zx)·w + bias exactly.
 */
export function fcI6(x: Int8Array, w: Uint8Array, bias: Int32Array, y: Int8Array,
  rows: number, inDim: number, inPad: number, outDim: number,
  mult: number, shift: number, fpScale: number, outZp: number, lo: number, hi: number): void {
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    let sx = 0;
    for (let i = 0; i < inDim; i++) sx += x[xo + i]!;
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[xo + i]! * w[i6Index(o, i, inPad)]!;
      acc += bias[o]! - I6_OFFSET * sx;
      let v = (fpScale !== 0 ? roundHalfEven(Math.fround(Math.fround(acc) * fpScale)) : mulByQuantizedMultiplier(acc | 0, mult, shift)) + outZp;
      v = v < lo ? lo : v > hi ? hi : v;
      y[r * outDim + o] = v;
    }
  }
}

export function clampF32(x: Float32Array, y: Float32Array, lo: number, hi: number): void {
  for (let i = 0; i < y.length; i++) { const v = x[i]!; y[i] = v < lo ? lo : v > hi ? hi : v; }
}

export function tanhF32(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = Math.tanh(x[i]!);
}

export function logisticF32(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-x[i]!));
}

/** y[i] = lut[x[i] + 128] */
export function lutI8(x: Int8Array, y: Int8Array, lut: Int8Array): void {
  for (let i = 0; i < y.length; i++) y[i] = lut[x[i]! + 128]!;
}

export function quantizeF32I8(x: Float32Array, y: Int8Array, scale: number, invScale: number, zp: number): void {
  const s = Math.fround(scale);
  for (let i = 0; i < y.length; i++) {
    const v = invScale !== 0 ? Math.fround(x[i]! * invScale) : Math.fround(x[i]! / s);
    let q: number;
    if (v !== v) q = zp;
    else if (v >= 1e9) q = 127;
    else if (v <= -1e9) q = -128;
    else q = (invScale !== 0 ? roundHalfEven(v) : roundHalfAway(v)) + zp;
    y[i] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
}

export function dequantizeI8F32(x: Int8Array, y: Float32Array, scale: number, zp: number): void {
  for (let i = 0; i < y.length; i++) y[i] = scale * (x[i]! - zp);
}

/** Broadcast rule shared by ADD/MUL: an operand of `n` elements repeats every `n` output elements. */
export function addF32(a: Float32Array, b: Float32Array, y: Float32Array, lo: number, hi: number): void {
  const na = a.length;
  const nb = b.length;
  for (let i = 0; i < y.length; i++) {
    const s = a[na === y.length ? i : i % na]! + b[nb === y.length ? i : i % nb]!;
    y[i] = s < lo ? lo : s > hi ? hi : s;
  }
}

export function mulF32(a: Float32Array, b: Float32Array, y: Float32Array, lo: number, hi: number): void {
  const na = a.length;
  const nb = b.length;
  for (let i = 0; i < y.length; i++) {
    const s = a[na === y.length ? i : i % na]! * b[nb === y.length ? i : i % nb]!;
    y[i] = s < lo ? lo : s > hi ? hi : s;
  }
}

export interface AddI8Params {
  aZp: number; bZp: number; outZp: number; leftShift: number;
  aMult: number; aShift: number; bMult: number; bShift: number; outMult: number; outShift: number;
  lo: number; hi: number;
}

/** TFLite reference int8 ADD (left shift 20, three fixed-point rescales). */
export function addI8(a: Int8Array, b: Int8Array, y: Int8Array, p: AddI8Params): void {
  const na = a.length;
  const nb = b.length;
  const ls = 1 << p.leftShift;
  for (let i = 0; i < y.length; i++) {
    const av = a[na === y.length ? i : i % na]! - p.aZp;
    const bv = b[nb === y.length ? i : i % nb]! - p.bZp;
    const sa = mulByQuantizedMultiplier(Math.imul(av, ls), p.aMult, p.aShift);
    const sb = mulByQuantizedMultiplier(Math.imul(bv, ls), p.bMult, p.bShift);
    let v = mulByQuantizedMultiplier((sa + sb) | 0, p.outMult, p.outShift) + p.outZp;
    v = v < p.lo ? p.lo : v > p.hi ? p.hi : v;
    y[i] = v;
  }
}

export interface MulI8Params { aZp: number; bZp: number; outZp: number; mult: number; shift: number; fpScale: number; lo: number; hi: number }

/** TFLite reference int8 MUL. */
export function mulI8(a: Int8Array, b: Int8Array, y: Int8Array, p: MulI8Params): void {
  const na = a.length;
  const nb = b.length;
  for (let i = 0; i < y.length; i++) {
    const av = a[na === y.length ? i : i % na]! - p.aZp;
    const bv = b[nb === y.length ? i : i % nb]! - p.bZp;
    let v = (p.fpScale !== 0 ? roundHalfEven(Math.fround(av * bv * p.fpScale)) : mulByQuantizedMultiplier(av * bv, p.mult, p.shift)) + p.outZp;
    v = v < p.lo ? p.lo : v > p.hi ? p.hi : v;
    y[i] = v;
  }
}

/**
 * CONCATENATION of `parts` along an axis: the output is `outer` blocks; block k holds, for each part,
 * `chunk[p]` consecutive elements. Float and int8 with equal quantization are straight copies.
 */
export function concatCopy<T extends Float32Array | Int8Array>(parts: readonly T[], chunks: readonly number[], y: T, outer: number): void {
  let o = 0;
  for (let k = 0; k < outer; k++) {
    for (let p = 0; p < parts.length; p++) {
      const c = chunks[p]!;
      const src = parts[p]!;
      const base = k * c;
      for (let i = 0; i < c; i++) y[o + i] = src[base + i]!;
      o += c;
    }
  }
}

/** int8 CONCATENATION where an input's quantization differs from the output's (TFLite ConcatenationWithScaling). */
export function concatI8Scaled(parts: readonly Int8Array[], chunks: readonly number[], y: Int8Array, outer: number,
  scales: readonly number[], zps: readonly number[], outScale: number, outZp: number): void {
  const inv = Math.fround(1 / outScale);
  let o = 0;
  for (let k = 0; k < outer; k++) {
    for (let p = 0; p < parts.length; p++) {
      const c = chunks[p]!;
      const src = parts[p]!;
      const base = k * c;
      const sIn = scales[p]!;
      const zIn = zps[p]!;
      if (sIn === outScale && zIn === outZp) {
        for (let i = 0; i < c; i++) y[o + i] = src[base + i]!;
      } else {
        const scale = Math.fround(sIn * inv);
        const bias = Math.fround(-zIn * scale);
        for (let i = 0; i < c; i++) {
          const v = roundHalfAway(Math.fround(Math.fround(src[base + i]! * scale) + bias)) + outZp;
          y[o + i] = v < -128 ? -128 : v > 127 ? 127 : v;
        }
      }
      o += c;
    }
  }
}

/**
 * Geometry of one BATCH_MATMUL: out[b, m, n] = Σ_k X[b, m, k] · Y[b, k, n], where X is stored
 * [B, M, K] (or [B, K, M] with adjX) and Y [B, K, N] (or [B, N, K] with adjY).
 */
export interface BmmDims { batch: number; m: number; k: number; n: number; adjX: boolean; adjY: boolean }

/** f32 BATCH_MATMUL, accumulating in doubles. */
export function bmmF32(x: Float32Array, y: Float32Array, out: Float32Array, d: BmmDims): void {
  const { batch, m: M, k: K, n: N } = d;
  // scalar strides (no destructured pairs: this runs per invoke and must not allocate)
  const xm = d.adjX ? 1 : K, xk = d.adjX ? M : 1;
  const yk = d.adjY ? 1 : N, yn = d.adjY ? K : 1;
  for (let b = 0; b < batch; b++) {
    const xb = b * M * K, yb = b * K * N, ob = b * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[xb + i * xm + k * xk]! * y[yb + k * yk + j * yn]!;
        out[ob + i * N + j] = s;
      }
    }
  }
}

export interface BmmI8Params { xZp: number; yZp: number; outZp: number; mult: number; shift: number }

/** int8 BATCH_MATMUL: Σ (x − xZp)(y − yZp) in int32, requantized like FULLY_CONNECTED (TFLite reference). */
export function bmmI8(x: Int8Array, y: Int8Array, out: Int8Array, d: BmmDims, p: BmmI8Params): void {
  const { batch, m: M, k: K, n: N } = d;
  // scalar strides (no destructured pairs: this runs per invoke and must not allocate)
  const xm = d.adjX ? 1 : K, xk = d.adjX ? M : 1;
  const yk = d.adjY ? 1 : N, yn = d.adjY ? K : 1;
  for (let b = 0; b < batch; b++) {
    const xb = b * M * K, yb = b * K * N, ob = b * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += (x[xb + i * xm + k * xk]! - p.xZp) * (y[yb + k * yk + j * yn]! - p.yZp);
        const v = mulByQuantizedMultiplier(acc | 0, p.mult, p.shift) + p.outZp;
        out[ob + i * N + j] = v < -128 ? -128 : v > 127 ? 127 : v;
      }
    }
  }
}

/** f32 SOFTMAX over the last axis (rows of `last`): exp(β(x − max)) / Σ, in doubles. */
export function softmaxF32(x: Float32Array, y: Float32Array, last: number, beta: number): void {
  for (let r = 0; r < x.length; r += last) {
    let mx = -Infinity;
    for (let j = 0; j < last; j++) mx = Math.max(mx, x[r + j]!);
    let s = 0;
    for (let j = 0; j < last; j++) { const e = Math.exp(beta * (x[r + j]! - mx)); y[r + j] = e; s += e; }
    const inv = 1 / s;
    for (let j = 0; j < last; j++) y[r + j] = y[r + j]! * inv;
  }
}

/**
 * int8 SOFTMAX over the last axis, TFLite's optimized (float lookup table) kernel: table[255 − d] =
 * exp(−inScale·β·d) for the distance d = max − x (prepared once, `softmaxTable`), the row sum and
 * 1 / (sum · outScale) in float32, each output round-half-away(table · inv) + outZp.
 */
export function softmaxI8(x: Int8Array, y: Int8Array, last: number, table: Float32Array, outScale: number, outZp: number): void {
  const f = Math.fround;
  for (let r = 0; r < x.length; r += last) {
    let mx = -128;
    for (let j = 0; j < last; j++) mx = Math.max(mx, x[r + j]!);
    const off = 255 - mx;
    let s = 0;
    for (let j = 0; j < last; j++) s = f(s + table[off + x[r + j]!]!);
    const inv = f(1 / f(s * outScale));
    for (let j = 0; j < last; j++) {
      const v = roundHalfAway(f(table[off + x[r + j]!]! * inv)) + outZp;
      y[r + j] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
  }
}

/** The int8 SOFTMAX table (TFLite PopulateSoftmaxLookupTable): table[255 − d] = expf(−inScale·β·d), d in [0, 255]. */
export function softmaxTable(inScale: number, beta: number): Float32Array {
  const t = new Float32Array(256);
  const scale = Math.fround(-Math.fround(inScale) * Math.fround(beta));
  for (let d = 0; d <= 255; d++) t[255 - d] = Math.exp(Math.fround(scale * d));
  return t;
}
