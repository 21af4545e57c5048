/**
 * The temporal-conv generator (`--arch conv`): its dense expansion is the conv (forward computed as
 * convolutions), the gradient reduction is the expansion's adjoint, the trainer's GEMM forward and
 * gradient match the conv reference, and the weights stay exactly a conv after optimiser steps.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkConvSpec, convAsMlp, convDenseSpec, convForwardReference, convFreeLayout, convParamCount, expandConvWeights, reduceConvGrads, type ConvSpec,
} from '../../src/model/conv-spec.js';
import { mlpForwardReference, paramCount } from '../../src/model/mlp-spec.js';
import { ConvTrainer } from '../../src/train/conv-trainer.js';
import { createTrainKernels } from '../../src/train/wasm-kernels.js';
import { DEFAULT_KDP_CONFIG, KdpTrainer } from '../../src/train/kdp-trainer.js';
import { MlpTrainer } from '../../src/train/mlp-trainer.js';
import { UsageError } from '../../src/errors.js';
import { Rng, SeededRandom } from '../../src/util/rng.js';
import type { DriftProblem } from '../../src/train/problem.js';

/** the U-Maze window: 32 steps × (4 state + 2 action), s₀ clamped; the default conv shape */
const UMAZE: ConvSpec = { noiseDim: 16, condDim: 6, horizon: 32, stepDim: 6, clampDims: 4, channels: 8, kernel: 5, layers: 2 };
const SMALL: ConvSpec = { noiseDim: 3, condDim: 4, horizon: 7, stepDim: 5, clampDims: 3, channels: 3, kernel: 3, layers: 2 };
/** with a dense trunk before the [T, C] expansion */
const TRUNK: ConvSpec = { ...SMALL, trunk: [9, 6] };
/** with the expansion upsampled from coarse steps (7 steps from 3 at r = 3) */
const UPS: ConvSpec = { ...SMALL, trunk: [9], upsample: 3 };

function randomFree(c: ConvSpec, seed: number, scale = 0.4): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: convParamCount(c) }, () => r.normal() * scale);
}

test('the default conv at the U-Maze window expands to the MLP shape 22 → 256 → 256 → 256 → 188', () => {
  const d = convDenseSpec(UMAZE);
  assert.equal(d.hidden, [256, 256, 256]);
  assert.is(d.outputDim, 188);
  assert.is(d.noiseDim + d.condDim, 22);
  // free parameters: input dense 22·256 + 256, two kernels 8·8·5 + 8, head 6·8 + 6
  assert.is(convParamCount(UMAZE), 22 * 256 + 256 + 2 * (8 * 8 * 5 + 8) + 6 * 8 + 6);
  assert.is(paramCount(d), 22 * 256 + 256 + 2 * (256 * 256 + 256) + 256 * 188 + 188);
});

for (const [name, c] of [['small', SMALL], ['small with trunk', TRUNK], ['U-Maze', UMAZE], ['small upsampled', UPS], ['U-Maze with trunk 256', { ...UMAZE, trunk: [256] }], ['U-Maze, trunk 256, upsample 4', { ...UMAZE, trunk: [256], upsample: 4 }]] as Array<[string, ConvSpec]>) {
  test(`${name}: the dense expansion computes the conv (float64 convolutions) on random weights and inputs`, () => {
    const r = new SeededRandom(7);
    const inDim = c.noiseDim + c.condDim, outDim = convDenseSpec(c).outputDim;
    const a = new Float32Array(outDim), b = new Float32Array(outDim);
    for (let rep = 0; rep < 20; rep++) {
      const free = randomFree(c, 100 + rep);
      const mlp = convAsMlp(c, free);
      const x = Array.from({ length: inDim }, () => r.normal());
      convForwardReference(c, free, x, a);
      mlpForwardReference(mlp, x, b);
      let scale = 0, err = 0;
      for (let i = 0; i < outDim; i++) { scale = Math.max(scale, Math.abs(a[i]!)); err = Math.max(err, Math.abs(a[i]! - b[i]!)); }
      assert.ok(scale > 1e-3, 'the outputs are not trivially zero');
      assert.ok(err <= 1e-6 * Math.max(1, scale), `rep ${rep}: max |conv − dense| = ${err} (scale ${scale})`);
    }
  });
}

test('the expansion is a conv: zeros outside the band, one shared kernel per layer, identity for the residual', () => {
  const c = SMALL, free = randomFree(c, 3);
  const w = convAsMlp(c, free);
  const L = convFreeLayout(c), C = c.channels, p = (c.kernel - 1) / 2;
  const conv = w.layers[1]!;
  for (let t = 0; t < c.horizon; t++) for (let s = 0; s < c.horizon; s++) for (let o = 0; o < C; o++) for (let i = 0; i < C; i++) {
    const v = conv.W[(t * C + o) * conv.inDim + s * C + i]!;
    const j = s - t + p;
    const expect = (j >= 0 && j < c.kernel ? free[L.conv[0]!.K + (o * C + i) * c.kernel + j]! : 0) + (s === t && o === i ? 1 : 0);
    assert.ok(Math.abs(v - expect) < 1e-6, `W[t${t} o${o}, s${s} i${i}] = ${v}, expected ${expect}`);
  }
});

test('the upsampled expansion interpolates coarse rows: fine step t = (1 − f)·coarse[⌊t/r⌋] + f·coarse[⌊t/r⌋ + 1]', () => {
  const c = UPS, free = randomFree(c, 5);
  const w = convAsMlp(c, free);
  const d = convFreeLayout(c).dense[1]!, C = c.channels;
  assert.is(d.outDim, 3 * C, '7 steps at r = 3 need coarse steps 0, 3, 6');
  const exp = w.layers[1]!;
  for (const [t, tau, f] of [[0, 0, 0], [1, 0, 1 / 3], [2, 0, 2 / 3], [3, 1, 0], [5, 1, 2 / 3], [6, 2, 0]] as const) {
    for (let o = 0; o < C; o++) for (let i = 0; i < d.inDim; i++) {
      const a = free[d.W + (tau * C + o) * d.inDim + i]!, b = tau + 1 < 3 ? free[d.W + ((tau + 1) * C + o) * d.inDim + i]! : 0;
      assert.ok(Math.abs(exp.W[(t * C + o) * d.inDim + i]! - ((1 - f) * a + f * b)) < 1e-6, `t ${t} o ${o} i ${i}`);
    }
  }
});

for (const [name, c] of [['small', SMALL], ['small with trunk', TRUNK], ['small upsampled', UPS]] as const) test(`${name}: reduceConvGrads is the adjoint of the expansion: <E(δ) − E(0), G> = <δ, Eᵀ G>`, () => {
  const r = new SeededRandom(11);
  const n = convParamCount(c), m = paramCount(convDenseSpec(c));
  const delta = Float32Array.from({ length: n }, () => r.normal());
  const G = Float32Array.from({ length: m }, () => r.normal());
  const e1 = new Float32Array(m), e0 = new Float32Array(m), red = new Float32Array(n);
  expandConvWeights(c, delta, e1);
  expandConvWeights(c, new Float32Array(n), e0);
  reduceConvGrads(c, G, red);
  let lhs = 0, rhs = 0;
  for (let i = 0; i < m; i++) lhs += (e1[i]! - e0[i]!) * G[i]!;
  for (let i = 0; i < n; i++) rhs += delta[i]! * red[i]!;
  assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
});

for (const [name, c] of [['small', SMALL], ['small with trunk', TRUNK], ['small upsampled', UPS]] as const) test(`${name}: ConvTrainer's batched GEMM forward equals the conv reference; its free-parameter gradient matches finite differences`, () => {
  const batch = 6, inDim = c.noiseDim + c.condDim;
  const k = createTrainKernels(1 << 16);
  const net = new ConvTrainer(c, batch, k, new Rng(5));
  const r = new SeededRandom(9);
  for (let i = 0; i < net.input.length; i++) net.input[i] = r.normal();
  // weights with some size so every ReLU path is exercised
  for (let i = 0; i < net.free.length; i++) net.free[i] = r.normal() * 0.5;
  net.restoreTrainState(net.packTrainState(), net.ema, 0);
  const outDim = net.spec.outputDim;
  const y = net.forward();
  const ref = new Float32Array(outDim);
  for (let b = 0; b < batch; b++) {
    convForwardReference(c, net.free, net.input.subarray(b * inDim, (b + 1) * inDim), ref);
    for (let i = 0; i < outDim; i++) assert.ok(Math.abs(y[b * outDim + i]! - ref[i]!) < 1e-4 * Math.max(1, Math.abs(ref[i]!)), `row ${b} out ${i}`);
  }
  // loss = Σ u ⊙ y with a fixed random u: dL/dy = u
  const u = Float32Array.from({ length: batch * outDim }, () => r.normal());
  net.gradOutput.set(u);
  net.backward();
  const g = new Float32Array(net.free.length);
  reduceConvGrads(c, net.grads, g);
  const loss = (free: Float32Array): number => {
    let s = 0;
    const o = new Float32Array(outDim);
    for (let b = 0; b < batch; b++) {
      convForwardReference(c, free, net.input.subarray(b * inDim, (b + 1) * inDim), o);
      for (let i = 0; i < outDim; i++) s += u[b * outDim + i]! * o[i]!;
    }
    return s;
  };
  const L = convFreeLayout(c);
  const probes = [...L.dense.flatMap((d) => [d.W + 2, d.b + 1]), L.conv[0]!.K, L.conv[0]!.K + 7, L.conv[1]!.b + 2, L.conv[1]!.K + 13, L.headW + 4, L.headB + 1];
  for (const idx of probes) {
    const h = 1e-3;
    const plus = Float32Array.from(net.free); plus[idx]! += h;
    const minus = Float32Array.from(net.free); minus[idx]! -= h;
    const fd = (loss(plus) - loss(minus)) / (2 * h);
    assert.ok(Math.abs(fd - g[idx]!) <= 2e-2 * Math.max(1, Math.abs(fd)), `param ${idx}: analytic ${g[idx]} vs finite difference ${fd}`);
  }
});

test('ConvTrainer: after optimiser steps the dense weights and EMA are still exactly the expansion of the free ones', () => {
  const c = SMALL, batch = 4;
  const net = new ConvTrainer(c, batch, createTrainKernels(1 << 16), new Rng(2));
  const r = new SeededRandom(4);
  const before = Float32Array.from(net.free);
  for (let s = 0; s < 5; s++) {
    for (let i = 0; i < net.input.length; i++) net.input[i] = r.normal();
    net.forward();
    for (let i = 0; i < net.gradOutput.length; i++) net.gradOutput[i] = r.normal();
    net.backward();
    net.step();
  }
  assert.is(net.stepCount, 5);
  assert.ok(net.free.some((v, i) => v !== before[i]), 'the free parameters moved');
  const d = new Float32Array(net.params.length);
  expandConvWeights(c, net.free, d);
  assert.ok(d.every((v, i) => v === net.params[i]), 'params = expand(free)');
  expandConvWeights(c, net.freeEma, d);
  assert.ok(d.every((v, i) => v === net.ema[i]), 'ema = expand(freeEma)');
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

test('KdpTrainer: arch mlp (the default) builds the plain MlpTrainer; arch conv the ConvTrainer with the problem\'s steps', () => {
  const base = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 2, samplesPerCondition: 4, positivesPerCondition: 4, noiseDim: 2, hidden: [8] };
  const mlp = new KdpTrainer(seriesProblem(3), base);
  assert.is(mlp.net.constructor, MlpTrainer);
  assert.is(mlp.convSpec, null);
  const conv = new KdpTrainer(seriesProblem(3), { ...base, arch: 'conv', conv: { channels: 2, kernel: 3, layers: 1 } });
  assert.instance(conv.net, ConvTrainer);
  assert.equal(conv.convSpec, { noiseDim: 2, condDim: 3, horizon: 4, stepDim: 3, clampDims: 2, channels: 2, kernel: 3, layers: 1 });
  assert.equal(conv.spec.hidden, [8, 8]);
  const s = conv.step();
  assert.ok(Number.isFinite(s.loss) && Number.isFinite(s.gradNorm));
});

test('KdpTrainer: --arch conv on a problem without time steps, or with an even kernel, is a UsageError that says what to do', () => {
  const base = { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 2, samplesPerCondition: 4, positivesPerCondition: 4, noiseDim: 2, arch: 'conv' as const };
  for (const [problem, conv, msg] of [
    [seriesProblem(), { channels: 2, kernel: 3, layers: 1 }, /time-series window/],
    [seriesProblem(3), { channels: 2, kernel: 4, layers: 1 }, /kernel must be odd/],
  ] as const) {
    try {
      new KdpTrainer(problem, { ...base, conv });
      assert.unreachable('should refuse');
    } catch (e) {
      assert.instance(e, UsageError);
      assert.match((e as Error).message, msg);
      assert.ok((e as UsageError).hint, 'has a hint');
    }
  }
  assert.throws(() => checkConvSpec({ ...SMALL, kernel: 15 }), /wider than the window/);
});

test.run();
