/**
 * The int8 lookup-table node (one 256-entry table per op, a persistent arena block) that the int8
 * activations and int8 → int8 QUANTIZE compile to, and the tables themselves.
 */
import { mulByQuantizedMultiplier, quantizeMultiplier, quantizedActivationRange, roundHalfAway, roundHalfEven } from '../quant.js';
import * as ref from '../reference-kernels.js';
import { i8View, kernels, type Act, type BindContext, type QuantParams, type Ref } from './op-unit.js';

export interface LutNode { kind: 'lut_i8'; op: number; x: Ref; y: Ref; count: number; lut: Ref }

export function bindLutWasm(n: LutNode, bc: BindContext): () => void {
  const k = kernels(bc).k;
  const [x, y, c, l] = [bc.abs(n.x), bc.abs(n.y), n.count, bc.abs(n.lut)];
  return () => k.lut_i8(x, y, c, l);
}

export function bindLutReference(n: LutNode, bc: BindContext): () => void {
  const x = i8View(bc, n.x, n.count), y = i8View(bc, n.y, n.count), l = i8View(bc, n.lut, 256);
  return () => ref.lutI8(x, y, l);
}

/** TFLite PopulateLookupTable: quantize(f(dequantize(q))) in float32, round half away from zero (half to even for xnnpack). */
export function floatLut(qi: QuantParams, qo: QuantParams, f: (v: number) => number, halfEven: boolean): Int8Array {
  const lut = new Int8Array(256);
  const inv = Math.fround(1 / qo.scale);
  for (let v = -128; v <= 127; v++) {
    const deq = Math.fround(qi.scale * (v - qi.zp));
    const tr = Math.fround(f(deq));
    const q = (halfEven ? roundHalfEven(Math.fround(tr * inv)) : roundHalfAway(Math.fround(tr * inv))) + qo.zp;
    lut[v + 128] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
  return lut;
}

/** int8 → int8 rescale by in/out scale, clamped to [lo, hi] (RELU family, QUANTIZE between int8 scales). */
export function rescaleLut(qi: QuantParams, qo: QuantParams, lo = -128, hi = 127): Int8Array {
  const [mult, shift] = quantizeMultiplier(qi.scale / qo.scale);
  const lut = new Int8Array(256);
  for (let v = -128; v <= 127; v++) {
    const r = qo.zp + mulByQuantizedMultiplier(v - qi.zp, mult, shift);
    lut[v + 128] = r < lo ? lo : r > hi ? hi : r;
  }
  return lut;
}

/** TFLite int8 RELU/RELU6/RELU_N1_TO_1: rescale, then clamp to the activation range. */
export function reluLut(qi: QuantParams, qo: QuantParams, act: Act): Int8Array {
  const [lo, hi] = quantizedActivationRange(act, qo.scale, qo.zp);
  return rescaleLut(qi, qo, lo, hi);
}
