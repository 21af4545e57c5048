/**
 * TFLite integer arithmetic, exact in JavaScript numbers (no BigInt, no allocation):
 * QuantizeMultiplier, SaturatingRoundingDoublingHighMul, RoundingDivideByPOT and
 * MultiplyByQuantizedMultiplier as TFLite's reference kernels define them (the non-"single rounding"
 * variant, which is the default build). The WASM kernels implement the same functions with i64.
 */

const TWO31 = 2147483648;

/** Real multiplier → [int32 fixed-point multiplier in [2^30, 2^31), shift] (TFLite QuantizeMultiplier). */
export function quantizeMultiplier(m: number): [multiplier: number, shift: number] {
  if (m === 0 || !Number.isFinite(m)) return [0, 0];
  // frexp: m = q · 2^shift with |q| in [0.5, 1)
  let shift = Math.floor(Math.log2(Math.abs(m))) + 1;
  let q = m / 2 ** shift;
  while (Math.abs(q) >= 1) { q /= 2; shift++; }
  while (Math.abs(q) < 0.5) { q *= 2; shift--; }
  let qFixed = roundHalfAway(q * TWO31);
  if (qFixed === TWO31) { qFixed /= 2; shift++; }
  if (shift < -31) { shift = 0; qFixed = 0; }
  if (shift > 30) { shift = 30; qFixed = TWO31 - 1; }
  return [qFixed, shift];
}

/*
 * The one pair of rounding helpers (the exporter's quantizer uses them too). Math.round is exact
 * (ties toward +∞), so both are exact for every double; on float32 arguments — all the kernels'
 * tables and multipliers feed them — they equal the floor(x + 0.5) / `r & 1` forms used before.
 */

/** std::round / TfLiteRound: ties away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** lrintf / f32x4.nearest / XNNPACK's fp32 requantization: ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** gemmlowp SaturatingRoundingDoublingHighMul(a, b) for int32 a, b, computed exactly. */
export function srdhm(a: number, b: number): number {
  if (a === -TWO31 && b === -TWO31) return 2147483647;
  // a·b = p1·2^16 + p2 with b = bh·2^16 + bl (bl in [0, 2^16)); |p1| < 2^46, |p2| < 2^47: exact in doubles.
  const bh = Math.floor(b / 65536);
  const bl = b - bh * 65536;
  const p1 = a * bh;
  const p2 = a * bl;
  const q1 = Math.floor(p1 / 32768);
  const r1 = p1 - q1 * 32768; // p1 = q1·2^15 + r1
  const neg = a !== 0 && b !== 0 && (a < 0) !== (b < 0);
  const s = r1 * 65536 + p2 + (neg ? 1 - 1073741824 : 1073741824);
  const fs = Math.floor(s / TWO31);
  let t = q1 + fs; // floor((a·b + nudge) / 2^31)
  if (neg && s - fs * TWO31 !== 0) t += 1; // C++ division truncates toward zero
  return t | 0;
}

/** gemmlowp RoundingDivideByPOT(x, exponent), exponent in [0, 31]. */
export function rdbpot(x: number, exponent: number): number {
  const mask = exponent >= 31 ? 0x7fffffff : (1 << exponent) - 1;
  const rem = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (rem > threshold ? 1 : 0);
}

/** TFLite MultiplyByQuantizedMultiplier(x, multiplier, shift). */
export function mulByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return rdbpot(srdhm(Math.imul(x, 1 << left), multiplier | 0), right);
}

/** Clamp range for a fused activation on a quantized output (TFLite CalculateActivationRangeQuantized). */
export function quantizedActivationRange(act: 'none' | 'relu' | 'relu6' | 'relu_n1_to_1', scale: number, zp: number): [number, number] {
  const q = (f: number): number => zp + roundHalfAway(Math.fround(f / scale));
  const lo = -128;
  const hi = 127;
  switch (act) {
    case 'none': return [lo, hi];
    case 'relu': return [Math.max(lo, q(0)), hi];
    case 'relu6': return [Math.max(lo, q(0)), Math.min(hi, q(6))];
    case 'relu_n1_to_1': return [Math.max(lo, q(-1)), Math.min(hi, q(1))];
  }
}

/** TFLite AffineQuantize of one float: clamp(round(x / scale) + zp) in f32 division. */
export function quantizeOne(x: number, scale: number, zp: number): number {
  const v = Math.fround(x / scale);
  if (v !== v) return Math.min(127, Math.max(-128, zp));
  const q = v >= 1e9 ? 127 : v <= -1e9 ? -128 : roundHalfAway(v) + zp;
  return q < -128 ? -128 : q > 127 ? 127 : q;
}
