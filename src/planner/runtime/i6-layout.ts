/**
 * Packed layout of the relaxed-SIMD int8 FC kernel (src/wasm/kdp_kernels_relaxed.ts) for layers whose
 * int8 weights are all in [-32, 31] (`kdp export --weight-bits 6`). Shared by prepare (packing), the
 * TypeScript reference of that kernel and the WASM binding.
 */
import { alignUp } from './memory-planner.js';

/** Added to every weight: the kernel's dot product needs its second operand in [0, 127]. */
export const I6_OFFSET = 32;

const asInt8 = (src: Uint8Array): Int8Array => new Int8Array(src.buffer, src.byteOffset, src.byteLength);

/** Every int8 weight in [-32, 31]: the range the kernel computes exactly. */
export function fitsI6(src: Uint8Array): boolean {
  for (const v of asInt8(src)) if (v < -I6_OFFSET || v >= I6_OFFSET) return false;
  return true;
}

/** Byte of weight (o, i) in [outPad/8][inPad/8][2 halves: inputs 0-3, 4-7][8 outputs][4 inputs]. */
export function i6Index(o: number, i: number, inPad: number): number {
  return (o >> 3) * inPad * 8 + (i >> 3) * 64 + ((i >> 2) & 1) * 32 + (o & 7) * 4 + (i & 3);
}

/** int8 weights [outDim, inDim] → the kernel layout, as w + 32 (padding 32, i.e. w = 0). */
export function packI6Weights(src: Uint8Array, outDim: number, inDim: number): Uint8Array {
  const s8 = asInt8(src);
  const inPad = alignUp(inDim, 8);
  const out = new Uint8Array(alignUp(outDim, 8) * inPad).fill(I6_OFFSET);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) out[i6Index(o, i, inPad)] = s8[o * inDim + i]! + I6_OFFSET;
  }
  return out;
}

/** bias − zx·Σ_k w[o][k] per output (int32, zero-padded to outPad): the input zero point folded in. */
export function foldI6Bias(src: Uint8Array, bias: Int32Array | null, outDim: number, inDim: number, inZp: number): Uint8Array {
  const s8 = asInt8(src);
  const out = new Int32Array(alignUp(outDim, 8));
  for (let o = 0; o < outDim; o++) {
    let sw = 0;
    for (let i = 0; i < inDim; i++) sw += s8[o * inDim + i]!;
    out[o] = ((bias ? bias[o]! : 0) - inZp * sw) | 0;
  }
  return new Uint8Array(out.buffer);
}
