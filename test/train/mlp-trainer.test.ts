import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTrainKernels } from '../../src/train/wasm-kernels.js';
import { MlpTrainer } from '../../src/train/mlp-trainer.js';
import { Rng } from '../../src/util/rng.js';
import { mlpForwardReference, unpackWeights, type MlpSpec, type Activation } from '../../src/model/mlp-spec.js';

function naiveGemm(M: number, N: number, K: number, A: Float32Array, sai: number, sak: number, B: Float32Array, ldb: number): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A[i * sai + k * sak]! * B[k * ldb + j]!;
    C[i * N + j] = s;
  }
  return C;
}

for (const backend of ['wasm', 'js'] as const) {
  test(`${backend}: gemm matches a naive product for odd shapes and both A layouts`, () => {
    const k = createTrainKernels(1 << 20, backend);
    const rng = new Rng(1);
    for (const [M, N, K] of [[7, 13, 5], [16, 32, 9], [5, 3, 17], [33, 70, 64]] as const) {
      const A = k.alloc(M * K), B = k.alloc(K * N), C = k.alloc(M * N);
      rng.fillNormal(A); rng.fillNormal(B);
      for (const [sai, sak] of [[K, 1], [1, M]] as const) {
        k.gemm(M, N, K, A, sai, sak, B, N, C, 0);
        const ref = naiveGemm(M, N, K, A, sai, sak, B, N);
        for (let i = 0; i < M * N; i++) assert.ok(Math.abs(C[i]! - ref[i]!) < 1e-4, `${M}x${N}x${K} at ${i}: ${C[i]} vs ${ref[i]}`);
      }
    }
  });
}

function gradCheck(activation: Activation, backend: 'wasm' | 'js'): void {
  const spec: MlpSpec = { noiseDim: 3, condDim: 2, hidden: [9, 7], outputDim: 6, activation };
  const k = createTrainKernels(1 << 18, backend);
  const rng = new Rng(7);
  const batch = 5;
  const net = new MlpTrainer(spec, batch, k, rng);
  // make the last layer non-trivial so gradients flow everywhere
  for (let i = 0; i < net.params.length; i++) net.params[i] = rng.normal() * 0.5;
  net.refreshTransposes();
  rng.fillNormal(net.input);
  const R = new Float32Array(batch * spec.outputDim);
  rng.fillNormal(R);
  const loss = (): number => {
    const out = net.forward();
    let s = 0;
    for (let i = 0; i < R.length; i++) s += out[i]! * R[i]!;
    return s;
  };
  loss();
  net.gradOutput.set(R);
  net.backward();
  const analytic = Float32Array.from(net.grads);
  const eps = 1e-2;
  let checked = 0;
  for (let idx = 0; idx < net.params.length; idx += 3) {
    const p0 = net.params[idx]!;
    net.params[idx] = p0 + eps; net.refreshTransposes(); const lp = loss();
    net.params[idx] = p0 - eps; net.refreshTransposes(); const lm = loss();
    net.params[idx] = p0; net.refreshTransposes();
    const fd = (lp - lm) / (2 * eps);
    const a = analytic[idx]!;
    // relu kinks can make single entries disagree; tolerate relative error on smooth parts
    const tol = 2e-2 * Math.max(1, Math.abs(fd));
    if (activation === 'relu' && Math.abs(fd - a) > tol) continue;
    assert.ok(Math.abs(fd - a) <= tol, `${activation}/${backend} param ${idx}: fd ${fd} vs analytic ${a}`);
    checked++;
  }
  assert.ok(checked > net.params.length / 3 * 0.9, `checked ${checked}`);
}

for (const backend of ['wasm', 'js'] as const) {
  for (const act of ['silu', 'tanh', 'relu'] as const) {
    test(`${backend}: gradient check (${act}) against central finite differences`, () => gradCheck(act, backend));
  }
}

test('forward matches the float64 reference forward of the exported weights', () => {
  const spec: MlpSpec = { noiseDim: 4, condDim: 2, hidden: [16, 16], outputDim: 5, activation: 'silu' };
  const k = createTrainKernels(1 << 18, 'wasm');
  const net = new MlpTrainer(spec, 3, k, new Rng(3));
  const rng = new Rng(4);
  rng.fillNormal(net.input);
  const out = net.forward();
  const w = unpackWeights(spec, net.params);
  const ref = new Float32Array(5);
  for (let r = 0; r < 3; r++) {
    mlpForwardReference(w, net.input.subarray(r * 6, r * 6 + 6), ref);
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(ref[j]! - out[r * 5 + j]!) < 1e-5);
  }
});

test('AdamW steps reduce a regression loss', () => {
  const spec: MlpSpec = { noiseDim: 2, condDim: 1, hidden: [32], outputDim: 2, activation: 'relu' };
  const k = createTrainKernels(1 << 18, 'wasm');
  const rng = new Rng(5);
  const net = new MlpTrainer(spec, 64, k, rng, { lr: 1e-2, beta1: 0.9, beta2: 0.999, weightDecay: 0, clip: 0, ema: 0.99, warmup: 1 });
  const lossAt = (): number => {
    for (let i = 0; i < 64 * 3; i++) net.input[i] = ((i * 37) % 11) / 11 - 0.5;
    const out = net.forward();
    let l = 0;
    for (let r = 0; r < 64; r++) {
      const t0 = net.input[r * 3]! * 2, t1 = -net.input[r * 3 + 1]!;
      const d0 = out[r * 2]! - t0, d1 = out[r * 2 + 1]! - t1;
      l += d0 * d0 + d1 * d1;
      net.gradOutput[r * 2] = (2 * d0) / 64; net.gradOutput[r * 2 + 1] = (2 * d1) / 64;
    }
    return l / 64;
  };
  const first = lossAt();
  for (let s = 0; s < 300; s++) { lossAt(); net.backward(); net.step(); }
  const last = lossAt();
  assert.ok(last < first * 0.05, `loss ${first} -> ${last}`);
});

test.run();
