// Fully-connected cases with outputs from the TypeScript reference kernels (TFLite arithmetic), written
// as the case file src/native/check_kernels.c reads: the Node-free bit-exactness check of the native
// variants (host, and arm64 under qemu). Adversarial on purpose: extreme weights and activations
// (-128 / 127: the vpmaddubsw saturation corner), zero points at both ends, every row/column remainder.
import { writeFileSync } from 'node:fs';
import { quantizeMultiplier } from '../../src/planner/runtime/quant.js';
import { fcI8 } from '../../src/planner/runtime/reference-kernels.js';
import { packF32Weights, packInt8Weights } from '../../src/planner/runtime/fc-layout.js';
import { foldNativeBias, nativeInPad, packNativeWeights } from '../../src/planner/runtime/native-layout.js';
import { alignUp } from '../../src/planner/runtime/memory-planner.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

interface Case { ints: number[]; floats: number[]; blobs: Uint8Array[] }

const u8 = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function int8Case(r: () => number, rows: number, inDim: number, outDim: number, i6: boolean, xnn: boolean, extreme: boolean): Case {
  const lim = i6 ? 32 : 128;
  const w = new Int8Array(outDim * inDim).map(() => (extreme && r() < 0.5 ? (r() < 0.5 ? -lim : lim - 1) : Math.floor(r() * 2 * lim) - lim));
  const x = new Int8Array(rows * inDim).map(() => (extreme && r() < 0.5 ? (r() < 0.5 ? -128 : 127) : Math.floor(r() * 256) - 128));
  const bias = new Int32Array(outDim).map(() => Math.floor((r() - 0.5) * 200000));
  const inZp = extreme ? (r() < 0.5 ? -128 : 127) : Math.floor(r() * 256) - 128;
  const outZp = Math.floor(r() * 256) - 128;
  const real = 1 / (inDim * (i6 ? 40 : 160)) * (0.5 + r());
  const [mult, shift] = quantizeMultiplier(real);
  const fpScale = xnn ? Math.fround(real) : 0;
  const lo = r() < 0.3 ? outZp : -128;
  const hi = r() < 0.2 ? Math.min(127, outZp + 60) : 127;
  const y = new Int8Array(rows * outDim);
  const inPad = alignUp(inDim, 8);
  const wRef = new Int8Array(packInt8Weights(u8(w), outDim, inDim, true).buffer);
  fcI8(x, wRef, bias, y, rows, inDim, inPad, outDim, inZp, mult, shift, fpScale, outZp, lo, hi);
  const nIn = nativeInPad(inDim);
  return {
    ints: [1, rows, inDim, nIn, outDim, mult, shift, outZp, lo, hi, i6 ? 1 : 0], floats: [fpScale, 0, 0],
    blobs: [u8(x), packNativeWeights(u8(w), outDim, inDim), foldNativeBias(u8(w), bias, outDim, inDim, inZp, 0), foldNativeBias(u8(w), bias, outDim, inDim, inZp, 128), u8(y)],
  };
}

/** f32: expected = the WASM kernel's order in f32 (acc = 0; acc = fl(acc + fl(x·w)); + bias; clamp). */
function f32Case(r: () => number, rows: number, inDim: number, outDim: number, act: 'none' | 'relu6'): Case {
  const w = new Float32Array(outDim * inDim).map(() => (r() - 0.5) * 0.4);
  const x = new Float32Array(rows * inDim).map(() => (r() - 0.5) * 6);
  const b = new Float32Array(alignUp(outDim, 8)).map((_, i) => (i < outDim ? r() - 0.5 : 0));
  const [lo, hi] = act === 'none' ? [-Infinity, Infinity] : [0, 6];
  const y = new Float32Array(rows * outDim);
  const f = Math.fround;
  for (let c = 0; c < rows; c++) {
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc = f(acc + f(x[c * inDim + i]! * w[o * inDim + i]!));
      acc = f(acc + b[o]!);
      y[c * outDim + o] = lo > acc ? lo : hi < acc ? hi : acc;
    }
  }
  return { ints: [2, rows, inDim, inDim, outDim, 0, 0, 0, 0, 0, 0], floats: [0, lo, hi], blobs: [u8(x), packF32Weights(u8(w), outDim, inDim), u8(b), new Uint8Array(0), u8(y)] };
}

/** Write the cases to `file`; returns how many. */
export function writeNativeCases(file: string, seed = 7): number {
  const r = rng(seed);
  const cases: Case[] = [];
  for (const rows of [1, 2, 7, 64]) {
    for (const [inDim, outDim] of [[22, 256], [256, 188], [45, 23], [8, 16], [3, 1], [64, 40]] as const) {
      for (const i6 of [true, false]) {
        for (const xnn of [true, false]) cases.push(int8Case(r, rows, inDim, outDim, i6, xnn, rows !== 64 || inDim !== 256));
      }
      cases.push(f32Case(r, rows, inDim, outDim, rows % 2 ? 'relu6' : 'none'));
    }
  }
  const parts: Uint8Array[] = [new TextEncoder().encode('KDPNC1\0\0'), u8(new Uint32Array([cases.length]))];
  for (const c of cases) {
    parts.push(u8(new Int32Array(c.ints)), u8(new Float32Array(c.floats)), u8(new Uint32Array(c.blobs.map((b) => b.byteLength))), ...c.blobs);
  }
  writeFileSync(file, Buffer.concat(parts));
  return cases.length;
}
