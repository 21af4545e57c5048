import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createDriftScratch, driftGroup, keyDistances, keyDistancesGemm } from '../../src/train/drift.js';
import { createTrainKernels } from '../../src/train/wasm-kernels.js';
import { Rng } from '../../src/util/rng.js';

/** V for 1-D samples, key = the value itself; returns the mean drift over generated samples. */
function drift1d(gen: number[], pos: number[], tau: number, repulsion = true): Float32Array {
  const k = createTrainKernels(1 << 20, 'wasm');
  const M = gen.length, P = pos.length;
  const s = createDriftScratch(k, M, P);
  const stacked = k.alloc((P + M));
  stacked.set(pos, 0); stacked.set(gen, P);
  const Kx = Float32Array.from(gen), Kp = Float32Array.from(pos);
  keyDistances(Kx, Kp, 1, M, P, s.dist, s.raw);
  const V = k.alloc(M);
  driftGroup(s, k, M, P, 1, stacked, V, { tau, repulsion });
  return Float32Array.from(V);
}

const mean = (a: ArrayLike<number>): number => Array.from(a).reduce((x, y) => x + y, 0) / a.length;

test('1-D: the drift points from the generated samples toward the data', () => {
  const rng = new Rng(1);
  const pos = Array.from({ length: 128 }, () => rng.normal());
  const genRight = Array.from({ length: 64 }, () => 3 + rng.normal());
  const genLeft = Array.from({ length: 64 }, () => -3 + rng.normal());
  for (const tau of [0.05, 0.2, 1]) {
    assert.ok(mean(drift1d(genRight, pos, tau)) < -1e-3, `tau ${tau}: right cloud should move left`);
    assert.ok(mean(drift1d(genLeft, pos, tau)) > 1e-3, `tau ${tau}: left cloud should move right`);
  }
});

test('anti-symmetry: V ≈ 0 when the generated samples match the data distribution', () => {
  const rng = new Rng(2);
  const pos = Array.from({ length: 256 }, () => rng.normal());
  const same = Array.from({ length: 256 }, () => rng.normal());
  const shifted = same.map((x) => x + 1.5);
  const rms = (v: Float32Array): number => Math.sqrt(mean(Array.from(v).map((x) => x * x)));
  const vSame = drift1d(same, pos, 0.2);
  const vShift = drift1d(shifted, pos, 0.2);
  assert.ok(Math.abs(mean(vSame)) < 0.1 * Math.abs(mean(vShift)), `mean drift ${mean(vSame)} vs shifted ${mean(vShift)}`);
  assert.ok(rms(vSame) < 0.35 * rms(vShift), `rms ${rms(vSame)} vs ${rms(vShift)}`);
});

test('repulsion spreads identical samples; attraction-only does not', () => {
  const pos = [-1, -0.5, 0, 0.5, 1];
  const gen = [0.01, 0.02, 0.03, 0.04];
  const v = drift1d(gen, pos, 0.2, true);
  const va = drift1d(gen, pos, 0.2, false);
  // with repulsion the outer samples are pushed outward relative to the inner ones
  assert.ok(v[3]! - v[0]! > va[3]! - va[0]!, 'repulsion widens the cloud more than attraction alone');
});

test('the self pair is masked: a lone generated sample gets no repulsion from itself', () => {
  const v = drift1d([0.5], [0.5], 0.1);
  assert.ok(Math.abs(v[0]!) < 1e-6);
});

test('GEMM distances equal the direct ones (normalised, with accumulation)', () => {
  const k = createTrainKernels(1 << 20, 'wasm');
  const rng = new Rng(9);
  const M = 7, P = 11, nb = 37, cols = P + M;
  const Kx = new Float32Array(M * nb), Kp = new Float32Array(P * nb);
  rng.fillNormal(Kx); rng.fillNormal(Kp);
  const T = k.alloc(nb * cols);
  for (let r = 0; r < cols; r++) for (let j = 0; j < nb; j++) T[j * cols + r] = r < P ? Kp[r * nb + j]! : Kx[(r - P) * nb + j]!;
  const a = new Float32Array(M * cols).fill(0.5), b = new Float32Array(M * cols).fill(0.5), raw = new Float32Array(M * cols);
  keyDistances(Kx, Kp, nb, M, P, a, raw, 2, true);
  keyDistancesGemm(k, T, nb, M, P, k.alloc(M * cols), new Float64Array(cols), b, raw, 2, true);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `${i}: ${a[i]} vs ${b[i]}`);
});

test.run();
