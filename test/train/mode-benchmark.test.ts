import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crossingMode, runModeBenchmark } from '../../src/train/mode-benchmark.js';
import { DetourProblem, polylineHitsDisc } from '../../src/train/tasks/detour.js';
import { Rng } from '../../src/util/rng.js';
import { DEFAULT_KDP_CONFIG, KdpTrainer } from '../../src/train/kdp-trainer.js';

test('detour data: both modes 50/50, no demonstration hits the obstacle, nuisance is condition-independent', () => {
  const p = new DetourProblem({ horizon: 16, nuisance: 8, trajectories: 2000, seed: 1 });
  let up = 0;
  for (let i = 0; i < p.count; i++) {
    const m = crossingMode(p.data, i * p.windowDim, 16);
    assert.ok(m !== 0, 'every demonstration crosses x = 0');
    if (m > 0) up++;
    assert.not.ok(polylineHitsDisc(p.data, i * p.windowDim, 16));
  }
  assert.ok(Math.abs(up / p.count - 0.5) < 0.05, `up share ${up / p.count}`);
  assert.is(p.keyDims.length, 8);
  assert.equal(Array.from(p.blocks[0]!.dims), [32, 33, 34, 35, 36, 37, 38, 39]);
});

test('positives are the nearest demonstrations by start (kNN) or random (naive)', () => {
  const p = new DetourProblem({ horizon: 8, nuisance: 0, trajectories: 3000, seed: 2 });
  const cond = new Float32Array(2 * 4), pos = new Float32Array(4 * 32 * p.windowDim), posCond = new Float32Array(4 * 32 * 2);
  p.sample(new Rng(3), 4, 32, true, cond, pos, posCond);
  for (let g = 0; g < 4; g++) for (let k = 0; k < 32; k++) {
    const d = Math.hypot(posCond[(g * 32 + k) * 2]! - cond[2 * g]!, posCond[(g * 32 + k) * 2 + 1]! - cond[2 * g + 1]!);
    assert.ok(d < 0.1, `neighbour ${k} of condition ${g} is ${d} away`);
    assert.is(pos[(g * 32 + k) * p.windowDim], posCond[(g * 32 + k) * 2], 'window starts at its own condition');
  }
});

test('short training: repulsion keeps both modes, attraction-only collapses to one plan per condition', async () => {
  const r = await runModeBenchmark({
    horizon: 16, nuisance: 0, steps: 250, seed: 0, trajectories: 4000, evalConditions: 24, samplesPerCondition: 32,
    variants: ['keyed', 'no-repulsion'], config: { conditionsPerStep: 8, hidden: [128, 128] },
  });
  const k = r.variants.keyed!, n = r.variants['no-repulsion']!;
  assert.ok(n.diversity < 0.4 * k.diversity, `diversity: no-repulsion ${n.diversity} vs keyed ${k.diversity}`);
  assert.ok(n.modeCoverage <= 0.1, `no-repulsion coverage ${n.modeCoverage}`);
  assert.ok(k.modeCoverage >= 0.6, `keyed coverage ${k.modeCoverage}`);
  assert.is(k.startError, 0, 'the first state is clamped to the condition');
});

test('an abort stops the benchmark at the next yield and returns the variants that finished', async () => {
  const ac = new AbortController();
  let abortedAt: string | undefined;
  const r = await runModeBenchmark({
    horizon: 8, nuisance: 0, steps: 100_000, seed: 0, trajectories: 500, evalConditions: 4, samplesPerCondition: 8,
    variants: ['keyed', 'full'], config: { conditionsPerStep: 2, samplesPerCondition: 4, positivesPerCondition: 8, hidden: [16] },
    onProgress: (v, step) => { if (v === 'keyed' && step > 50 && !abortedAt) { abortedAt = v; ac.abort(); } },
    signal: ac.signal,
  });
  assert.is(abortedAt, 'keyed');
  assert.ok(r.interrupted, 'marked interrupted');
  assert.is(r.interrupted!.variant, 'keyed');
  assert.ok(r.interrupted!.step < 100_000, `stopped at step ${r.interrupted!.step}`);
  assert.equal(Object.keys(r.variants), [], 'no variant finished');
});

test('generate() uses the EMA weights and leaves the training weights untouched', () => {
  const p = new DetourProblem({ horizon: 8, nuisance: 0, trajectories: 500, seed: 4 });
  const t = new KdpTrainer(p, { ...DEFAULT_KDP_CONFIG, conditionsPerStep: 2, samplesPerCondition: 4, positivesPerCondition: 8, hidden: [16] });
  for (let i = 0; i < 3; i++) t.step();
  const before = Float32Array.from(t.net.params);
  const out = new Float32Array(2 * 3 * p.windowDim);
  t.generate(new Float32Array([-0.8, 0.1, -0.7, -0.2]), 2, 3, out);
  assert.equal(Array.from(t.net.params), Array.from(before));
  assert.is(out[0], Math.fround(-0.8));
  assert.ok(out.every(Number.isFinite));
});

test.run();
