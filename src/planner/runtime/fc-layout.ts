/**
 * Packed weight layouts of the WASM / reference FULLY_CONNECTED kernels (src/wasm/kdp_kernels.ts reads
 * them; the relaxed-SIMD layout is in i6-layout.ts, the native one in native-layout.ts).
 */
import { alignUp } from './memory-planner.js';

/**
 * int8 FC weights [outDim, inDim] → the kernel layout: widened to i16, [outPad/8][inPad/2][8 outputs]
 * [2 inputs] (zero-padded; outPad = outDim rounded up to 8); one 32-byte step holds one input pair of
 * 8 consecutive outputs. Element (o, i) lands at index packedIndex(o, i, inPad). `asInt8` keeps the
 * same order with int8 elements (the kernel widens on load).
 */
export function packInt8Weights(src: Uint8Array, outDim: number, inDim: number, asInt8 = false): Uint8Array {
  const inPad = alignUp(inDim, 8);
  const outPad = alignUp(outDim, 8);
  const out = asInt8 ? new Int8Array(outPad * inPad) : new Int16Array(outPad * inPad);
  const s8 = new Int8Array(src.buffer, src.byteOffset, src.byteLength);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) out[packedIndex(o, i, inPad)] = s8[o * inDim + i]!;
  }
  return new Uint8Array(out.buffer);
}

export function packedIndex(o: number, i: number, inPad: number): number {
  return (o >> 3) * inPad * 8 + (i >> 1) * 16 + (o & 7) * 2 + (i & 1);
}

/** f32 FC weights [outDim, inDim] → [outPad/8][inDim][8] (zero-padded outputs): element (o, i) at (o>>3)·inDim·8 + i·8 + (o&7). */
export function packF32Weights(src: Uint8Array, outDim: number, inDim: number): Uint8Array {
  const outPad = alignUp(outDim, 8);
  const out = new Float32Array(outPad * inDim);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) out[(o >> 3) * inDim * 8 + i * 8 + (o & 7)] = dv.getFloat32((o * inDim + i) * 4, true);
  }
  return new Uint8Array(out.buffer);
}
