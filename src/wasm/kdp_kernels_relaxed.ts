// kdp-edge int8 FULLY_CONNECTED on relaxed-SIMD 8-bit dot products (AssemblyScript → WebAssembly).
//
// Built by scripts/build-wasm.mjs with `--enable simd,relaxed-simd` into its own module, so the main
// kernels still load on engines without relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd;
// src/planner/runtime/relaxed-simd.ts enables it, probes it and falls back). It imports the same memory
// as kdp_kernels.wasm and declares no static data, so it shares the arena without overlapping.
//
// Why: plain WASM SIMD has no 8-bit multiply, so kdp_kernels.fc_i8 widens to i16 and gets 8 MACs per
// multiply (i32x4.dot_i16x8_s = pmaddwd). i16x8.relaxed_dot_i8x16_i7x16_s does 16 (pmaddubsw on x64,
// smull + addp on arm64) and is deterministic on every engine while its second operand is in [0, 127].
// The multiply ports are the bottleneck, so the win comes from also halving the widening multiplies:
// with weights w in [-32, 31] (exporter `--weight-bits 6`; the file stays a standard int8 TFLite
// model) the second operand is w' = w + 32 in [0, 63], one dot lane is ≤ 2·128·63 = 16128 in
// magnitude, two lanes add in i16 without overflow, and one widening (i32x4.dot_i16x8_s with ones)
// serves 32 MACs instead of 16. The offset is undone exactly:
//   Σ_k (x_k − zx)·w_k = Σ_k x_k·w'_k − 32·Σ_k x_k − zx·Σ_k w_k
// The last term is folded into the bias at prepare time, the middle one is computed per candidate
// row by pack_x.
//
// Layouts (inPad: inDim rounded up to 8, zero-padded)
//   xp: candidates in pairs, interleaved per 4 inputs ([inPad/4][2 candidates][4 bytes], 8 bytes a
//       step); an odd last candidate follows as a plain row of inPad bytes.
//   corr: n i32, −offset·Σx of each candidate row.
//   w: [outPad/8][inPad/8][2 halves: inputs 0-3, 4-7][8 outputs][4 inputs] of w + 32 (padding 32 ⇒
//      w = 0; padded inputs are 0 anyway), 64 bytes a step.
//   bias: outPad i32 = bias − zx·Σw (zero-padded).
// Requantization and stores: lib/requant.ts (shared with kdp_kernels.ts).

import { requantSel, store8 } from './lib/requant';

/** relaxed_dot on 16 byte pairs, for the host's load-time correctness probe. */
export function probe_dot(a: usize, b: usize, out: usize): void {
  v128.store(out, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a), v128.load(b)));
}

/** Interleave the int8 input into xp (layout above) and write each row's −offset·Σx to corr. */
export function pack_x(x: usize, xp: usize, corr: usize, n: i32, inDim: i32, inPad: i32, offset: i32): void {
  const pairs = n >> 1;
  const in4 = inDim & ~3;
  const in16 = inDim & ~15;
  for (let c = 0; c < n; c++) {
    const src = x + <usize>c * <usize>inDim;
    // row sum: SIMD over 16-byte chunks, scalar tail
    let sv = i32x4.splat(0);
    let i = 0;
    for (; i < in16; i += 16) {
      sv = i32x4.add(sv, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(src + <usize>i))));
    }
    let s = (i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1)) + (i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3));
    for (; i < inDim; i++) s += <i32>load<i8>(src + <usize>i);
    store<i32>(corr + (<usize>c << 2), -offset * s);
    if ((c >> 1) < pairs) {
      let dst = xp + (<usize>(c >> 1) * <usize>inPad << 1) + (<usize>(c & 1) << 2);
      let j = 0;
      for (; j < in4; j += 4) {
        store<u32>(dst, load<u32>(src + <usize>j));
        dst += 8;
      }
      if (j < inPad) {
        let word: u32 = 0;
        for (let t = 0; t < 4; t++) if (j + t < inDim) word |= <u32>load<u8>(src + <usize>(j + t)) << (<u32>t << 3);
        store<u32>(dst, word);
        dst += 8;
        for (j += 4; j < inPad; j += 4) { store<u32>(dst, 0); dst += 8; }
      }
    } else {
      const dst = xp + (<usize>pairs * <usize>inPad << 1);
      memory.copy(dst, src, <usize>inDim);
      memory.fill(dst + <usize>inDim, 0, <usize>(inPad - inDim));
    }
  }
}

/** Σ of 8 inputs × 4 outputs: two relaxed dots added in i16 (safe for w' ≤ 63), widened once. */
@inline function dot8(p: v128, q: v128, wa: v128, wb: v128, ones: v128): v128 {
  return i32x4.dot_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(p, wa), i16x8.relaxed_dot_i8x16_i7x16_s(q, wb)), ones);
}

/**
 * int8 FULLY_CONNECTED with 6-bit weights, outer-product form: pairs of candidates × 8 outputs share
 * each 64-byte weight step (8 inputs of 8 outputs); each broadcast of a candidate's 4 inputs meets
 * 4 outputs per relaxed dot, so the accumulators hold output lanes (no horizontal sums). Two
 * candidates, not four, per weight load: V8 keeps this loop in registers (4 spilled with four).
 * An odd last candidate runs the same loop alone. Requantization per `requantSel`.
 */
export function fc_i6(xp: usize, corr: usize, w: usize, bias: usize, y: usize, n: i32, inPad: i32, outDim: i32,
  mult: i32, shift: i32, fpScale: f32, outZp: i32, actMin: i32, actMax: i32): void {
  const groups = (outDim + 7) >> 3;
  const groupBytes = <usize>inPad << 3;
  const yStride = <usize>outDim;
  const zero = i32x4.splat(0);
  const ones = i16x8.splat(1);
  const pairBytes = <usize>inPad << 1;
  let c = 0;
  for (; c + 2 <= n; c += 2) {
    const xb = xp + <usize>(c >> 1) * pairBytes;
    const xe = xb + pairBytes;
    const y0 = y + <usize>c * yStride;
    const k0 = i32x4.splat(load<i32>(corr + (<usize>c << 2)));
    const k1 = i32x4.splat(load<i32>(corr + (<usize>c << 2), 4));
    for (let g = 0; g < groups; g++) {
      let a0 = zero, a1 = zero, b0 = zero, b1 = zero;
      let pw = w + <usize>g * groupBytes;
      for (let px = xb; px < xe; px += 16) {
        const p0 = v128.load32_splat(px);
        const p1 = v128.load32_splat(px, 4);
        const q0 = v128.load32_splat(px, 8);
        const q1 = v128.load32_splat(px, 12);
        const wl = v128.load(pw);
        const vl = v128.load(pw, 32);
        a0 = i32x4.add(a0, dot8(p0, q0, wl, vl, ones));
        a1 = i32x4.add(a1, dot8(p1, q1, wl, vl, ones));
        const wh = v128.load(pw, 16);
        const vh = v128.load(pw, 48);
        b0 = i32x4.add(b0, dot8(p0, q0, wh, vh, ones));
        b1 = i32x4.add(b1, dot8(p1, q1, wh, vh, ones));
        pw += 64;
      }
      const o = g << 3;
      const bl = v128.load(bias + (<usize>o << 2));
      const bh = v128.load(bias + (<usize>o << 2), 16);
      a0 = i32x4.add(a0, i32x4.add(bl, k0)); b0 = i32x4.add(b0, i32x4.add(bh, k0));
      a1 = i32x4.add(a1, i32x4.add(bl, k1)); b1 = i32x4.add(b1, i32x4.add(bh, k1));
      store8(y0, o, outDim, requantSel(a0, mult, shift, fpScale, outZp, actMin, actMax), requantSel(b0, mult, shift, fpScale, outZp, actMin, actMax));
      store8(y0 + yStride, o, outDim, requantSel(a1, mult, shift, fpScale, outZp, actMin, actMax), requantSel(b1, mult, shift, fpScale, outZp, actMin, actMax));
    }
  }
  if (c < n) {
    const xc = xp + <usize>(c >> 1) * pairBytes;
    const xe = xc + <usize>inPad;
    const yc = y + <usize>c * yStride;
    const kc = i32x4.splat(load<i32>(corr + (<usize>c << 2)));
    for (let g = 0; g < groups; g++) {
      let a0 = zero, b0 = zero;
      let pw = w + <usize>g * groupBytes;
      for (let px = xc; px < xe; px += 8) {
        const p = v128.load32_splat(px);
        const q = v128.load32_splat(px, 4);
        a0 = i32x4.add(a0, dot8(p, q, v128.load(pw), v128.load(pw, 32), ones));
        b0 = i32x4.add(b0, dot8(p, q, v128.load(pw, 16), v128.load(pw, 48), ones));
        pw += 64;
      }
      const o = g << 3;
      a0 = i32x4.add(a0, i32x4.add(v128.load(bias + (<usize>o << 2)), kc));
      b0 = i32x4.add(b0, i32x4.add(v128.load(bias + (<usize>o << 2), 16), kc));
      store8(yc, o, outDim, requantSel(a0, mult, shift, fpScale, outZp, actMin, actMax), requantSel(b0, mult, shift, fpScale, outZp, actMin, actMax));
    }
  }
}
