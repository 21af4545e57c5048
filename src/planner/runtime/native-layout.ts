/**
 * Packed layout of the native int8 FULLY_CONNECTED kernels (src/native/kernels.h), shared by prepare
 * (packing) and the tests. One layout for every instruction set: raw int8 weights in groups of
 * 16 outputs × 4 inputs (64 bytes: one zmm for vpdpbusd, two ymm for vpmaddubsw/vpdpbusd on 256 bits,
 * four q registers for sdot), so the variant can be chosen at load without repacking.
 */
import { alignUp } from './memory-planner.js';

/** Inputs per row in the kernel's scratch (multiple of 8: the AVX2 kernel takes two 4-input steps). */
export const nativeInPad = (inDim: number): number => alignUp(inDim, 8);
/** Outputs per packed group; the weights and bias are padded to a multiple of it. */
export const nativeOutPad = (outDim: number): number => alignUp(outDim, 16);

/** Byte of weight (o, i) in [outPad/16][inPad/4][16 outputs][4 inputs]. */
export function nativeIndex(o: number, i: number, inPad: number): number {
  return (o >> 4) * inPad * 16 + (i >> 2) * 64 + (o & 15) * 4 + (i & 3);
}

export function packNativeWeights(src: Uint8Array, outDim: number, inDim: number): Uint8Array {
  const s8 = new Int8Array(src.buffer, src.byteOffset, src.byteLength);
  const inPad = nativeInPad(inDim);
  const out = new Int8Array(nativeOutPad(outDim) * inPad);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) out[nativeIndex(o, i, inPad)] = s8[o * inDim + i]!;
  }
  return new Uint8Array(out.buffer);
}

/**
 * bias − (zx + xOffset)·Σ_k w[o][k] per output, int32 padded to 16. The kernels compute
 * Σ (x + xOffset)·w (x86 feeds x ^ 0x80 = x + 128 as the unsigned operand; arm64 uses x itself,
 * xOffset 0), so adding this gives TFLite's Σ (x − zx)·w + bias exactly (modulo 2^32, like int32).
 */
export function foldNativeBias(src: Uint8Array, bias: Int32Array | null, outDim: number, inDim: number, inZp: number, xOffset: number): Uint8Array {
  const s8 = new Int8Array(src.buffer, src.byteOffset, src.byteLength);
  const out = new Int32Array(nativeOutPad(outDim));
  for (let o = 0; o < outDim; o++) {
    let sw = 0;
    for (let i = 0; i < inDim; i++) sw += s8[o * inDim + i]!;
    out[o] = ((bias ? bias[o]! : 0) - (inZp + xOffset) * sw) | 0;
  }
  return new Uint8Array(out.buffer);
}
