import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/control/clock.js';
import { isOracleSelect } from '../../src/control/env-loop.js';
import { RecedingHorizonLoop, type LoopConfig } from '../../src/control/receding-horizon.js';
import type { PlannerBackend } from '../../src/planner/planner-backend.js';
import { createFloatScorer } from '../../src/planner/scorer-backend.js';
import { createTfliteScorer, loadModelDir } from '../../src/planner/model-loader.js';
import type { NormalizerJson, WindowLayout } from '../../src/model/checkpoint-format.js';
import type { MlpWeights } from '../../src/model/mlp-spec.js';
import type { TrajectoryDataset } from '../../src/data/dataset.js';
import { ScorerTrainer, DEFAULT_SCORER_CONFIG } from '../../src/train/scorer-trainer.js';
import { attachScorer, exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { writeFilesAtomic } from '../../src/util/atomic-write.js';
import { makeFixtureCheckpoint } from '../helpers/fixture-checkpoint.js';
import { handScorer, writeHandScorer } from '../helpers/hand-scorer.js';
import { measureAllocations } from '../../src/util/alloc-meter.js';

const H = 4, S = 4, A = 2, step = S + A, N = 3;
const layout: WindowLayout = { horizon: H, frameSkip: 1, stateDim: S, actionDim: A, goalDim: 2, dt: 0.01, stateNames: ['x', 'y', 'vx', 'vy'], actionNames: ['ax', 'ay'] };
const normalizer: NormalizerJson = {
  kind: 'zscore', state: { shift: [0, 0, 0, 0], scale: [1, 1, 1, 1] }, action: { shift: [0, 0], scale: [1, 1] }, goal: { shift: [0, 0], scale: [1, 1] },
};

/** A planner whose N plans are fixed: candidate i's waypoints sit at x = xs[i][t], y = 0. */
function fixedPlanner(xs: number[][]): PlannerBackend {
  const outDim = H * step - S;
  const plan = new Float32Array(N * outDim);
  xs.forEach((row, i) => row.forEach((x, t) => { plan[i * outDim + (t + 1) * step - S] = x; }));
  return { name: 'fixed', candidates: N, noiseDim: 1, condDim: S + 2, outDim, noise: new Float32Array(N), condition: new Float32Array(N * (S + 2)), plan, arenaBytes: 0, invoke: () => {} };
}

function config(planner: PlannerBackend, extra: Partial<LoopConfig> = {}): LoopConfig {
  return {
    planner, layout, normalizer, clock: new VirtualClock(), seed: 1, select: 'learned', act: 'track', replanEvery: 1, budgetUs: 1e9,
    positionDims: [0, 1], velocityDims: [2, 3], kp: 1, kd: 1, actionLow: -1, actionHigh: 1, ...extra,
  };
}

test('learned selection: the plan that stays where the data went wins over one that ends nearer the goal through a wall', () => {
  // goal at x = 2; candidate 0 ends at the goal but crosses x > 1 (unvisited), candidate 1 stays at x ≤ 1
  // and ends 1 from the goal, candidate 2 stays but ends 1.5 away
  const planner = fixedPlanner([[1.5, 1.8, 2.0], [0.5, 0.8, 1.0], [0.2, 0.4, 0.5]]);
  const loop = new RecedingHorizonLoop(config(planner, { scorer: handScorer(N * (H - 1)), infeasibleCost: 100 }));
  const state = new Float32Array(4), goal = new Float32Array([2, 0]), action = new Float32Array(2);
  loop.tick(state, goal, action);
  assert.is(loop.selected, 1);
  // goal-distance selection, with no occupancy model, is fooled by the wall-crossing plan
  const greedy = new RecedingHorizonLoop(config(planner, { select: 'goal' }));
  greedy.tick(state, goal, action);
  assert.is(greedy.selected, 0);
});

test('learned selection counts the plans it had to accept outside the learned occupancy', () => {
  const planner = fixedPlanner([[1.5, 1.8, 2.0], [1.2, 1.3, 1.4], [1.1, 1.2, 3.0]]);
  const loop = new RecedingHorizonLoop(config(planner, { scorer: handScorer(N * (H - 1)), infeasibleCost: 100 }));
  loop.tick(new Float32Array(4), new Float32Array([2, 0]), new Float32Array(2));
  assert.is(loop.stats.infeasiblePlans, 1);
  assert.is(loop.selected, 0); // all leave the occupancy; the one with the best cost-to-go + fewest bad waypoints
});

test('--select learned without a scorer, or with one sized for another loop, is refused with a typed error', () => {
  const planner = fixedPlanner([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
  assert.throws(() => new RecedingHorizonLoop(config(planner)), (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && /scorer/.test(e.message));
  assert.throws(() => new RecedingHorizonLoop(config(planner, { scorer: handScorer(5) })), (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && /rows/.test(e.message));
});

test('planning with the learned scorer allocates nothing: 0 GC events in 3 × 20,000 replans (real interpreters)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-scorer-alloc-'));
  const fx = makeFixtureCheckpoint(join(dir, 'run'), { noiseDim: 4, condDim: 6, hidden: [16], outDim: H * step - S, activation: 'relu', seed: 4 });
  writeHandScorer(join(dir, 'scorer'), fx.meta.env, fx.meta.normalizer);
  exportCheckpoint({ checkpoint: join(dir, 'run'), out: join(dir, 'model'), scorer: join(dir, 'scorer'), candidates: N, quantization: 'int8' });
  const model = loadModelDir(join(dir, 'model'));
  const { createTflitePlanner } = await import('../../src/planner/model-loader.js');
  const loop = new RecedingHorizonLoop(config(createTflitePlanner(model, N), { scorer: createTfliteScorer(model, N), normalizer: model.manifest.normalizer }));
  const state = new Float32Array([0.1, 0.2, 0, 0]), goal = new Float32Array([1, 1]), action = new Float32Array(2);
  const ticks = (n: number): void => { for (let i = 0; i < n; i++) { state[0] = (i % 50) * 0.01; loop.tick(state, goal, action); } };
  ticks(30_000); // JIT warm-up: optimised code and its feedback are heap too, once
  // three windows: per-tick garbage shows in every one (and as scavenges); a one-off lazy allocation inside
  // V8 (seen on the loaded CI host in the full parallel run: 3.8 MB in one window, no GC) lands in one window only
  const windows = [await measureAllocations(ticks, 20_000), await measureAllocations(ticks, 20_000), await measureAllocations(ticks, 20_000)];
  for (const w of windows) assert.is(w.gcCount, 0, `GC events: ${windows.map((x) => x.gcCount).join(', ')}`);
  const least = Math.min(...windows.map((w) => w.heapGrowthBytes));
  assert.ok(least < 64 * 1024, `heap growth per window ${windows.map((w) => w.heapGrowthBytes).join(', ')} B`);
  assert.ok(loop.stats.plans >= 90_000);
});

test('only map-reading selections are oracle variants', () => {
  assert.ok(isOracleSelect('map-cost'));
  assert.ok(isOracleSelect('cost'));
  for (const s of ['learned', 'goal', 'random', 'value'] as const) assert.not.ok(isOracleSelect(s));
});

/** An L-shaped corridor: x ∈ [0, 4] at y ≈ 0, then y ∈ [0, 4] at x ≈ 4; every segment ends at the goal (4, 4). */
function corridorDataset(): TrajectoryDataset {
  const rows: number[][] = [];
  const ends: number[] = [];
  for (let e = 0; e < 40; e++) {
    const x0 = (e % 10) * 0.4;
    const pts: Array<[number, number]> = [];
    for (let x = x0; x < 4; x += 0.05) pts.push([x, 0.05 * Math.sin(e + x * 7)]);
    for (let y = 0; y <= 4; y += 0.05) pts.push([4 + 0.05 * Math.sin(e + y * 5), y]);
    for (const [x, y] of pts) rows.push([x, y, 0, 0, 0, 0, 4, 4]);
    ends.push(rows.length);
  }
  const n = rows.length;
  const obs = new Float32Array(n * 4), act = new Float32Array(n * 2), goals = new Float32Array(n * 2);
  rows.forEach((r, i) => { obs.set(r.slice(0, 4), i * 4); goals.set(r.slice(6), i * 2); });
  return { source: 'memory:corridor', format: 'memory', stateDim: 4, actionDim: 2, goalDim: 2, length: n, observations: obs, actions: act, goals, episodeEnds: Int32Array.from(ends) };
}

const corridorNorm: NormalizerJson = {
  kind: 'zscore', state: { shift: [2, 2, 0, 0], scale: [2, 2, 1, 1] }, action: { shift: [0, 0], scale: [1, 1] }, goal: { shift: [2, 2], scale: [2, 2] },
};

test('the scorer learns the corridor from data alone: inside free, the empty corner not, cost-to-go follows the corridor', () => {
  const t = new ScorerTrainer(corridorDataset(), corridorNorm, { positionDims: [0, 1] }, { ...DEFAULT_SCORER_CONFIG, steps: 1500, batch: 256, hidden: [32, 32], seed: 3 });
  for (let i = 0; i < 1500; i++) t.step();
  const h = t.holdout(4096);
  assert.ok(h.occAccuracy > 0.85, `occupancy accuracy ${h.occAccuracy}`);
  const sc = createFloatScorer({ spec: t.spec, layers: unpack(t) }, 4, t.ctgScale);
  const put = (r: number, x: number, y: number): void => { sc.points[r * 2] = (x - 2) / 2; sc.points[r * 2 + 1] = (y - 2) / 2; sc.goals[r * 2] = 1; sc.goals[r * 2 + 1] = 1; };
  put(0, 1, 0); put(1, 4, 2); put(2, 1, 3); put(3, 3.9, 0.05);
  sc.invoke();
  assert.ok(sc.out[0]! > 0 && sc.out[2]! > 0, `corridor points free: ${sc.out[0]}, ${sc.out[2]}`);
  assert.ok(sc.out[4]! < 0, `the empty corner (1, 3) is not: ${sc.out[4]}`);
  // cost-to-go along the corridor: (1, 0) is farther from the goal than (4, 2) — the way the data went
  const ctg = (r: number): number => sc.out[r * 2 + 1]! * sc.ctgScale;
  assert.ok(ctg(0) > ctg(3) && ctg(3) > ctg(1), `ctg ${ctg(0)} > ${ctg(3)} > ${ctg(1)}`);
});

function unpack(t: ScorerTrainer): MlpWeights['layers'] {
  const restore = t.net.useEma();
  try {
    const flat = Float32Array.from(t.net.params);
    let off = 0;
    const dims = [4, ...t.spec.hidden, 2];
    return dims.slice(0, -1).map((inDim, i) => {
      const outDim = dims[i + 1]!;
      const W = flat.subarray(off, off + inDim * outDim); off += inDim * outDim;
      const b = flat.subarray(off, off + outDim); off += outDim;
      return { inDim, outDim, W, b };
    });
  } finally {
    restore();
  }
}

test('kdp export --scorer ships scorer.tflite; the loaded int8 scorer agrees with the float network; a tampered scorer is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-scorer-'));
  // a generator fixture and a scorer folder with hand weights
  const ck = join(dir, 'run');
  const fx = makeFixtureCheckpoint(ck, { noiseDim: 4, condDim: 6, hidden: [16], outDim: H * step - S, activation: 'relu', seed: 2 });
  writeHandScorer(join(dir, 'scorer'), fx.meta.env, fx.meta.normalizer);
  const out = join(dir, 'model');
  const r = exportCheckpoint({ checkpoint: ck, out, scorer: join(dir, 'scorer'), scorerQuantization: 'int8', candidates: N, quantization: 'int8' });
  const k = r.manifest.scorer!.occupancyScale ?? 1;
  assert.ok(k > 0 && k <= 1);
  assert.ok(r.manifest.scorer);
  assert.equal(r.manifest.scorer!.inputs.map((t) => t.shape), [[N * (H - 1), 2], [N * (H - 1), 2]]);
  const model = loadModelDir(out);
  assert.ok(model.scorerBytes && model.scorerBytes.length === r.manifest.scorer!.bytes);
  const tfl = createTfliteScorer(model, N);
  const ref = handScorer(N * (H - 1));
  for (let i = 0; i < tfl.rows; i++) {
    const x = -2 + (4 * i) / tfl.rows;
    tfl.points[i * 2] = ref.points[i * 2] = x;
    tfl.goals[i * 2] = ref.goals[i * 2] = 0.5;
  }
  tfl.invoke(); ref.invoke();
  for (let i = 0; i < tfl.rows * 2; i++) {
    const got = i % 2 === 0 ? tfl.out[i]! / k : tfl.out[i]!;
    assert.ok(Math.abs(got - ref.out[i]!) < 0.1 / (i % 2 === 0 ? k : 1), `row ${i >> 1}: int8 ${got} vs float ${ref.out[i]}`);
  }
  assert.is(r.manifest.scorer!.weightBits, 8, 'the scorer keeps 8-bit weights by default');
  // fp32 on request: the float network's numbers
  const f32 = join(dir, 'model-f32');
  exportCheckpoint({ checkpoint: ck, out: f32, scorer: join(dir, 'scorer'), scorerQuantization: 'fp32', candidates: N, quantization: 'int8', weightBits: 6 });
  const m32 = loadModelDir(f32);
  assert.is(m32.manifest.scorer!.quantization, 'fp32');
  const s32 = createTfliteScorer(m32, N);
  s32.points.set(ref.points); s32.goals.set(ref.goals); s32.invoke();
  const k32 = m32.manifest.scorer!.occupancyScale ?? 1;
  for (let i = 0; i < s32.rows * 2; i++) assert.ok(Math.abs((i % 2 === 0 ? s32.out[i]! / k32 : s32.out[i]!) - ref.out[i]!) < 1e-4);
  // attaching to an exported model keeps model.tflite byte for byte
  const plain = join(dir, 'plain');
  exportCheckpoint({ checkpoint: ck, out: plain, candidates: N, quantization: 'int8' });
  const before = readFileSync(join(plain, 'model.tflite'));
  const a = attachScorer({ model: plain, scorer: join(dir, 'scorer') });
  assert.ok(a.manifest.scorer);
  assert.equal(readFileSync(join(plain, 'model.tflite')), before);
  // a flipped byte in scorer.tflite: refused at load, naming the file
  const f = join(out, 'scorer.tflite');
  const buf = readFileSync(f); buf[buf.length - 5] = buf[buf.length - 5]! ^ 1;
  writeFilesAtomic([[f, buf]]);
  assert.throws(() => loadModelDir(out), (e: Error & { code?: string }) => e.code === 'E_MODEL_IO' && /scorer\.tflite/.test(e.message));
});

test.run();
