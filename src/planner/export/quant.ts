/**
 * int8 quantization helpers (TFLite int8 spec) and a JS integer reference that mirrors TFLite's
 * integer kernels for the ops our exporter emits. The reference exists because an int8 network can
 * not match the *float* reference to within one output step in general (error accumulates over
 * layers); it lets tests check the real TFLite against the exact quantized arithmetic.
 *
 * Conventions (all scales are float32-representable: computed, then `Math.fround`ed, exactly what
 * the .tflite stores):
 *   - activations: asymmetric per-tensor int8, range widened to include 0,
 *     scale = (max − min)/255, zp = round(−128 − min/scale) clamped to [−128, 127];
 *   - FC weights: symmetric per-tensor int8, zp 0, scale = max|W|/q, values in [−q, q] with
 *     q = 2^(bits−1) − 1: 127 for the default 8 bits; 31 for `--weight-bits 6`, which the runtime
 *     runs on its faster relaxed-SIMD kernel (docs/runtime.md) and is still a standard int8 tensor;
 *   - FC bias: int32, scale = in_scale × w_scale (float32), zp 0;
 *   - LOGISTIC output: scale 1/256, zp −128; TANH output: scale 1/128, zp 0 (TFLite requirements).
 */
import { roundHalfAway, roundHalfEven } from '../runtime/quant.js';

export interface QParams { scale: number; zeroPoint: number }

export const LOGISTIC_OUT: QParams = { scale: 1 / 256, zeroPoint: -128 };
export const TANH_OUT: QParams = { scale: 1 / 128, zeroPoint: 0 };


export function clampI8(x: number): number {
  return x < -128 ? -128 : x > 127 ? 127 : x;
}

/** Asymmetric int8 parameters for a calibrated [min, max] range. */
export function chooseActivationQParams(min: number, max: number): QParams {
  let lo = Math.min(min, 0);
  let hi = Math.max(max, 0);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`non-finite calibration range [${min}, ${max}]`);
  if (hi - lo < 1e-6) { hi = lo + 1e-6; }
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = clampI8(roundHalfAway(-128 - lo / scale));
  return { scale, zeroPoint };
}

export const WEIGHT_BITS = [8, 6] as const;
export type WeightBits = (typeof WEIGHT_BITS)[number];

/** Symmetric per-tensor int8 weights using `bits` bits: values in [−(2^(bits−1) − 1), 2^(bits−1) − 1]. */
export function quantizeWeightsPerTensor(W: Float32Array, bits: WeightBits = 8): { q: Int8Array; scale: number } {
  if (!WEIGHT_BITS.includes(bits)) throw new RangeError(`weight bits must be one of ${WEIGHT_BITS.join(', ')}, got ${bits}`);
  const qmax = (1 << (bits - 1)) - 1;
  let maxAbs = 0;
  for (let i = 0; i < W.length; i++) { const a = Math.abs(W[i]!); if (a > maxAbs) maxAbs = a; }
  const scale = Math.fround(maxAbs > 0 ? maxAbs / qmax : 1);
  const q = new Int8Array(W.length);
  for (let i = 0; i < W.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, roundHalfAway(W[i]! / scale)));
  return { q, scale };
}

/** int32 bias with scale in_scale × w_scale (as float32). */
export function quantizeBias(b: Float32Array, inScale: number, wScale: number): { q: Int32Array; scale: number } {
  const scale = Math.fround(inScale * wScale);
  const q = new Int32Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const v = roundHalfAway(b[i]! / scale);
    q[i] = Math.max(-2147483648, Math.min(2147483647, v));
  }
  return { q, scale };
}

export function quantizeValue(x: number, p: QParams): number {
  return clampI8(roundHalfAway(x / p.scale) + p.zeroPoint);
}

export function dequantizeValue(q: number, p: QParams): number {
  return p.scale * (q - p.zeroPoint);
}

/** The quantized network, layer by layer (what the int8 .tflite contains). */
export interface Int8Layer {
  inDim: number;
  outDim: number;
  /** outDim × inDim */
  wq: Int8Array;
  wScale: number;
  bq: Int32Array;
  biasScale: number;
  /** FC output tensor params (for 'relu' hidden layers this is the fused-RELU output) */
  fcOut: QParams;
  /** hidden layers only: the activation's output tensor (tanh: TANH_OUT; silu: MUL output) */
  actOut?: QParams;
}

export interface Int8Network {
  activation: 'relu' | 'silu' | 'tanh';
  noiseDim: number;
  condDim: number;
  /** shared by noise_q, condition_q and the concatenation output */
  input: QParams;
  layers: Int8Layer[];
}


const f = Math.fround;

/**
 * Integer reference forward for one sample. It mirrors the int8 arithmetic of TFLite's XNNPACK
 * delegate (what tfjs-tflite and most CPU builds run):
 *   - QUANTIZE: x · fround(1/scale), round half to even, + zp, clamp;
 *   - FC / MUL: exact int32 accumulation, then fp32 requantization
 *     `round_half_even(fround(float(acc) · fround(fround(s_a·s_b) / s_out))) + zp_out`, clamp
 *     (fused RELU clamps at zp_out);
 *   - LOGISTIC / TANH: a 256-entry table of the float function of the dequantized input.
 * TFLite's non-delegated reference kernels (fixed-point multiplier, round half away) can differ from
 * this by one step on exact ties.
 */
export function int8ReferenceForward(net: Int8Network, noise: ArrayLike<number>, cond: ArrayLike<number>, out: Float32Array): void {
  const inDim = net.noiseDim + net.condDim;
  let x = new Int32Array(inDim);
  const inv = f(1 / net.input.scale);
  const q8 = (v: number): number => clampI8(roundHalfEven(f(f(v) * inv)) + net.input.zeroPoint);
  for (let i = 0; i < net.noiseDim; i++) x[i] = q8(noise[i]!);
  for (let i = 0; i < net.condDim; i++) x[net.noiseDim + i] = q8(cond[i]!);
  let xp = net.input;
  net.layers.forEach((l, li) => {
    const hidden = li < net.layers.length - 1;
    const y = new Int32Array(l.outDim);
    const m = f(f(xp.scale * l.wScale) / l.fcOut.scale);
    const lo = hidden && net.activation === 'relu' ? Math.max(-128, l.fcOut.zeroPoint) : -128;
    for (let o = 0; o < l.outDim; o++) {
      let acc = l.bq[o]!;
      const row = o * l.inDim;
      for (let i = 0; i < l.inDim; i++) acc += (x[i]! - xp.zeroPoint) * l.wq[row + i]!;
      const v = roundHalfEven(f(f(acc) * m)) + l.fcOut.zeroPoint;
      y[o] = Math.max(lo, Math.min(127, v));
    }
    let h = y;
    let hp = l.fcOut;
    if (hidden && net.activation !== 'relu') {
      const ap = l.actOut!;
      h = new Int32Array(l.outDim);
      const mulScale = f(f(l.fcOut.scale * LOGISTIC_OUT.scale) / ap.scale);
      for (let o = 0; o < l.outDim; o++) {
        const z = f(l.fcOut.scale * (y[o]! - l.fcOut.zeroPoint));
        if (net.activation === 'tanh') {
          h[o] = clampI8(roundHalfEven(f(Math.tanh(z) * f(1 / TANH_OUT.scale))) + TANH_OUT.zeroPoint);
        } else {
          // LOGISTIC (int8, 1/256, −128) then MUL(z, s) requantized to actOut
          const s = clampI8(roundHalfEven(f(f(1 / (1 + Math.exp(-z))) * f(1 / LOGISTIC_OUT.scale))) + LOGISTIC_OUT.zeroPoint);
          const prod = (y[o]! - l.fcOut.zeroPoint) * (s - LOGISTIC_OUT.zeroPoint);
          h[o] = clampI8(roundHalfEven(f(f(prod) * mulScale)) + ap.zeroPoint);
        }
      }
      hp = ap;
    }
    x = h;
    xp = hp;
  });
  for (let i = 0; i < out.length; i++) out[i] = dequantizeValue(x[i]!, xp);
}

/** Output quantization step of the network (the `plan` tensor's scale). */
export function outputStep(net: Int8Network): number {
  return net.layers[net.layers.length - 1]!.fcOut.scale;
}
