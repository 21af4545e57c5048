import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/control/clock.js';
import { RecedingHorizonLoop, type LoopConfig } from '../../src/control/receding-horizon.js';
import { SubgoalStage } from '../../src/control/subgoal-stage.js';
import { createEnvLoop, modelRoutes } from '../../src/control/env-loop.js';
import type { PlannerBackend } from '../../src/planner/planner-backend.js';
import { createTflitePlanner, createTfliteScorer, loadModelDir } from '../../src/planner/model-loader.js';
import { exportCheckpoint } from '../../src/planner/export/export-checkpoint.js';
import { attachRoutes } from '../../src/planner/export/attach-routes.js';
import type { NormalizerJson, WindowLayout } from '../../src/model/checkpoint-format.js';
import { writeFilesAtomic } from '../../src/util/atomic-write.js';
import { measureAllocations } from '../../src/util/alloc-meter.js';
import { makeFixtureCheckpoint } from '../helpers/fixture-checkpoint.js';
import { handScorer, writeHandScorer } from '../helpers/hand-scorer.js';
import { runKdp } from '../helpers/cli.js';

const S = 4, A = 2, step = S + A, N = 3;
const mk = (horizon: number, frameSkip: number): WindowLayout => ({ horizon, frameSkip, stateDim: S, actionDim: A, goalDim: 2, dt: 0.01, stateNames: ['x', 'y', 'vx', 'vy'], actionNames: ['ax', 'ay'] });
const segLayout = mk(4, 1), routeLayout = mk(5, 8);
// the route generator's normalizer differs from the segment generator's: the stage must use its own
const routeNorm: NormalizerJson = { kind: 'zscore', state: { shift: [1, 0, 0, 0], scale: [2, 1, 1, 1] }, action: { shift: [0, 0], scale: [1, 1] }, goal: { shift: [1, 0], scale: [2, 1] } };
const segNorm: NormalizerJson = { kind: 'zscore', state: { shift: [0, 0, 0, 0], scale: [1, 1, 1, 1] }, action: { shift: [0, 0], scale: [1, 1] }, goal: { shift: [0, 0], scale: [1, 1] } };

/** A planner whose N plans are fixed (normalized x per waypoint, y = 0); records the conditions it was given. */
function fixedPlanner(layout: WindowLayout, xs: number[][]): PlannerBackend & { seen: Float32Array } {
  const outDim = layout.horizon * step - S;
  const plan = new Float32Array(N * outDim);
  xs.forEach((row, i) => row.forEach((x, t) => { plan[i * outDim + (t + 1) * step - S] = x; }));
  const condition = new Float32Array(N * (S + 2));
  const seen = new Float32Array(S + 2);
  return { name: 'fixed', candidates: N, noiseDim: 1, condDim: S + 2, outDim, noise: new Float32Array(N), condition, plan, arenaBytes: 0, invoke: () => { seen.set(condition.subarray(0, S + 2)); }, seen };
}

function stage(routes: number[][], lookahead: number): SubgoalStage {
  return new SubgoalStage({
    planner: fixedPlanner(routeLayout, routes), layout: routeLayout, normalizer: routeNorm, scorer: handScorer(N * (routeLayout.horizon - 1)),
    positionDims: [0, 1], lookahead, infeasibleCost: 100, seed: 1,
  });
}

test('the route stage picks the route the learned scorer prefers and hands on its position lookahead env steps ahead, un-normalized', () => {
  // scorer (normalized units): x > 1 unvisited, cost-to-go |x − gx|. Goal x = 3 → normalized (3 − 1) / 2 = 1.
  // route 0 reaches the goal through x > 1 (unvisited); route 1 stays ≤ 1 and gets nearest; route 2 lags
  const st = stage([[0.5, 1.5, 2, 2], [0.2, 0.6, 0.9, 1], [0.1, 0.2, 0.3, 0.4]], 16);
  const out = new Float32Array(2);
  st.choose(new Float32Array([1, 0, 0, 0]), new Float32Array([3, 0]), out);
  assert.is(st.selected, 1);
  assert.is(st.subgoalIndex, 2); // 16 env steps / frame skip 8
  assert.ok(Math.abs(out[0]! - (0.6 * 2 + 1)) < 1e-6, `subgoal x ${out[0]}`); // route 1, step 2: 0.6 normalized → 2.2
  assert.is(out[1], 0);
  // a lookahead past the route holds its last step; below one step, the first step after s_0
  assert.is(stage([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], 1000).subgoalIndex, 4);
  assert.is(stage([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], 1).subgoalIndex, 1);
});

test('with routes, segment plans are selected toward the subgoal; the generator sees the goal or the subgoal as configured', () => {
  // routes (normalized x per step): the scorer's cost-to-go is |x − goal x|
  const routes = [[0.2, 0.6, 0.9, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]];
  const mkLoop = (conditionOnSubgoal: boolean): { loop: RecedingHorizonLoop; seg: ReturnType<typeof fixedPlanner> } => {
    const seg = fixedPlanner(segLayout, [[0.3, 0.35, 0.4], [0.9, 0.95, 1.0], [0.6, 0.7, 0.8]]);
    const st = new SubgoalStage({ planner: fixedPlanner(routeLayout, routes), layout: routeLayout, normalizer: routeNorm, scorer: handScorer(N * 4), positionDims: [0, 1], lookahead: 8, infeasibleCost: 0, seed: 1 });
    const cfg: LoopConfig = {
      planner: seg, layout: segLayout, normalizer: segNorm, clock: new VirtualClock(), seed: 1, select: 'learned', act: 'track', replanEvery: 1, budgetUs: 1e9,
      positionDims: [0, 1], velocityDims: [2, 3], kp: 1, kd: 1, actionLow: -1, actionHigh: 1, scorer: handScorer(N * 3), infeasibleCost: 0,
      subgoals: st, subgoalConditions: conditionOnSubgoal,
    };
    return { loop: new RecedingHorizonLoop(cfg), seg };
  };
  // goal x = 0 (route-normalized −0.5): route 1 is nearest it; its step 1 (8 env steps / frame skip 8) at
  // 0.1 → subgoal x = 0.1 · 2 + 1 = 1.2. Toward the goal, segment 0 (x ≈ 0.35) would win; toward 1.2, segment 1.
  const goal = new Float32Array([0, 0]);
  const state = new Float32Array([1, 0, 0, 0]);
  for (const onSubgoal of [false, true]) {
    const { loop, seg } = mkLoop(onSubgoal);
    loop.tick(state, goal, new Float32Array(2));
    assert.ok(Math.abs(loop.subgoal[0]! - 1.2) < 1e-6, `subgoal ${loop.subgoal[0]}`);
    assert.is(loop.selected, 1);
    assert.ok(Math.abs(seg.seen[S]! - (onSubgoal ? 1.2 : 0)) < 1e-6, `generator goal input ${seg.seen[S]} (conditioned on the ${onSubgoal ? 'subgoal' : 'goal'})`);
  }
  // only the first waypoint toward the subgoal, the rest toward the goal: segment 0 (0.9 + 0.35 + 0.4 beats 0.3 + 0.95 + 1.0)
  const split = mkLoop(false).loop;
  const splitLoop = new RecedingHorizonLoop({ ...split.cfg, subgoalSteps: 1 } as LoopConfig);
  splitLoop.tick(state, goal, new Float32Array(2));
  assert.is(splitLoop.selected, 0);
  const sc = splitLoop.cfg.scorer!;
  assert.ok(Math.abs(sc.goals[0]! - 1.2) < 1e-6 && sc.goals[2] === 0, `scorer goals of candidate 0: ${sc.goals[0]}, ${sc.goals[2]} (subgoal, then goal)`);
  // the same segments without routes: the one nearest the goal
  const flat = mkLoop(false).loop;
  const plain = new RecedingHorizonLoop({ ...flat.cfg, subgoals: undefined } as LoopConfig);
  plain.tick(state, goal, new Float32Array(2));
  assert.is(plain.selected, 0);
});

test('a route stage that does not fit is refused with a typed error', () => {
  const bad = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && re.test(e.message));
  bad(() => new SubgoalStage({ planner: fixedPlanner(routeLayout, []), layout: routeLayout, normalizer: routeNorm, scorer: handScorer(5), positionDims: [0, 1], lookahead: 8, infeasibleCost: 0, seed: 1 }), /rows/);
  bad(() => new SubgoalStage({ planner: fixedPlanner(routeLayout, []), layout: routeLayout, normalizer: routeNorm, scorer: handScorer(N * 4), positionDims: [0, 1, 2], lookahead: 8, infeasibleCost: 0, seed: 1 }), /position/);
});

/** A fixture model with the hand scorer and a route generator attached (real int8 TFLite files). */
function hierarchicalModel(dir: string): string {
  const seg = makeFixtureCheckpoint(join(dir, 'run'), { noiseDim: 4, condDim: 6, hidden: [16], outDim: 4 * step - S, activation: 'relu', seed: 4 });
  makeFixtureCheckpoint(join(dir, 'routes-run'), { noiseDim: 4, condDim: 6, hidden: [16], outDim: 3 * step - S, activation: 'relu', seed: 5 });
  writeHandScorer(join(dir, 'scorer'), seg.meta.env, seg.meta.normalizer);
  exportCheckpoint({ checkpoint: join(dir, 'run'), out: join(dir, 'model'), scorer: join(dir, 'scorer'), candidates: N, quantization: 'int8' });
  return join(dir, 'model');
}

test('attachRoutes ships routes.tflite (model and scorer byte for byte); the loader builds the route model; a tampered routes.tflite is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-routes-'));
  const model = hierarchicalModel(dir);
  const before = [readFileSync(join(model, 'model.tflite')), readFileSync(join(model, 'scorer.tflite'))];
  const a = attachRoutes({ model, routes: join(dir, 'routes-run'), lookahead: 2 });
  assert.equal([readFileSync(join(model, 'model.tflite')), readFileSync(join(model, 'scorer.tflite'))], before);
  const r = a.manifest.routes!;
  assert.is(r.file, 'routes.tflite');
  assert.is(r.layout.horizon, 3);
  assert.is(r.lookahead, 2);
  assert.is(r.conditionOn, 'goal');
  assert.is(r.quantization, 'int8');
  const m = loadModelDir(model);
  assert.ok(m.routes);
  assert.is(m.routes!.manifest.layout.horizon, 3);
  assert.is(m.routes!.bytes.length, r.bytes);
  assert.equal(modelRoutes(m, 'learned')?.lookahead, 2);
  assert.is(modelRoutes(m, 'learned')?.subgoalSteps, undefined);
  assert.is(attachRoutes({ model, routes: join(dir, 'routes-run'), lookahead: 2, subgoalSteps: 2 }).manifest.routes!.subgoalSteps, 2);
  assert.is(modelRoutes(loadModelDir(model), 'learned')?.subgoalSteps, 2);
  assert.throws(() => attachRoutes({ model, routes: join(dir, 'routes-run'), lookahead: 2, subgoalSteps: 4 }), (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && /subgoal steps/.test(e.message));
  assert.is(modelRoutes(m, 'goal'), undefined, 'routes are picked by the learned scorer only');
  assert.is(modelRoutes(m, 'learned', false), undefined);
  // refusals: a lookahead past the route window; a model without a scorer; a route net for other dims
  assert.throws(() => attachRoutes({ model, routes: join(dir, 'routes-run'), lookahead: 3 }), (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && /past its window/.test(e.message));
  exportCheckpoint({ checkpoint: join(dir, 'run'), out: join(dir, 'plain'), candidates: N, quantization: 'int8' });
  assert.throws(() => attachRoutes({ model: join(dir, 'plain'), routes: join(dir, 'routes-run'), lookahead: 1 }), (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && /no learned scorer/.test(e.message));
  makeFixtureCheckpoint(join(dir, 'other'), { noiseDim: 4, condDim: 5, hidden: [8], outDim: 3 * 5 - 3, activation: 'relu', seed: 6 });
  assert.throws(() => attachRoutes({ model, routes: join(dir, 'other'), lookahead: 1 }), (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && /dims/.test(e.message));
  // an exported route folder whose normalizer is not the model's: the shared scorer would misread it
  exportCheckpoint({ checkpoint: join(dir, 'routes-run'), out: join(dir, 'routes-model'), candidates: N, quantization: 'int8' });
  const rmf = join(dir, 'routes-model', 'manifest.json');
  const rman = JSON.parse(readFileSync(rmf, 'utf8')) as { normalizer: NormalizerJson };
  rman.normalizer.state.shift[0] = rman.normalizer.state.shift[0]! + 0.5;
  writeFilesAtomic([[rmf, JSON.stringify(rman)]]);
  assert.throws(() => attachRoutes({ model, routes: join(dir, 'routes-model'), lookahead: 1 }), (e: Error & { code?: string }) => e.code === 'E_MODEL_MISMATCH' && /normalizer/.test(e.message));
  // a flipped byte in routes.tflite: refused at load, naming the file
  const f = join(model, 'routes.tflite');
  const buf = readFileSync(f); buf[buf.length - 5] = buf[buf.length - 5]! ^ 1;
  writeFilesAtomic([[f, buf]]);
  assert.throws(() => loadModelDir(model), (e: Error & { code?: string }) => e.code === 'E_MODEL_IO' && /routes\.tflite/.test(e.message));
});

test('hierarchical planning allocates nothing: 0 GC events in 3 × 10,000 replans (route + segment interpreters, two scorers)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-routes-alloc-'));
  const model = hierarchicalModel(dir);
  attachRoutes({ model, routes: join(dir, 'routes-run'), lookahead: 1 });
  const m = loadModelDir(model);
  const st = new SubgoalStage({ planner: createTflitePlanner(m.routes!, N), layout: m.routes!.manifest.layout, normalizer: m.routes!.manifest.normalizer, scorer: createTfliteScorer(m.routes!, N), positionDims: [0, 1], lookahead: 1, infeasibleCost: 1000, seed: 2 });
  const loop = new RecedingHorizonLoop({
    planner: createTflitePlanner(m, N), layout: m.manifest.layout, normalizer: m.manifest.normalizer, clock: new VirtualClock(), seed: 1, select: 'learned', act: 'track', replanEvery: 1, budgetUs: 1e9,
    positionDims: [0, 1], velocityDims: [2, 3], kp: 1, kd: 1, actionLow: -1, actionHigh: 1, scorer: createTfliteScorer(m, N), subgoals: st, subgoalConditions: false,
  });
  const state = new Float32Array([0.1, 0.2, 0, 0]), goal = new Float32Array([1, 1]), action = new Float32Array(2);
  const ticks = (n: number): void => { for (let i = 0; i < n; i++) { state[0] = (i % 50) * 0.01; loop.tick(state, goal, action); } };
  ticks(20_000);
  const windows = [await measureAllocations(ticks, 10_000), await measureAllocations(ticks, 10_000), await measureAllocations(ticks, 10_000)];
  for (const w of windows) assert.is(w.gcCount, 0, `GC events: ${windows.map((x) => x.gcCount).join(', ')}`);
  assert.ok(Math.min(...windows.map((w) => w.heapGrowthBytes)) < 64 * 1024, `heap growth ${windows.map((w) => w.heapGrowthBytes).join(', ')} B`);
  assert.ok(st.selected >= 0 && st.selected < N);
  assert.ok(Number.isFinite(loop.subgoal[0]!) && Number.isFinite(loop.subgoal[1]!));
});

test('createEnvLoop turns the model\'s routes on for learned selection only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-routes-env-'));
  const model = hierarchicalModel(dir);
  attachRoutes({ model, routes: join(dir, 'routes-run'), lookahead: 1 });
  const m = loadModelDir(model);
  const { envInfo } = await import('../../src/envs/registry.js');
  const info = { ...envInfo('maze2d-umaze'), name: m.manifest.env, stateDim: S, actionDim: A, goalDim: 2 };
  const env = {} as never;
  const flat = createEnvLoop({ env, info, model: m, candidates: N, seed: 1, select: 'goal' });
  assert.is(flat.cfg.subgoals, undefined);
  const off = createEnvLoop({ env, info, model: m, candidates: N, seed: 1, hierarchical: false });
  assert.is(off.cfg.subgoals, undefined);
  const on = createEnvLoop({ env, info, model: m, candidates: N, seed: 1 });
  assert.ok(on.cfg.subgoals);
  assert.is(on.cfg.subgoalConditions, false);
});

test('kdp export --model --routes through the CLI: JSON figures, default lookahead of one route step, typed refusals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-routes-cli-'));
  const model = hierarchicalModel(dir);
  const r = runKdp(['export', '--model', model, '--routes', join(dir, 'routes-run'), '--json']);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { routes: { horizon: number; frameSkip: number; lookahead: number; conditionOn: string; bytes: number } };
  assert.equal([j.routes.horizon, j.routes.frameSkip, j.routes.lookahead, j.routes.conditionOn], [3, 1, 1, 'goal']);
  const both = runKdp(['export', '--model', model, '--routes', join(dir, 'routes-run'), '--scorer', join(dir, 'scorer')]);
  assert.is(both.status, 2);
  assert.match(both.stderr, /two calls/);
  const past = runKdp(['export', '--model', model, '--routes', join(dir, 'routes-run'), '--route-lookahead', '9']);
  assert.not.equal(past.status, 0);
  assert.match(past.stderr, /past its window/);
  assert.not.match(past.stderr, /\n\s+at /, 'no stack trace for a user mistake');
});

test('kdp train --normalizer-from takes a model\'s normalizer (a route generator for it); one of another env is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-normfrom-'));
  const data = join(dir, 'umaze.hdf5');
  assert.is(runKdp(['dataset', 'maze2d', '--maze', 'umaze', '--steps', '2000', '--seed', '3', '--out', data]).status, 0);
  const small = ['--steps', '2', '--hidden', '16', '--conditions', '2', '--samples', '4', '--horizon', '8', '--frame-skip', '8'];
  const r = runKdp(['train', '--dataset', data, '--env', 'maze2d-umaze', '--out', join(dir, 'run'), ...small, '--normalizer-from', 'models/maze2d-umaze', '--json']);
  assert.is(r.status, 0, r.stderr);
  const ck = JSON.parse(readFileSync(join(dir, 'run', 'checkpoint.json'), 'utf8')) as { generation?: string };
  const metaFile = ck.generation ? join(dir, 'run', ck.generation, 'checkpoint.json') : join(dir, 'run', 'checkpoint.json');
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { normalizer: NormalizerJson };
  const shipped = JSON.parse(readFileSync('models/maze2d-umaze/manifest.json', 'utf8')) as { normalizer: NormalizerJson };
  assert.equal(meta.normalizer.state, shipped.normalizer.state);
  assert.equal(meta.normalizer.goal, shipped.normalizer.goal);
  const bad = runKdp(['train', '--dataset', data, '--env', 'maze2d-umaze', '--out', join(dir, 'bad'), ...small, '--normalizer-from', 'models/cf-nav']);
  assert.not.equal(bad.status, 0);
  assert.match(bad.stderr, /normalizer-from/);
  assert.not.match(bad.stderr, /\n\s+at /);
});

test('kdp eval on the shipped Large model plans hierarchically by default (labelled), flat with --routes off or a non-learned selection; U-Maze uses its recorded occupancy penalty', () => {
  const ev = (model: string, ...extra: string[]): { hierarchical: boolean; routeLookahead?: number; routeSubgoalSteps?: number; oracle: boolean; infeasibleCost?: number; episodes: number } => {
    const r = runKdp(['eval', '--model', model, '--episodes', '1', '--seed', '900', '--json', ...extra]);
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  };
  const h = ev('models/maze2d-large');
  assert.ok(h.hierarchical);
  assert.is(h.routeLookahead, 24);
  assert.is(h.routeSubgoalSteps, 12);
  assert.is(h.oracle, false);
  assert.is(ev('models/maze2d-large', '--routes', 'off').hierarchical, false);
  assert.is(ev('models/maze2d-large', '--select', 'goal').hierarchical, false);
  assert.is(ev('models/maze2d-umaze').infeasibleCost, 0);
  assert.is(ev('models/maze2d-umaze', '--infeasible-cost', '1000').infeasibleCost, 1000);
});

test.run();
