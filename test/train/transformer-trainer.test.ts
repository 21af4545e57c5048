/**
 * The transformer generator (`--arch transformer`): the trainer's batched GEMM forward equals the float64
 * reference (model/transformer-spec.ts), its hand-written gradient matches central finite differences of
 * that reference in every parameter group, optimiser steps lower a regression loss, and KdpTrainer builds
 * it from the problem's plan steps (with typed errors for bad shapes) while arch mlp stays the MlpTrainer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../src/errors.js';
import { checkTransformerSpec, transformerForwardReference, transformerIoSpec, transformerLayout, transformerMacs, transformerParamCount, type TransformerSpec } from '../../src/model/transformer-spec.js';
import { DEFAULT_KDP_CONFIG, KdpTrainer } from '../../src/train/kdp-trainer.js';
import { MlpTrainer } from '../../src/train/mlp-trainer.js';
import type { DriftProblem } from '../../src/train/problem.js';
import { TransformerTrainer } from '../../src/train/transformer-trainer.js';
import { createTrainKernels } from '../../src/train/wasm-kernels.js';
import { Rng, SeededRandom } from '../../src/util/rng.js';

const TINY: TransformerSpec = { noiseDim: 3, condDim: 4, horizon: 5, stepDim: 3, clampDims: 2, channels: 4, layers: 2, ff: 6, trunk: [7] };
const NO_TRUNK: TransformerSpec = { ...TINY, trunk: [], layers: 1 };

test('the U-Maze default shape: params, MACs and the I/O spec (22 → 188, s₀ dropped)', () => {
  const u: TransformerSpec = { noiseDim: 16, condDim: 6, horizon: 32, stepDim: 6, clampDims: 4, channels: 32, layers: 2, ff: 64, trunk: [256] };
  assert.equal(transformerIoSpec(u), { noiseDim: 16, condDim: 6, hidden: [], outputDim: 188, activation: 'relu' });
  // trunk 22·256+256, expansion 256·1024+1024, 2 × (4 (32·32+32) + (32·64+64) + (64·32+32)), head 32·6+6
  assert.is(transformerParamCount(u), 5888 + 263168 + 2 * (4 * 1056 + 2112 + 2080) + 198);
  // network, then the selection FC that drops s₀ (192 → 188)
  assert.is(transformerMacs(u), 22 * 256 + 256 * 1024 + 2 * (32 * (4 * 1024 + 2 * 32 * 64) + 2 * 32 * 32 * 32) + 32 * 32 * 6 + 192 * 188);
});

for (const [name, spec, backend] of [['tiny', TINY, 'wasm'], ['tiny', TINY, 'js'], ['one block, no trunk', NO_TRUNK, 'wasm']] as const) {
  test(`${name} (${backend} kernels): batched forward = float64 reference; gradient = central finite differences in every parameter group`, () => {
    const batch = 3, inDim = spec.noiseDim + spec.condDim, outDim = transformerIoSpec(spec).outputDim;
    const net = new TransformerTrainer(spec, batch, createTrainKernels(1 << 18, backend), new Rng(5));
    const r = new SeededRandom(11);
    for (let i = 0; i < net.input.length; i++) net.input[i] = r.normal();
    // weights with some size so softmax is not uniform and every ReLU path is exercised
    for (let i = 0; i < net.params.length; i++) net.params[i] = r.normal() * 0.5;
    net.restoreTrainState(net.packTrainState(), net.ema, 0);
    const y = net.forward();
    const ref = new Float32Array(outDim);
    for (let b = 0; b < batch; b++) {
      transformerForwardReference(spec, net.params, net.input.subarray(b * inDim, (b + 1) * inDim), ref);
      for (let i = 0; i < outDim; i++) assert.ok(Math.abs(y[b * outDim + i]! - ref[i]!) < 1e-4 * Math.max(1, Math.abs(ref[i]!)), `row ${b} out ${i}: ${y[b * outDim + i]} vs ${ref[i]}`);
    }
    const u = Float64Array.from({ length: batch * outDim }, () => r.normal());
    net.gradOutput.set(u);
    net.backward();
    const p = Float64Array.from(net.params);
    const o = new Float64Array(outDim);
    const loss = (q: Float64Array): number => {
      let s = 0;
      for (let b = 0; b < batch; b++) {
        transformerForwardReference(spec, q, net.input.subarray(b * inDim, (b + 1) * inDim), o);
        for (let i = 0; i < outDim; i++) s += u[b * outDim + i]! * o[i]!;
      }
      return s;
    };
    const L = transformerLayout(spec);
    const groups = [...L.trunk, L.embed, ...L.blocks.flatMap((b) => [b.q, b.k, b.v, b.o, b.f1, b.f2]), L.head];
    let checked = 0, kinks = 0;
    for (const d of groups) {
      for (const idx of [d.W, d.W + Math.floor(d.inDim * d.outDim / 2), d.W + d.inDim * d.outDim - 1, d.b, d.b + d.outDim - 1]) {
        const h = 1e-4;
        const plus = Float64Array.from(p); plus[idx]! += h;
        const minus = Float64Array.from(p); minus[idx]! -= h;
        const fd = (loss(plus) - loss(minus)) / (2 * h);
        const g = net.grads[idx]!;
        const ok = Math.abs(fd - g) <= 1e-3 * Math.max(1, Math.abs(fd));
        // a ReLU kink inside ±h makes the difference quotient meaningless: recheck with a smaller step
        if (!ok) {
          const h2 = 1e-7;
          const p2 = Float64Array.from(p); p2[idx]! += h2;
          const m2 = Float64Array.from(p); m2[idx]! -= h2;
          const fd2 = (loss(p2) - loss(m2)) / (2 * h2);
          assert.ok(Math.abs(fd2 - g) <= 1e-3 * Math.max(1, Math.abs(fd2)), `param ${idx}: analytic ${g} vs finite differences ${fd} / ${fd2}`);
          kinks++;
        }
        checked++;
      }
    }
    assert.ok(checked === groups.length * 5 && kinks <= 2, `checked ${checked}, kinks ${kinks}`);
  });
}

test('AdamW steps on the transformer lower a regression loss; EMA and train state round-trip', () => {
  const batch = 8, outDim = transformerIoSpec(TINY).outputDim;
  const net = new TransformerTrainer(TINY, batch, createTrainKernels(1 << 18), new Rng(3), { lr: 3e-3, beta1: 0.9, beta2: 0.999, weightDecay: 0, clip: 0, ema: 0.9, warmup: 1 });
  const r = new SeededRandom(4);
  for (let i = 0; i < net.input.length; i++) net.input[i] = r.normal();
  const target = Float32Array.from({ length: batch * outDim }, () => r.normal());
  const lossNow = (): number => { const y = net.forward(); let s = 0; for (let i = 0; i < y.length; i++) s += (y[i]! - target[i]!) ** 2; return s / y.length; };
  const first = lossNow();
  for (let s = 0; s < 200; s++) {
    const y = net.forward();
    for (let i = 0; i < y.length; i++) net.gradOutput[i] = (2 * (y[i]! - target[i]!)) / y.length;
    net.backward();
    net.step();
  }
  const last = lossNow();
  assert.ok(last < first * 0.5, `loss ${first} → ${last}`);
  const state = net.packTrainState();
  const twin = new TransformerTrainer(TINY, batch, createTrainKernels(1 << 18), new Rng(99));
  twin.restoreTrainState(state, net.ema, net.stepCount);
  twin.input.set(net.input);
  assert.equal(Array.from(twin.forward()), Array.from(net.forward()));
});

/** a time-series problem (4 steps × 3 values, 2 clamped) with random positives: enough to construct and step */
function seriesProblem(stepDim?: number): DriftProblem {
  return {
    name: 'series', windowDim: 12, condDim: 3, clampDims: 2, ...(stepDim ? { stepDim } : {}), keyDims: Int32Array.of(3, 4), blocks: [],
    sample(rng, Bc, K, _knn, cond, pos, posCond) {
      for (let i = 0; i < Bc * 3; i++) cond[i] = rng.normal();
      for (let i = 0; i < Bc * K * 12; i++) pos[i] = rng.normal();
      for (let i = 0; i < Bc * K * 3; i++) posCond[i] = rng.normal();
    },
  };
}

test('KdpTrainer: arch transformer builds the TransformerTrainer with the problem\'s steps as tokens; arch mlp stays the MlpTrainer', () => {
  const base = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 2, samplesPerCondition: 4, positivesPerCondition: 4, noiseDim: 2, hidden: [8] };
  assert.is(new KdpTrainer(seriesProblem(3), base).net.constructor, MlpTrainer);
  const t = new KdpTrainer(seriesProblem(3), { ...base, arch: 'transformer', transformer: { channels: 4, layers: 1, ff: 5, trunk: [6] } });
  assert.instance(t.net, TransformerTrainer);
  assert.equal(t.transformerSpec, { noiseDim: 2, condDim: 3, horizon: 4, stepDim: 3, clampDims: 2, channels: 4, layers: 1, ff: 5, trunk: [6] });
  assert.equal(t.spec, { noiseDim: 2, condDim: 3, hidden: [], outputDim: 10, activation: 'relu' });
  const s = t.step();
  assert.ok(Number.isFinite(s.loss) && Number.isFinite(s.gradNorm) && s.gradNorm > 0);
});

test('KdpTrainer: --arch transformer without time steps, or with a zero width, is a UsageError that says what to do', () => {
  const base = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 2, samplesPerCondition: 4, positivesPerCondition: 4, noiseDim: 2, arch: 'transformer' as const };
  for (const [problem, transformer, msg] of [
    [seriesProblem(), { channels: 4, layers: 1, ff: 4 }, /time-series window/],
    [seriesProblem(3), { channels: 0, layers: 1, ff: 4 }, /channels must be a positive integer/],
    [seriesProblem(3), { channels: 4, layers: 1, ff: 4, trunk: [0] }, /trunk must be a list of positive widths/],
  ] as const) {
    try {
      new KdpTrainer(problem, { ...base, transformer });
      assert.unreachable('should refuse');
    } catch (e) {
      assert.instance(e, UsageError);
      assert.match((e as Error).message, msg);
      assert.ok((e as UsageError).hint, 'has a hint');
    }
  }
  assert.throws(() => checkTransformerSpec({ ...TINY, horizon: 1 }), /at least 2/);
});

test.run();
