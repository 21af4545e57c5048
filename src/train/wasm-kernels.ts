import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KdpError } from '../errors.js';

/**
 * Dense float32 kernels for training, backed by one WebAssembly memory (SIMD, built from
 * src/wasm/train-kernels.ts) with a plain-JS fallback of identical semantics. Buffers are carved
 * from the memory once with `alloc`; nothing is allocated per step.
 */
export interface TrainKernels {
  readonly backend: 'wasm' | 'js';
  /** Float32Array view of `n` floats, 16-byte aligned. Call only during setup. */
  alloc(n: number): Float32Array;
  /** C[M×N] = beta·C + A·B; A(i,k) = A[i*sai + k*sak]; B is K×N with row stride ldb. */
  gemm(M: number, N: number, K: number, A: Float32Array, sai: number, sak: number, B: Float32Array, ldb: number, C: Float32Array, beta: 0 | 1): void;
  addBias(M: number, N: number, Y: Float32Array, bias: Float32Array): void;
  colSum(M: number, N: number, G: Float32Array, out: Float32Array): void;
  reluForward(n: number, pre: Float32Array, out: Float32Array): void;
  reluBackward(n: number, pre: Float32Array, grad: Float32Array): void;
}

interface WasmExports {
  gemm(M: number, N: number, K: number, A: number, sai: number, sak: number, B: number, ldb: number, C: number, beta: number): void;
  addBias(M: number, N: number, Y: number, b: number): void;
  colSum(M: number, N: number, G: number, out: number): void;
  reluForward(n: number, pre: number, out: number): void;
  reluBackward(n: number, pre: number, grad: number): void;
}

const WASM_PATH = fileURLToPath(new URL('../../build/wasm/train-kernels.wasm', import.meta.url));

export function wasmKernelsAvailable(): boolean {
  return existsSync(WASM_PATH);
}

/** Create kernels with room for `capacityFloats` floats. */
export function createTrainKernels(capacityFloats: number, prefer: 'wasm' | 'js' = 'wasm'): TrainKernels {
  if (prefer === 'wasm') {
    if (!wasmKernelsAvailable()) {
      throw new KdpError('E_WASM_MISSING', `training kernels not built (${WASM_PATH} is missing)`, { hint: 'run `npm run build:wasm` (it runs on `npm ci`)' });
    }
    return new WasmTrainKernels(capacityFloats);
  }
  return new JsTrainKernels(capacityFloats);
}

class WasmTrainKernels implements TrainKernels {
  readonly backend = 'wasm' as const;
  private readonly memory: WebAssembly.Memory;
  private readonly x: WasmExports;
  private readonly heap: Float32Array;
  private top = 64; // keep address 0 unused
  constructor(capacityFloats: number) {
    const pages = Math.ceil((capacityFloats * 4 + 65536) / 65536) + 1;
    this.memory = new WebAssembly.Memory({ initial: Math.max(16, pages) });
    const mod = new WebAssembly.Module(readFileSync(WASM_PATH));
    const inst = new WebAssembly.Instance(mod, { env: { memory: this.memory, abort: () => { throw new Error('wasm abort'); } } });
    this.x = inst.exports as unknown as WasmExports;
    this.heap = new Float32Array(this.memory.buffer);
  }
  alloc(n: number): Float32Array {
    const start = (this.top + 15) & ~15;
    const end = start + n * 4;
    if (end > this.heap.byteLength) throw new RangeError(`training arena exhausted: need ${end} bytes, have ${this.heap.byteLength}`);
    this.top = end;
    return new Float32Array(this.memory.buffer, start, n);
  }
  private ptr(a: Float32Array): number {
    if (a.buffer !== this.memory.buffer) throw new TypeError('buffer was not allocated from these kernels');
    return a.byteOffset;
  }
  gemm(M: number, N: number, K: number, A: Float32Array, sai: number, sak: number, B: Float32Array, ldb: number, C: Float32Array, beta: 0 | 1): void {
    this.x.gemm(M, N, K, this.ptr(A), sai, sak, this.ptr(B), ldb, this.ptr(C), beta);
  }
  addBias(M: number, N: number, Y: Float32Array, bias: Float32Array): void { this.x.addBias(M, N, this.ptr(Y), this.ptr(bias)); }
  colSum(M: number, N: number, G: Float32Array, out: Float32Array): void { this.x.colSum(M, N, this.ptr(G), this.ptr(out)); }
  reluForward(n: number, pre: Float32Array, out: Float32Array): void { this.x.reluForward(n, this.ptr(pre), this.ptr(out)); }
  reluBackward(n: number, pre: Float32Array, grad: Float32Array): void { this.x.reluBackward(n, this.ptr(pre), this.ptr(grad)); }
}

/** Reference implementation: same contracts, plain loops. Used in tests and where wasm is unavailable. */
class JsTrainKernels implements TrainKernels {
  readonly backend = 'js' as const;
  private readonly buf: ArrayBuffer;
  private top = 64;
  constructor(capacityFloats: number) { this.buf = new ArrayBuffer(capacityFloats * 4 + 65536); }
  alloc(n: number): Float32Array {
    const start = (this.top + 15) & ~15;
    if (start + n * 4 > this.buf.byteLength) throw new RangeError('training arena exhausted');
    this.top = start + n * 4;
    return new Float32Array(this.buf, start, n);
  }
  gemm(M: number, N: number, K: number, A: Float32Array, sai: number, sak: number, B: Float32Array, ldb: number, C: Float32Array, beta: 0 | 1): void {
    if (beta === 0) C.fill(0, 0, M * N);
    for (let i = 0; i < M; i++) {
      const crow = i * N;
      for (let k = 0; k < K; k++) {
        const a = A[i * sai + k * sak]!;
        if (a === 0) continue;
        const brow = k * ldb;
        for (let j = 0; j < N; j++) C[crow + j]! += a * B[brow + j]!;
      }
    }
  }
  addBias(M: number, N: number, Y: Float32Array, bias: Float32Array): void {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) Y[i * N + j]! += bias[j]!;
  }
  colSum(M: number, N: number, G: Float32Array, out: Float32Array): void {
    out.fill(0, 0, N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) out[j]! += G[i * N + j]!;
  }
  reluForward(n: number, pre: Float32Array, out: Float32Array): void {
    for (let i = 0; i < n; i++) { const v = pre[i]!; out[i] = v > 0 ? v : 0; }
  }
  reluBackward(n: number, pre: Float32Array, grad: Float32Array): void {
    for (let i = 0; i < n; i++) if (pre[i]! <= 0) grad[i] = 0;
  }
}
