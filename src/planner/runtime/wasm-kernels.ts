/**
 * Loads build/wasm/kdp_kernels.wasm (compiled from src/wasm/kdp_kernels.ts by scripts/build-wasm.mjs).
 * The module is compiled once per process; every Interpreter instantiates it with its own
 * WebAssembly.Memory, which it grows exactly once in allocate().
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../../errors.js';
import { relaxedModule, type RelaxedExports } from './relaxed-simd.js';

export interface KernelExports {
  heapBase(): number;
  fc_f32(x: number, xi: number, w: number, b: number, y: number, n: number, inDim: number, outDim: number, hasBias: number, lo: number, hi: number): void;
  interleave_f32(x: number, xi: number, n: number, inDim: number): void;
  expand_i8(x: number, xs: number, n: number, inDim: number, inPad: number, zp: number): void;
  fc_i8(xs: number, w: number, bias: number, y: number, n: number, inPad: number, outDim: number, hasBias: number,
    mult: number, shift: number, fpScale: number, outZp: number, lo: number, hi: number, w8: number): void;
  clamp_f32(x: number, y: number, count: number, lo: number, hi: number): void;
  tanh_f32(x: number, y: number, count: number): void;
  logistic_f32(x: number, y: number, count: number): void;
  lut_i8(x: number, y: number, count: number, lut: number): void;
  quantize_f32_i8(x: number, y: number, count: number, scale: number, invScale: number, zp: number): void;
  dequantize_i8_f32(x: number, y: number, count: number, scale: number, zp: number): void;
  mul_by_quantized_multiplier(acc: number, mult: number, shift: number): number;
  add_f32(a: number, b: number, y: number, count: number, na: number, nb: number, lo: number, hi: number): void;
  mul_f32(a: number, b: number, y: number, count: number, na: number, nb: number, lo: number, hi: number): void;
  add_i8(a: number, b: number, y: number, count: number, na: number, nb: number, aZp: number, bZp: number, leftShift: number,
    aMult: number, aShift: number, bMult: number, bShift: number, outMult: number, outShift: number, outZp: number, lo: number, hi: number): void;
  mul_i8(a: number, b: number, y: number, count: number, na: number, nb: number, aZp: number, bZp: number,
    mult: number, shift: number, fpScale: number, outZp: number, lo: number, hi: number): void;
  copy_rows(src: number, dst: number, rows: number, chunk: number, dstStride: number): void;
  bmm_f32(x: number, y: number, out: number, batch: number, m: number, k: number, n: number, adjX: number, adjY: number): void;
  bmm_i8(x: number, y: number, out: number, batch: number, m: number, k: number, n: number, adjX: number, adjY: number,
    xZp: number, yZp: number, mult: number, shift: number, outZp: number, scratch: number): void;
  softmax_f32(x: number, y: number, rows: number, last: number, beta: number): void;
  softmax_i8(x: number, y: number, rows: number, last: number, table: number, outScale: number, outZp: number): void;
}

export const WASM_PATH = fileURLToPath(new URL('../../../build/wasm/kdp_kernels.wasm', import.meta.url));
export const WASM_PAGE = 65536;
/** Pages the module declares as its minimum (`--initialMemory 16` in scripts/build-wasm.mjs). */
const INITIAL_PAGES = 16;

let compiled: WebAssembly.Module | undefined;

export function wasmAvailable(): boolean {
  return compiled !== undefined || existsSync(WASM_PATH);
}

function moduleOnce(): WebAssembly.Module {
  if (compiled) return compiled;
  if (!existsSync(WASM_PATH)) {
    throw new KdpError('E_WASM_MISSING', `WASM kernels not built: ${WASM_PATH} does not exist`,
      { hint: 'run `npm run build:wasm` (it also runs on `npm ci`), or pass { backend: "reference" }' });
  }
  compiled = new WebAssembly.Module(readFileSync(WASM_PATH));
  return compiled;
}

export interface KernelInstance {
  memory: WebAssembly.Memory;
  k: KernelExports;
  /** the relaxed-SIMD kernels on the same memory, when requested and available (relaxed-simd.ts) */
  r: RelaxedExports | null;
  /** first byte past the module's static data, 64-byte aligned */
  base: number;
}

export function instantiateKernels(withRelaxed = false): KernelInstance {
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES });
  const env = { memory, abort: () => { throw new Error('wasm abort'); } };
  const inst = new WebAssembly.Instance(moduleOnce(), { env });
  const k = inst.exports as unknown as KernelExports;
  const rm = withRelaxed ? relaxedModule() : null;
  // the relaxed module has no static data: it shares the memory without claiming any of it
  const r = rm ? new WebAssembly.Instance(rm, { env }).exports as unknown as RelaxedExports : null;
  const base = Math.ceil(k.heapBase() / 64) * 64;
  return { memory, k, r, base };
}
