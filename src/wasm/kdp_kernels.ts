// kdp-edge runtime kernels (AssemblyScript → WebAssembly SIMD).
//
// Built by scripts/build-wasm.mjs with `--enable simd -O3 --runtime stub --importMemory`.
// Every function works on byte offsets into the imported memory; the TypeScript interpreter
// (src/planner/runtime/) owns the arena layout. Nothing here allocates: there is no heap, only the
// linear memory the host grew once at allocate().
//
// Layouts
//   f32 FULLY_CONNECTED: x [n, inDim] f32, w [outDim, inDim] f32 row-major, b [outDim] f32, y [n, outDim].
//   int8 FULLY_CONNECTED: the input is first widened by expand_i8 into xs [n, inPad] i16 holding
//     (x - inputZeroPoint), zero-padded to inPad (a multiple of 8); w is pre-packed at allocate as
//     [outDim, inPad] i8 (zero-padded), bias [outDim] i32; the output is requantized exactly like
//     TFLite's reference MultiplyByQuantizedMultiplier (SaturatingRoundingDoublingHighMul followed by
//     RoundingDivideByPOT), then offset and clamped.

import { mulQ, requant4, requantSel, store8 } from './lib/requant';

/** First byte the host may use for its arena (past this module's static data). */
export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------- f32 fully connected

@inline function clampf(v: f32, lo: f32, hi: f32): f32 {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Interleave blocks of 4 candidates for fc_f32: xi[block][i][4] f32 (16 bytes a step), so one pointer
 * with immediate offsets broadcasts x[c][i] for all four. Remaining n % 4 candidates are not copied.
 */
export function interleave_f32(x: usize, xi: usize, n: i32, inDim: i32): void {
  const blocks = n >> 2;
  const rowBytes = <usize>inDim << 2;
  for (let b = 0; b < blocks; b++) {
    const x0 = x + <usize>(b << 2) * rowBytes;
    let dst = xi + <usize>b * (rowBytes << 2);
    for (let i = 0; i < inDim; i++) {
      const off = <usize>i << 2;
      store<f32>(dst, load<f32>(x0 + off));
      store<f32>(dst, load<f32>(x0 + rowBytes + off), 4);
      store<f32>(dst, load<f32>(x0 + 2 * rowBytes + off), 8);
      store<f32>(dst, load<f32>(x0 + 3 * rowBytes + off), 12);
      dst += 16;
    }
  }
}

@inline function store8f(y: usize, o: i32, outDim: i32, lo: v128, hi: v128): void {
  const p = y + (<usize>o << 2);
  if (o + 8 <= outDim) {
    v128.store(p, lo);
    v128.store(p, hi, 16);
  } else {
    if (o < outDim) store<f32>(p, f32x4.extract_lane(lo, 0));
    if (o + 1 < outDim) store<f32>(p, f32x4.extract_lane(lo, 1), 4);
    if (o + 2 < outDim) store<f32>(p, f32x4.extract_lane(lo, 2), 8);
    if (o + 3 < outDim) store<f32>(p, f32x4.extract_lane(lo, 3), 12);
    if (o + 4 < outDim) store<f32>(p, f32x4.extract_lane(hi, 0), 16);
    if (o + 5 < outDim) store<f32>(p, f32x4.extract_lane(hi, 1), 20);
    if (o + 6 < outDim) store<f32>(p, f32x4.extract_lane(hi, 2), 24);
  }
}

/**
 * f32 FULLY_CONNECTED, outer-product form. Weights pre-packed at allocate as [outPad/8][inDim][8] f32
 * (zero-padded outputs), bias as outPad f32 (zero-padded). Blocks of 4 candidates (interleaved by
 * interleave_f32 into xi) × 8 outputs: per input, 2 weight loads feed 4 broadcast inputs (8
 * accumulators of output lanes, no horizontal sums). Remaining candidates: 1 × 16 outputs from x.
 */
export function fc_f32(x: usize, xi: usize, w: usize, b: usize, y: usize, n: i32, inDim: i32, outDim: i32,
  hasBias: i32, actMin: f32, actMax: f32): void {
  const groups = (outDim + 7) >> 3;
  const groupBytes = <usize>inDim << 5;
  const rowBytes = <usize>inDim << 2;
  const yStride = <usize>outDim << 2;
  const vlo = f32x4.splat(actMin);
  const vhi = f32x4.splat(actMax);
  const zero = f32x4.splat(0);
  const blocks = n >> 2;
  for (let cb = 0; cb < blocks; cb++) {
    const xb = xi + <usize>cb * (rowBytes << 2);
    const xe = xb + (rowBytes << 2);
    const y0 = y + <usize>(cb << 2) * yStride;
    for (let g = 0; g < groups; g++) {
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      let b0 = zero, b1 = zero, b2 = zero, b3 = zero;
      let pw = w + <usize>g * groupBytes;
      for (let px = xb; px < xe; px += 16) {
        const wl = v128.load(pw);
        const wh = v128.load(pw, 16);
        const p0 = v128.load32_splat(px);
        const p1 = v128.load32_splat(px, 4);
        const p2 = v128.load32_splat(px, 8);
        const p3 = v128.load32_splat(px, 12);
        a0 = f32x4.add(a0, f32x4.mul(p0, wl)); b0 = f32x4.add(b0, f32x4.mul(p0, wh));
        a1 = f32x4.add(a1, f32x4.mul(p1, wl)); b1 = f32x4.add(b1, f32x4.mul(p1, wh));
        a2 = f32x4.add(a2, f32x4.mul(p2, wl)); b2 = f32x4.add(b2, f32x4.mul(p2, wh));
        a3 = f32x4.add(a3, f32x4.mul(p3, wl)); b3 = f32x4.add(b3, f32x4.mul(p3, wh));
        pw += 32;
      }
      const o = g << 3;
      if (hasBias) {
        const bl = v128.load(b + (<usize>o << 2));
        const bh = v128.load(b + (<usize>o << 2), 16);
        a0 = f32x4.add(a0, bl); a1 = f32x4.add(a1, bl); a2 = f32x4.add(a2, bl); a3 = f32x4.add(a3, bl);
        b0 = f32x4.add(b0, bh); b1 = f32x4.add(b1, bh); b2 = f32x4.add(b2, bh); b3 = f32x4.add(b3, bh);
      }
      store8f(y0, o, outDim, f32x4.pmin(f32x4.pmax(a0, vlo), vhi), f32x4.pmin(f32x4.pmax(b0, vlo), vhi));
      store8f(y0 + yStride, o, outDim, f32x4.pmin(f32x4.pmax(a1, vlo), vhi), f32x4.pmin(f32x4.pmax(b1, vlo), vhi));
      store8f(y0 + 2 * yStride, o, outDim, f32x4.pmin(f32x4.pmax(a2, vlo), vhi), f32x4.pmin(f32x4.pmax(b2, vlo), vhi));
      store8f(y0 + 3 * yStride, o, outDim, f32x4.pmin(f32x4.pmax(a3, vlo), vhi), f32x4.pmin(f32x4.pmax(b3, vlo), vhi));
    }
  }
  for (let c = blocks << 2; c < n; c++) {
    const xc = x + <usize>c * rowBytes;
    const xe = xc + rowBytes;
    const yc = y + <usize>c * yStride;
    let g = 0;
    for (; g + 2 <= groups; g += 2) {
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      let pw = w + <usize>g * groupBytes;
      let pv = pw + groupBytes;
      for (let px = xc; px < xe; px += 4) {
        const p = v128.load32_splat(px);
        a0 = f32x4.add(a0, f32x4.mul(p, v128.load(pw)));
        a1 = f32x4.add(a1, f32x4.mul(p, v128.load(pw, 16)));
        a2 = f32x4.add(a2, f32x4.mul(p, v128.load(pv)));
        a3 = f32x4.add(a3, f32x4.mul(p, v128.load(pv, 16)));
        pw += 32;
        pv += 32;
      }
      const o = g << 3;
      if (hasBias) {
        const bo = b + (<usize>o << 2);
        a0 = f32x4.add(a0, v128.load(bo)); a1 = f32x4.add(a1, v128.load(bo, 16));
        a2 = f32x4.add(a2, v128.load(bo, 32)); a3 = f32x4.add(a3, v128.load(bo, 48));
      }
      store8f(yc, o, outDim, f32x4.pmin(f32x4.pmax(a0, vlo), vhi), f32x4.pmin(f32x4.pmax(a1, vlo), vhi));
      store8f(yc, o + 8, outDim, f32x4.pmin(f32x4.pmax(a2, vlo), vhi), f32x4.pmin(f32x4.pmax(a3, vlo), vhi));
    }
    if (g < groups) {
      let a0 = zero, a1 = zero;
      let pw = w + <usize>g * groupBytes;
      for (let px = xc; px < xe; px += 4) {
        const p = v128.load32_splat(px);
        a0 = f32x4.add(a0, f32x4.mul(p, v128.load(pw)));
        a1 = f32x4.add(a1, f32x4.mul(p, v128.load(pw, 16)));
        pw += 32;
      }
      const o = g << 3;
      if (hasBias) {
        a0 = f32x4.add(a0, v128.load(b + (<usize>o << 2)));
        a1 = f32x4.add(a1, v128.load(b + (<usize>o << 2), 16));
      }
      store8f(yc, o, outDim, f32x4.pmin(f32x4.pmax(a0, vlo), vhi), f32x4.pmin(f32x4.pmax(a1, vlo), vhi));
    }
  }
}

// ---------------------------------------------------------------- int8 fully connected

export function mul_by_quantized_multiplier(acc: i32, mult: i32, shift: i32): i32 {
  return mulQ(acc, mult, shift);
}

/**
 * Widen the int8 input to (x - zp) as i16, zero-padded to inPad (a multiple of 8), in the layout
 * fc_i8 reads: candidates in full blocks of 4 are interleaved per input pair ([inPad/2][4][2] i16,
 * 16 bytes a step, so one pointer with immediate offsets reaches all four); the remaining n % 4
 * candidates follow as plain rows of inPad i16.
 */
export function expand_i8(x: usize, xs: usize, n: i32, inDim: i32, inPad: i32, zp: i32): void {
  const zpv = i16x8.splat(<i16>zp);
  const blocks = n >> 2;
  const inDim8 = inDim & ~7;
  for (let c = 0; c < n; c++) {
    const src = x + <usize>c * <usize>inDim;
    if ((c >> 2) < blocks) {
      // pair j of candidate c goes to block + j*16 + (c&3)*4
      let dst = xs + (<usize>(c >> 2) * <usize>inPad << 3) + (<usize>(c & 3) << 2);
      let i = 0;
      for (; i < inDim8; i += 8) {
        const v = i16x8.sub(v128.load8x8_s(src + <usize>i), zpv);
        store<i32>(dst, i32x4.extract_lane(v, 0));
        store<i32>(dst, i32x4.extract_lane(v, 1), 16);
        store<i32>(dst, i32x4.extract_lane(v, 2), 32);
        store<i32>(dst, i32x4.extract_lane(v, 3), 48);
        dst += 64;
      }
      for (; i < inPad; i += 2) {
        const a = i < inDim ? <i32>load<i8>(src + <usize>i) - zp : 0;
        const b = i + 1 < inDim ? <i32>load<i8>(src + <usize>(i + 1)) - zp : 0;
        store<i32>(dst, (a & 0xffff) | (b << 16));
        dst += 16;
      }
    } else {
      let dst = xs + (<usize>blocks * <usize>inPad << 3) + (<usize>(c - (blocks << 2)) * <usize>inPad << 1);
      let i = 0;
      for (; i < inDim8; i += 8) {
        v128.store(dst, i16x8.sub(v128.load8x8_s(src + <usize>i), zpv));
        dst += 16;
      }
      for (; i < inPad; i++) {
        store<i16>(dst, <i16>(i < inDim ? <i32>load<i8>(src + <usize>i) - zp : 0));
        dst += 2;
      }
    }
  }
}

/** 8 packed weights (one input pair of 4 outputs, 2 of them): i8 widened on load, or pre-widened i16. */
@inline function wLo<W>(p: usize): v128 { return sizeof<W>() == 1 ? v128.load8x8_s(p) : v128.load(p); }
@inline function wHi<W>(p: usize): v128 { return sizeof<W>() == 1 ? v128.load8x8_s(p, 8) : v128.load(p, 16); }

/**
 * fc_i8's rows outside blocks of 4: candidates [c, n) as plain rows of inPad i16 at xr (row 0 =
 * candidate `first`), 1 candidate × 16 (or 8) outputs per pass. W: the packed weights' element type.
 */
@inline function fcRows<W>(xr: usize, w: usize, bias: usize, y: usize, c: i32, first: i32, n: i32, pairs: i32, groups: i32,
  outDim: i32, hasBias: i32, mult: i32, shift: i32, fpScale: f32, outZp: i32, actMin: i32, actMax: i32): void {
  const step: usize = 16 * sizeof<W>(); // bytes per input pair of 8 outputs
  const groupBytes = <usize>pairs * step;
  const xStride = <usize>pairs << 2;
  const yStride = <usize>outDim;
  const zero = i32x4.splat(0);
  const end = <usize>pairs << 2;
  for (; c < n; c++) {
    const xc = xr + <usize>(c - first) * xStride;
    const yc = y + <usize>c * yStride;
    let g = 0;
    for (; g + 2 <= groups; g += 2) {
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      let pw = w + <usize>g * groupBytes;
      let pv = pw + groupBytes;
      for (let off: usize = 0; off < end; off += 4) {
        const p = v128.load32_splat(xc + off);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(p, wLo<W>(pw)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(p, wHi<W>(pw)));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(p, wLo<W>(pv)));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(p, wHi<W>(pv)));
        pw += step;
        pv += step;
      }
      const o = g << 3;
      if (hasBias) {
        const bo = bias + (<usize>o << 2);
        a0 = i32x4.add(a0, v128.load(bo)); a1 = i32x4.add(a1, v128.load(bo, 16));
        a2 = i32x4.add(a2, v128.load(bo, 32)); a3 = i32x4.add(a3, v128.load(bo, 48));
      }
      store8(yc, o, outDim, requantSel(a0, mult, shift, fpScale, outZp, actMin, actMax), requantSel(a1, mult, shift, fpScale, outZp, actMin, actMax));
      store8(yc, o + 8, outDim, requantSel(a2, mult, shift, fpScale, outZp, actMin, actMax), requantSel(a3, mult, shift, fpScale, outZp, actMin, actMax));
    }
    if (g < groups) {
      let a0 = zero, a1 = zero;
      let pw = w + <usize>g * groupBytes;
      for (let off: usize = 0; off < end; off += 4) {
        const p = v128.load32_splat(xc + off);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(p, wLo<W>(pw)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(p, wHi<W>(pw)));
        pw += step;
      }
      const o = g << 3;
      if (hasBias) {
        a0 = i32x4.add(a0, v128.load(bias + (<usize>o << 2)));
        a1 = i32x4.add(a1, v128.load(bias + (<usize>o << 2), 16));
      }
      store8(yc, o, outDim, requantSel(a0, mult, shift, fpScale, outZp, actMin, actMax), requantSel(a1, mult, shift, fpScale, outZp, actMin, actMax));
    }
  }
}

/**
 * int8 FULLY_CONNECTED, "outer product" form. The weights are pre-packed at allocate, widened to i16,
 * as [outPad/8][inPad/2][8 outputs][2 inputs] (32 bytes a step; zero-padded). Each step broadcasts one
 * input pair (x[2j], x[2j+1]) of a candidate and multiplies it with the pairs of 8 outputs with
 * i32x4.dot_i16x8_s, so the accumulators already hold output lanes (no horizontal reductions).
 * Blocks of 4 candidates × 8 outputs share each weight load 4 times; remaining candidates run
 * 1 candidate × 16 (or 8) outputs. With w8 != 0 (only for n < 4) the weights stay int8 in the same
 * order and are widened on load (v128.load8x8_s). Requantization per `requantSel`.
 */
export function fc_i8(xs: usize, w: usize, bias: usize, y: usize, n: i32, inPad: i32, outDim: i32,
  hasBias: i32, mult: i32, shift: i32, fpScale: f32, outZp: i32, actMin: i32, actMax: i32, w8: i32): void {
  const pairs = inPad >> 1;
  const groups = (outDim + 7) >> 3;
  const groupBytes = <usize>pairs << 5;
  const yStride = <usize>outDim;
  const zero = i32x4.splat(0);
  const blocks = n >> 2;
  const blockBytes = <usize>inPad << 3;
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    const xb = xs + <usize>(c >> 2) * blockBytes;
    const xe = xb + blockBytes;
    const y0 = y + <usize>c * yStride;
    for (let g = 0; g < groups; g++) {
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      let b0 = zero, b1 = zero, b2 = zero, b3 = zero;
      let pw = w + <usize>g * groupBytes;
      for (let px = xb; px < xe; px += 16) {
        const wl = v128.load(pw);
        const wh = v128.load(pw, 16);
        const p0 = v128.load32_splat(px);
        const p1 = v128.load32_splat(px, 4);
        const p2 = v128.load32_splat(px, 8);
        const p3 = v128.load32_splat(px, 12);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(p0, wl)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(p0, wh));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(p1, wl)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(p1, wh));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(p2, wl)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(p2, wh));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(p3, wl)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(p3, wh));
        pw += 32;
      }
      const o = g << 3;
      if (hasBias) {
        const bl = v128.load(bias + (<usize>o << 2));
        const bh = v128.load(bias + (<usize>o << 2), 16);
        a0 = i32x4.add(a0, bl); a1 = i32x4.add(a1, bl); a2 = i32x4.add(a2, bl); a3 = i32x4.add(a3, bl);
        b0 = i32x4.add(b0, bh); b1 = i32x4.add(b1, bh); b2 = i32x4.add(b2, bh); b3 = i32x4.add(b3, bh);
      }
      store8(y0, o, outDim, requantSel(a0, mult, shift, fpScale, outZp, actMin, actMax), requantSel(b0, mult, shift, fpScale, outZp, actMin, actMax));
      store8(y0 + yStride, o, outDim, requantSel(a1, mult, shift, fpScale, outZp, actMin, actMax), requantSel(b1, mult, shift, fpScale, outZp, actMin, actMax));
      store8(y0 + 2 * yStride, o, outDim, requantSel(a2, mult, shift, fpScale, outZp, actMin, actMax), requantSel(b2, mult, shift, fpScale, outZp, actMin, actMax));
      store8(y0 + 3 * yStride, o, outDim, requantSel(a3, mult, shift, fpScale, outZp, actMin, actMax), requantSel(b3, mult, shift, fpScale, outZp, actMin, actMax));
    }
  }
  // remaining candidates, 1 × 16 (or 8) outputs; weights kept int8 (only for n < 4) or pre-widened
  const xr = xs + <usize>blocks * blockBytes;
  if (w8) fcRows<i8>(xr, w, bias, y, c, blocks << 2, n, pairs, groups, outDim, hasBias, mult, shift, fpScale, outZp, actMin, actMax);
  else fcRows<i16>(xr, w, bias, y, c, blocks << 2, n, pairs, groups, outDim, hasBias, mult, shift, fpScale, outZp, actMin, actMax);
}

// ---------------------------------------------------------------- elementwise

export function clamp_f32(x: usize, y: usize, count: i32, lo: f32, hi: f32): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    // pmax(x, lo) / pmin(x, hi) map to single instructions and pass NaN through (x is the first operand)
    v128.store(y + off, f32x4.pmin(f32x4.pmax(v128.load(x + off), vlo), vhi));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, clampf(load<f32>(x + off), lo, hi));
  }
}

export function tanh_f32(x: usize, y: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, Mathf.tanh(load<f32>(x + off)));
  }
}

export function logistic_f32(x: usize, y: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, <f32>1 / (<f32>1 + Mathf.exp(-load<f32>(x + off))));
  }
}

/** int8 → int8 through a 256-entry table indexed by (q + 128). */
export function lut_i8(x: usize, y: usize, count: i32, lut: usize): void {
  for (let i = 0; i < count; i++) {
    store<i8>(y + <usize>i, load<i8>(lut + <usize>(<i32>load<i8>(x + <usize>i) + 128)));
  }
}

@inline function roundAway(v: f32): i32 {
  // TfLiteRound = std::round: half away from zero. f32 + 0.5 is exact in f64 for |v| < 2^29.
  const d = <f64>v;
  if (d >= 0) return <i32>Math.floor(d + 0.5);
  return -<i32>Math.floor(-d + 0.5);
}

/**
 * float32 → int8. TFLite reference (invScale == 0): q = clamp(round_half_away(x / scale) + zp).
 * XNNPACK (invScale != 0): q = clamp(round_half_even(x × invScale) + zp).
 */
export function quantize_f32_i8(x: usize, y: usize, count: i32, scale: f32, invScale: f32, zp: i32): void {
  if (invScale != 0) {
    const vs = f32x4.splat(invScale);
    const vz = i32x4.splat(zp);
    const lo = i32x4.splat(-128);
    const hi = i32x4.splat(127);
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const f = f32x4.nearest(f32x4.mul(v128.load(x + (<usize>i << 2)), vs));
      const q = i32x4.min_s(i32x4.max_s(i32x4.add(i32x4.trunc_sat_f32x4_s(f), vz), lo), hi);
      store<i8>(y + <usize>i, <i8>i32x4.extract_lane(q, 0));
      store<i8>(y + <usize>i + 1, <i8>i32x4.extract_lane(q, 1));
      store<i8>(y + <usize>i + 2, <i8>i32x4.extract_lane(q, 2));
      store<i8>(y + <usize>i + 3, <i8>i32x4.extract_lane(q, 3));
    }
    for (; i < count; i++) {
      const v: f32 = nearest<f32>(load<f32>(x + (<usize>i << 2)) * invScale);
      let q: i32 = v != v ? zp : v >= <f32>1e9 ? 127 : v <= <f32>-1e9 ? -128 : <i32>v + zp;
      store<i8>(y + <usize>i, <i8>(q < -128 ? -128 : q > 127 ? 127 : q));
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const v = load<f32>(x + (<usize>i << 2)) / scale;
    let q: i32;
    if (v != v) q = zp;
    else if (v >= <f32>1e9) q = 127;
    else if (v <= <f32>-1e9) q = -128;
    else q = roundAway(v) + zp;
    store<i8>(y + <usize>i, <i8>(q < -128 ? -128 : q > 127 ? 127 : q));
  }
}

/**
 * Dequantize: x = f32(scale × (q − zp)). (q − zp) is exact in f32 and a single f32 multiply is
 * correctly rounded, so this equals TFLite's double-precision product rounded to float.
 */
export function dequantize_i8_f32(x: usize, y: usize, count: i32, scale: f64, zp: i32): void {
  const s = <f32>scale;
  const vs = f32x4.splat(s);
  const vz = i32x4.splat(zp);
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const q16 = v128.load8x8_s(x + <usize>i);
    const lo = f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_low_i16x8_s(q16), vz));
    const hi = f32x4.convert_i32x4_s(i32x4.sub(i32x4.extend_high_i16x8_s(q16), vz));
    v128.store(y + (<usize>i << 2), f32x4.mul(lo, vs));
    v128.store(y + (<usize>i << 2), f32x4.mul(hi, vs), 16);
  }
  for (; i < count; i++) {
    store<f32>(y + (<usize>i << 2), <f32>(<i32>load<i8>(x + <usize>i) - zp) * s);
  }
}

// ---------------------------------------------------------------- binary elementwise (ADD, MUL)
// An operand with fewer elements than the output repeats every `na` (resp. `nb`) elements
// (trailing-dimension broadcast, e.g. [N, D] + [D]).

export function add_f32(a: usize, b: usize, y: usize, count: i32, na: i32, nb: i32, lo: f32, hi: f32): void {
  if (na == count && nb == count) {
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const off = <usize>i << 2;
      v128.store(y + off, f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(a + off), v128.load(b + off)), vlo), vhi));
    }
    for (; i < count; i++) {
      const off = <usize>i << 2;
      store<f32>(y + off, clampf(load<f32>(a + off) + load<f32>(b + off), lo, hi));
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const va = load<f32>(a + (<usize>(na == count ? i : i % na) << 2));
    const vb = load<f32>(b + (<usize>(nb == count ? i : i % nb) << 2));
    store<f32>(y + (<usize>i << 2), clampf(va + vb, lo, hi));
  }
}

export function mul_f32(a: usize, b: usize, y: usize, count: i32, na: i32, nb: i32, lo: f32, hi: f32): void {
  if (na == count && nb == count) {
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const off = <usize>i << 2;
      v128.store(y + off, f32x4.pmin(f32x4.pmax(f32x4.mul(v128.load(a + off), v128.load(b + off)), vlo), vhi));
    }
    for (; i < count; i++) {
      const off = <usize>i << 2;
      store<f32>(y + off, clampf(load<f32>(a + off) * load<f32>(b + off), lo, hi));
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const va = load<f32>(a + (<usize>(na == count ? i : i % na) << 2));
    const vb = load<f32>(b + (<usize>(nb == count ? i : i % nb) << 2));
    store<f32>(y + (<usize>i << 2), clampf(va * vb, lo, hi));
  }
}

/**
 * TFLite reference int8 ADD: both inputs shifted left by `leftShift`, rescaled to a common scale
 * with their own fixed-point multipliers, summed, rescaled to the output.
 */
export function add_i8(a: usize, b: usize, y: usize, count: i32, na: i32, nb: i32,
  aZp: i32, bZp: i32, leftShift: i32, aMult: i32, aShift: i32, bMult: i32, bShift: i32,
  outMult: i32, outShift: i32, outZp: i32, lo: i32, hi: i32): void {
  let i = 0;
  if (na == count && nb == count) {
    // 4 elements a step through the vectorized MultiplyByQuantizedMultiplier (bit-identical to mulQ)
    const azv = i32x4.splat(aZp), bzv = i32x4.splat(bZp);
    for (; i + 4 <= count; i += 4) {
      const av = i32x4.sub(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(a + <usize>i))), azv);
      const bv = i32x4.sub(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(b + <usize>i))), bzv);
      const sa = requant4(i32x4.shl(av, leftShift), aMult, aShift, 0, i32.MIN_VALUE, i32.MAX_VALUE);
      const sb = requant4(i32x4.shl(bv, leftShift), bMult, bShift, 0, i32.MIN_VALUE, i32.MAX_VALUE);
      const r = requant4(i32x4.add(sa, sb), outMult, outShift, outZp, lo, hi);
      store<i32>(y + <usize>i, i32x4.extract_lane(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r, r), i16x8.splat(0)), 0));
    }
  }
  for (; i < count; i++) {
    const av = <i32>load<i8>(a + <usize>(na == count ? i : i % na)) - aZp;
    const bv = <i32>load<i8>(b + <usize>(nb == count ? i : i % nb)) - bZp;
    const sa = mulQ(av << leftShift, aMult, aShift);
    const sb = mulQ(bv << leftShift, bMult, bShift);
    let v = mulQ(sa + sb, outMult, outShift) + outZp;
    store<i8>(y + <usize>i, <i8>(v < lo ? lo : v > hi ? hi : v));
  }
}

/** int8 MUL: (a - aZp)(b - bZp) requantized (fixed-point, or fp32 scale when fpScale != 0). */
export function mul_i8(a: usize, b: usize, y: usize, count: i32, na: i32, nb: i32,
  aZp: i32, bZp: i32, mult: i32, shift: i32, fpScale: f32, outZp: i32, lo: i32, hi: i32): void {
  for (let i = 0; i < count; i++) {
    const av = <i32>load<i8>(a + <usize>(na == count ? i : i % na)) - aZp;
    const bv = <i32>load<i8>(b + <usize>(nb == count ? i : i % nb)) - bZp;
    const p = av * bv;
    let v: i32 = fpScale != 0 ? <i32>nearest<f32>(<f32>p * fpScale) : mulQ(p, mult, shift);
    v += outZp;
    store<i8>(y + <usize>i, <i8>(v < lo ? lo : v > hi ? hi : v));
  }
}

// ---------------------------------------------------------------- data movement (CONCATENATION, RESHAPE)

/** Copy `rows` chunks of `chunk` bytes: src is dense, dst rows are `dstStride` apart. */
export function copy_rows(src: usize, dst: usize, rows: i32, chunk: i32, dstStride: i32): void {
  for (let r = 0; r < rows; r++) {
    memory.copy(dst + <usize>r * <usize>dstStride, src + <usize>r * <usize>chunk, <usize>chunk);
  }
}

// ---------------------------------------------------------------- BATCH_MATMUL, SOFTMAX (attention)
//
// out[b, m, n] = Σ_k X[b, m, k] · Y[b, k, n]; X stored [B, M, K] ([B, K, M] with adjX), Y stored
// [B, K, N] ([B, N, K] with adjY), out [B, M, N]. Strides cover the four layouts with one loop.

/** f32 BATCH_MATMUL (f32 accumulation). */
export function bmm_f32(x: usize, y: usize, out: usize, batch: i32, M: i32, K: i32, N: i32, adjX: i32, adjY: i32): void {
  const xm: usize = adjX ? 4 : <usize>K << 2, xk: usize = adjX ? <usize>M << 2 : 4;
  const yk: usize = adjY ? 4 : <usize>N << 2, yn: usize = adjY ? <usize>K << 2 : 4;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>b * <usize>(M * K) * 4, yb = y + <usize>b * <usize>(K * N) * 4;
    let po = out + <usize>b * <usize>(M * N) * 4;
    for (let i = 0; i < M; i++) {
      const xi = xb + <usize>i * xm;
      for (let j = 0; j < N; j++) {
        let px = xi, py = yb + <usize>j * yn;
        let s: f32 = 0;
        for (let k = 0; k < K; k++) { s += load<f32>(px) * load<f32>(py); px += xk; py += yk; }
        store<f32>(po, s);
        po += 4;
      }
    }
  }
}

/**
 * int8 BATCH_MATMUL: Σ (x − xZp)(y − yZp) in i32, requantized with TFLite's fixed-point multiplier, full
 * int8 range. Per batch both operands are first packed into `scratch` as i16 rows with the reduction
 * dim contiguous and the zero points subtracted — X as [M][kPad], Y as [N][kPad], kPad = K rounded up
 * to 8, zero-padded — so every output is one i32x4.dot_i16x8_s loop whatever the adj flags (exact:
 * |x − zp| ≤ 255, so each pair sum fits an i32). `scratch` holds (M + N) · kPad i16.
 */
export function bmm_i8(x: usize, y: usize, out: usize, batch: i32, M: i32, K: i32, N: i32, adjX: i32, adjY: i32,
  xZp: i32, yZp: i32, mult: i32, shift: i32, outZp: i32, scratch: usize): void {
  const kPad = (K + 7) & ~7;
  const rowBytes = <usize>kPad << 1;
  const xs = scratch, ys = scratch + <usize>M * rowBytes;
  memory.fill(scratch, 0, <usize>(M + N) * rowBytes);
  // element strides (bytes) of the stored operands along (row, k)
  const xm: usize = adjX ? 1 : <usize>K, xk: usize = adjX ? <usize>M : 1;
  const yn: usize = adjY ? <usize>K : 1, yk: usize = adjY ? 1 : <usize>N;
  for (let b = 0; b < batch; b++) {
    packI16(x + <usize>b * <usize>(M * K), xs, M, K, xm, xk, xZp, rowBytes);
    packI16(y + <usize>b * <usize>(K * N), ys, N, K, yn, yk, yZp, rowBytes);
    let po = out + <usize>b * <usize>(M * N);
    for (let i = 0; i < M; i++) {
      const xr = xs + <usize>i * rowBytes;
      let j = 0;
      // four outputs at a time: four dot accumulators, one horizontal reduction, vector requantization
      for (; j + 4 <= N; j += 4) {
        const y0 = ys + <usize>j * rowBytes;
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        for (let o: usize = 0; o < rowBytes; o += 16) {
          const xv = v128.load(xr + o);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xv, v128.load(y0 + o)));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xv, v128.load(y0 + rowBytes + o)));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xv, v128.load(y0 + 2 * rowBytes + o)));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xv, v128.load(y0 + 3 * rowBytes + o)));
        }
        const s01 = i32x4.add(v128.shuffle<i32>(a0, a1, 0, 1, 4, 5), v128.shuffle<i32>(a0, a1, 2, 3, 6, 7));
        const s23 = i32x4.add(v128.shuffle<i32>(a2, a3, 0, 1, 4, 5), v128.shuffle<i32>(a2, a3, 2, 3, 6, 7));
        const sums = i32x4.add(v128.shuffle<i32>(s01, s23, 0, 2, 4, 6), v128.shuffle<i32>(s01, s23, 1, 3, 5, 7));
        const r = requant4(sums, mult, shift, outZp, -128, 127);
        store<i32>(po, i32x4.extract_lane(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r, r), r), 0));
        po += 4;
      }
      for (; j < N; j++) {
        const yr = ys + <usize>j * rowBytes;
        let acc = i32x4.splat(0);
        for (let o: usize = 0; o < rowBytes; o += 16) acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(xr + o), v128.load(yr + o)));
        const sum = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
        const v = mulQ(sum, mult, shift) + outZp;
        store<i8>(po, <i8>(v < -128 ? -128 : v > 127 ? 127 : v));
        po += 1;
      }
    }
  }
}

/** rows × K int8 (element (r, k) at src + r·rs + k·ks) → i16 rows of (v − zp) at dst, `rowBytes` apart (padding untouched). */
@inline function packI16(src: usize, dst: usize, rows: i32, K: i32, rs: usize, ks: usize, zp: i32, rowBytes: usize): void {
  const zv = i16x8.splat(<i16>zp);
  for (let r = 0; r < rows; r++) {
    let p = src + <usize>r * rs;
    const d = dst + <usize>r * rowBytes;
    let k = 0;
    if (ks == 1) for (; k + 8 <= K; k += 8) v128.store(d + (<usize>k << 1), i16x8.sub(v128.load8x8_s(p + <usize>k), zv));
    p += <usize>k * ks;
    for (; k < K; k++) { store<i16>(d + (<usize>k << 1), <i16>(<i32>load<i8>(p) - zp)); p += ks; }
  }
}

/** f32 SOFTMAX over rows of `last`: exp(β(x − max)) / Σ. */
export function softmax_f32(x: usize, y: usize, rows: i32, last: i32, beta: f32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * last) << 2), yr = y + (<usize>(r * last) << 2);
    let mx: f32 = -Infinity;
    for (let j = 0; j < last; j++) mx = max(mx, load<f32>(xr + (<usize>j << 2)));
    let s: f32 = 0;
    for (let j = 0; j < last; j++) {
      const e = Mathf.exp(beta * (load<f32>(xr + (<usize>j << 2)) - mx));
      store<f32>(yr + (<usize>j << 2), e);
      s += e;
    }
    const inv: f32 = <f32>1 / s;
    for (let j = 0; j < last; j++) store<f32>(yr + (<usize>j << 2), load<f32>(yr + (<usize>j << 2)) * inv);
  }
}

/**
 * int8 SOFTMAX over rows of `last`, TFLite's float lookup-table kernel: `table` holds 256 f32,
 * table[255 − d] = exp(−inScale·β·d); sum and 1 / (sum · outScale) in f32, outputs rounded half away
 * from zero. Same operations in the same order as the TypeScript reference: bit-identical.
 */
export function softmax_i8(x: usize, y: usize, rows: i32, last: i32, table: usize, outScale: f32, outZp: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>(r * last), yr = y + <usize>(r * last);
    let mx: i32 = -128;
    for (let j = 0; j < last; j++) mx = max(mx, <i32>load<i8>(xr + <usize>j));
    const t = table + (<usize>(255 - mx) << 2);
    let s: f32 = 0;
    for (let j = 0; j < last; j++) s += load<f32>(t + (<usize>(<i32>load<i8>(xr + <usize>j)) << 2));
    const inv: f32 = <f32>1 / (s * outScale);
    for (let j = 0; j < last; j++) {
      const v = roundAway(load<f32>(t + (<usize>(<i32>load<i8>(xr + <usize>j)) << 2)) * inv) + outZp;
      store<i8>(yr + <usize>j, <i8>(v < -128 ? -128 : v > 127 ? 127 : v));
    }
  }
}
