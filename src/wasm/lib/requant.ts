// Integer requantization and int8 stores shared by the kernel modules (kdp_kernels.ts and
// kdp_kernels_relaxed.ts import this file; it is not a module of its own). Everything is inlined
// into the callers, so the two .wasm files each carry a copy but the source has one.

/** TFLite MultiplyByQuantizedMultiplier (double rounding variant, the reference default). */
@inline export function mulQ(acc: i32, mult: i32, shift: i32): i32 {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const a = acc << left;
  let hi: i32;
  if (a == i32.MIN_VALUE && mult == i32.MIN_VALUE) {
    hi = i32.MAX_VALUE;
  } else {
    const ab: i64 = <i64>a * <i64>mult;
    const nudge: i64 = ab >= 0 ? <i64>(1 << 30) : <i64>(1 - (1 << 30));
    hi = <i32>((ab + nudge) / (<i64>1 << 31));
  }
  const mask = (1 << right) - 1;
  const rem = hi & mask;
  const thr = (mask >> 1) + (hi < 0 ? 1 : 0);
  return (hi >> right) + (rem > thr ? 1 : 0);
}

/**
 * Vectorized MultiplyByQuantizedMultiplier + offset + clamp on 4 int32 lanes; bit-identical to mulQ
 * for multipliers >= 0 (QuantizeMultiplier never returns a negative one).
 */
@inline export function requant4(acc: v128, mult: i32, shift: i32, outZp: i32, lo: i32, hi: i32): v128 {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const a = i32x4.shl(acc, left);
  const m = i32x4.splat(mult);
  let p0 = i64x2.extmul_low_i32x4_s(a, m);
  let p1 = i64x2.extmul_high_i32x4_s(a, m);
  const nPos = i64x2.splat(<i64>(1 << 30));
  const nNeg = i64x2.splat(<i64>(1 - (1 << 30)));
  p0 = i64x2.add(p0, v128.bitselect(nNeg, nPos, i64x2.shr_s(p0, 63)));
  p1 = i64x2.add(p1, v128.bitselect(nNeg, nPos, i64x2.shr_s(p1, 63)));
  // C++ division by 2^31 truncates toward zero: add 2^31 - 1 to negative values before the shift
  const bias = i64x2.splat(<i64>0x7fffffff);
  p0 = i64x2.shr_s(i64x2.add(p0, v128.and(i64x2.shr_s(p0, 63), bias)), 31);
  p1 = i64x2.shr_s(i64x2.add(p1, v128.and(i64x2.shr_s(p1, 63), bias)), 31);
  const x = v128.shuffle<i32>(p0, p1, 0, 2, 4, 6);
  const mask = right >= 31 ? 0x7fffffff : (1 << right) - 1;
  const rem = v128.and(x, i32x4.splat(mask));
  const thr = i32x4.sub(i32x4.splat(mask >> 1), i32x4.shr_s(x, 31));
  let r = i32x4.sub(i32x4.shr_s(x, right), i32x4.gt_s(rem, thr));
  r = i32x4.add(r, i32x4.splat(outZp));
  return i32x4.min_s(i32x4.max_s(r, i32x4.splat(lo)), i32x4.splat(hi));
}

/**
 * XNNPACK-style "fp32" requantization (what TFLite's XNNPACK delegate, hence tfjs-tflite, runs):
 * f32(acc) × scale, round to nearest even, + zero point, clamp.
 */
@inline export function requant4f(acc: v128, scale: f32, outZp: i32, lo: i32, hi: i32): v128 {
  // Same result as clamp(trunc(nearest(acc × scale)) + zp, lo, hi), in 6 single-instruction ops
  // (trunc_sat alone is ~6 on x64): clamp in float to [lo - zp, hi - zp] first (integers, and
  // rounding is monotone, so clamping before or after rounding agrees), then round to nearest even
  // with the 1.5·2^23 magic add (|f| ≤ 255 here, so the sum's ulp is 1 and its low mantissa bits
  // are the integer). pmin/pmax are plain minps/maxps; no NaN can arise (finite acc and scale).
  let f = f32x4.mul(f32x4.convert_i32x4_s(acc), f32x4.splat(scale));
  f = f32x4.pmin(f32x4.pmax(f, f32x4.splat(<f32>(lo - outZp))), f32x4.splat(<f32>(hi - outZp)));
  const t = f32x4.add(f, f32x4.splat(12582912.0));
  return i32x4.sub(t, i32x4.splat(0x4B400000 - outZp));
}

/** Requantize with the TFLite reference fixed-point path (fpScale == 0) or the XNNPACK fp32 path. */
@inline export function requantSel(acc: v128, mult: i32, shift: i32, fpScale: f32, outZp: i32, lo: i32, hi: i32): v128 {
  return fpScale != 0 ? requant4f(acc, fpScale, outZp, lo, hi) : requant4(acc, mult, shift, outZp, lo, hi);
}

@inline export function narrow8(lo: v128, hi: v128): i64 {
  const b16 = i16x8.narrow_i32x4_s(lo, hi);
  return i64x2.extract_lane(i8x16.narrow_i16x8_s(b16, b16), 0);
}

@inline export function store8(y: usize, o: i32, outDim: i32, lo: v128, hi: v128): void {
  const bytes = narrow8(lo, hi);
  if (o + 8 <= outDim) {
    store<i64>(y + <usize>o, bytes);
  } else {
    for (let k = 0; k < 8; k++) if (o + k < outDim) store<u8>(y + <usize>(o + k), <u8>(bytes >>> (<i64>k << 3)));
  }
}
