// The relaxed-SIMD int8 FC kernel (src/wasm/kdp_kernels_relaxed.ts) for `--weight-bits 6` exports:
// it is selected exactly when every weight of a layer fits [-32, 31], its results are bit-exact with
// the i16 WASM kernel, the TypeScript reference and a live tfjs-tflite, at every batch remainder
// (pairs + an odd candidate) and input width (padding), and a broken engine is detected by the probe.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomMlp } from '../helpers/graph-builder.js';
import { Interpreter, type InterpreterOptions } from '../../src/planner/runtime/interpreter.js';
import { fitsI6, foldI6Bias, packI6Weights } from '../../src/planner/runtime/i6-layout.js';
import { probeRelaxedDot, relaxedSimdStatus, type RelaxedExports } from '../../src/planner/runtime/relaxed-simd.js';
import { exportMlp } from '../../src/planner/export/mlp-graph.js';
import { outputStep, quantizeWeightsPerTensor } from '../../src/planner/export/quant.js';
import { loadTfliteOracle } from '../../src/planner/tflite/tfjs-tflite-runner.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// this suite is about the WASM relaxed-SIMD kernel: default interpreters use the WASM backend here
// (the native kernels, the default where built, have their own suite: runtime-native.test.ts)
process.env.KDP_KERNELS ??= 'wasm';

function fill(v: Float32Array, seed: number): void {
  for (let i = 0; i < v.length; i++) v[i] = Math.sin(seed * 12.9898 + i * 78.233) * 1.6;
}
function run(bytes: Uint8Array, seed: number, opts: InterpreterOptions): { out: Float32Array; kinds: readonly string[] } {
  const it = Interpreter.fromBytes(bytes, opts).allocate();
  for (let k = 0; k < it.inputCount; k++) fill(it.inputView(k), seed + k);
  it.invoke();
  return { out: it.outputView(0).slice(), kinds: it.kernelKinds };
}
function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.is(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.unreachable(`${what}: element ${i}: ${a[i]} ≠ ${b[i]}`);
}

test('this engine runs relaxed SIMD (Node 20: enabled via --experimental-wasm-relaxed-simd) and passes the probe', () => {
  const s = relaxedSimdStatus();
  assert.ok(s.available, s.detail);
  assert.match(s.detail, /probe exact/);
});

test('6-bit weight quantization: values in [-31, 31], scale = max|W| / 31; 8-bit unchanged', () => {
  const W = new Float32Array([0.5, -1.24, 0.01, 1.24, -0.3]);
  const six = quantizeWeightsPerTensor(W, 6);
  assert.is(six.scale, Math.fround(Math.fround(1.24) / 31));
  assert.equal(Array.from(six.q), [13, -31, 0, 31, -8]);
  const eight = quantizeWeightsPerTensor(W, 8);
  assert.is(eight.scale, Math.fround(Math.fround(1.24) / 127));
  assert.throws(() => quantizeWeightsPerTensor(W, 7 as 8), /weight bits/);
});

test('kernel selection: all weights in [-32, 31] → fc_i6; 8-bit export, relaxedSimd: false or the reference backend → fc_i8', () => {
  const w = randomMlp({ noiseDim: 16, condDim: 6, hidden: [48], outputDim: 20, activation: 'relu' }, 5);
  const six = exportMlp(w, { quantization: 'int8', candidates: 8, weightBits: 6 }).bytes;
  const eight = exportMlp(w, { quantization: 'int8', candidates: 8 }).bytes;
  assert.equal(Interpreter.fromBytes(six).kernelKinds.filter((k) => k.startsWith('fc')), ['fc_i6', 'fc_i6']);
  assert.equal(Interpreter.fromBytes(eight).kernelKinds.filter((k) => k.startsWith('fc')), ['fc_i8', 'fc_i8']);
  assert.equal(Interpreter.fromBytes(six, { relaxedSimd: false }).kernelKinds.filter((k) => k.startsWith('fc')), ['fc_i8', 'fc_i8']);
  assert.equal(Interpreter.fromBytes(six, { backend: 'reference' }).kernelKinds.filter((k) => k.startsWith('fc')), ['fc_i8', 'fc_i8']);
  // the range test is exact at both ends (int8 bytes as stored in the file)
  assert.ok(fitsI6(new Uint8Array(new Int8Array([-32, 31, 0]).buffer)));
  assert.not.ok(fitsI6(new Uint8Array(new Int8Array([-33, 0]).buffer)));
  assert.not.ok(fitsI6(new Uint8Array(new Int8Array([32]).buffer)));
});

for (const act of ['relu', 'tanh', 'silu'] as const) {
  test(`int8 ${act}, 6-bit weights: relaxed kernel bit-exact with the i16 kernel and both reference layouts (N = 1, 2, 3, 4, 7, 64; in 22 and 45)`, () => {
    for (const [noiseDim, condDim] of [[16, 6], [40, 5]] as const) {
      const w = randomMlp({ noiseDim, condDim, hidden: [40, 33], outputDim: 23, activation: act }, 31 + noiseDim);
      for (const N of [1, 2, 3, 4, 7, 64]) {
        const bytes = exportMlp(w, { quantization: 'int8', candidates: N, weightBits: 6 }).bytes;
        const fast = run(bytes, 7, {});
        assert.ok(fast.kinds.includes('fc_i6'), fast.kinds.join(','));
        for (const [name, opts] of [['i16 wasm', { relaxedSimd: false }], ['reference', { backend: 'reference' }],
          ['reference (i6 layout)', { backend: 'reference', relaxedSimd: true }]] as const) {
          sameBits(fast.out, run(bytes, 7, opts).out, `${act} in ${noiseDim + condDim} N=${N} vs ${name}`);
        }
      }
    }
  });
}

test('6-bit exports vs live tfjs-tflite: within 1 output step on the relaxed kernel (N = 1 and 16)', async () => {
  for (const act of ['relu', 'silu'] as const) {
    const w = randomMlp({ noiseDim: 16, condDim: 6, hidden: [64, 64], outputDim: 30, activation: act }, 23);
    for (const N of [1, 16]) {
      const ex = exportMlp(w, { quantization: 'int8', candidates: N, weightBits: 6 });
      const oracle = await loadTfliteOracle(ex.bytes);
      const it = Interpreter.fromBytes(ex.bytes).allocate();
      assert.ok(it.kernelKinds.includes('fc_i6'));
      for (let trial = 0; trial < 3; trial++) {
        const ins = [new Float32Array(N * 16), new Float32Array(N * 6)];
        ins.forEach((x, k) => fill(x, trial * 10 + k));
        const [ref] = oracle.infer(ins);
        ins.forEach((x, k) => it.setInput(k, x));
        it.invoke();
        let d = 0;
        for (let i = 0; i < ref!.length; i++) d = Math.max(d, Math.abs(it.outputView(0)[i]! - ref![i]!));
        assert.ok(d <= outputStep(ex.int8!) * 1.0001, `${act} N=${N}: ${d}`);
      }
      oracle.close();
    }
  }
});

test('the shipped maze2d models are 6-bit exports and run on the relaxed kernel', () => {
  for (const m of ['maze2d-umaze', 'maze2d-medium', 'maze2d-large']) {
    const manifest = JSON.parse(readFileSync(`${ROOT}models/${m}/manifest.json`, 'utf8')) as { model: { weightBits?: number } };
    assert.is(manifest.model.weightBits, 6, m);
    const it = Interpreter.fromBytes(new Uint8Array(readFileSync(`${ROOT}models/${m}/model.tflite`)), { batch: 2 });
    assert.equal(it.kernelKinds.filter((k) => k.startsWith('fc')), ['fc_i6', 'fc_i6', 'fc_i6', 'fc_i6'], m);
  }
});

test('packing: w + 32 in the kernel layout, padding = 32 (w = 0); folded bias = b − zx·Σw', () => {
  const W = new Int8Array([1, -2, 3, 31, -32, 0, 5, 7, 9, -9]); // 2 outputs × 5 inputs
  const src = new Uint8Array(W.buffer);
  const p = packI6Weights(src, 2, 5);
  assert.is(p.length, 8 * 8); // outPad 8 × inPad 8
  assert.is(p[0], 33); // o0 i0
  assert.is(p[3], 63); // o0 i3
  assert.is(p[4], 32); // o1 i0 (= 0)
  assert.is(p[5], 37); // o1 i1 (= 5)
  assert.is(p[32], 32 - 32); // o0 i4 (= -32)
  assert.is(p[36], 32 - 9); // o1 i4 (= -9)
  assert.is(p[33], 32); // o0 i5: padding
  const b = new Int32Array(foldI6Bias(src, new Int32Array([100, -100]), 2, 5, -7).buffer);
  assert.equal(Array.from(b.subarray(0, 3)), [100 + 7 * (1 - 2 + 3 + 31 - 32), -100 + 7 * (0 + 5 + 7 + 9 - 9), 0]);
});

test('the probe rejects an engine whose relaxed dot is not exact (e.g. operands swapped or doubled)', () => {
  const fake = (f: (a: number, b: number) => number): RelaxedExports & { memory: WebAssembly.Memory } => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const dot = (a: number, b: number, out: number): void => {
      const A = new Int8Array(memory.buffer, a, 16), B = new Int8Array(memory.buffer, b, 16), O = new Int16Array(memory.buffer, out, 8);
      for (let k = 0; k < 8; k++) O[k] = f(A[2 * k]!, B[2 * k]!) + f(A[2 * k + 1]!, B[2 * k + 1]!);
    };
    return { memory, probe_dot: dot, pack_x: () => {}, fc_i6: () => {} };
  };
  assert.is(probeRelaxedDot(fake((a, b) => a * b)), null);
  assert.match(probeRelaxedDot(fake((a, b) => 2 * a * b)) ?? '', /lane 0/);
  assert.match(probeRelaxedDot(fake((a, b) => (a & 255) * b)) ?? '', /lane/); // first operand read unsigned
});

test('KDP_RELAXED_SIMD=0 turns the kernel off (and says so)', () => {
  const code = [
    "const { relaxedSimdStatus } = await import('./src/planner/runtime/relaxed-simd.ts');",
    'console.log(JSON.stringify(relaxedSimdStatus()));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, env: { ...process.env, KDP_RELAXED_SIMD: '0' }, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim()), { available: false, detail: 'disabled by KDP_RELAXED_SIMD=0' });
});

test.run();
