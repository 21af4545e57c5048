// @serial: real-time control over a pty (a starved host reads as a silent bus); runs alone after the parallel phase.
// `kdp arm --task pick-place`: the arm-side progress (picked / released from the joints alone), PickPlaceController
// with a scripted planner (the planned grasp point tracked through IK, the binary gripper and its squeeze limit, the
// consistent selection, no allocation per tick, a wrong-env model refused), the shipped learned progress scorer, and runArm over a real socat pty against the simulator with the cube: one
// pick-and-place with the shipped model, a gripper overload mid-run and an abort — torque off on every exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PickPlaceController, PickPlaceProgress } from '../../src/arm/pick-place-controller.js';
import { runArm } from '../../src/arm/run-arm.js';
import { ModelError } from '../../src/errors.js';
import { VirtualClock } from '../../src/control/clock.js';
import { loadModelDir, type LoadedModel } from '../../src/planner/model-loader.js';
import type { PlannerBackend } from '../../src/planner/planner-backend.js';
import { forwardKinematics, inverseKinematics } from '../../src/devices/so100/kinematics.js';
import { createPtyPair, type PtyPair } from '../../src/sim/so100/pty-pair.js';
import { SimSo100 } from '../../src/sim/so100/sim-so100.js';
import { loadSo100Config } from '../../src/devices/so100/config.js';
import { CUBE_OFFSET_HELD_M, GRIP_OPEN, MAX_SQUEEZE_RAD, pickPlaceSpots, scorePickPlace } from '../../src/envs/so100/pick-place-task.js';
import { PickPlaceScorer } from '../../src/arm/pick-place-scorer.js';
import { GraspPointTracker } from '../../src/arm/grasp-tracker.js';
import { measureAllocations } from '../../src/util/alloc-meter.js';
import { requireTool } from '../helpers/tools.js';
import { MODEL_DIR as REACH_MODEL_DIR, PP_MODEL_DIR, heldOutPickPlace } from './harness.js';

const cfg = loadSo100Config();
const S = 8, A = 1, H = 16, STEP = S + A, OUT = H * STEP - S;
const BUS = { busTimeoutMs: 100, busRetries: 2 };
/** A held-out episode (test/perf/so100-pick-place.test.ts runs 50 and measures the success rate). */
const PP_TEST_EPISODE = 0;

test('progress from the joints: a free close is not a pick; stopped on the cube and lifted is; opening releases', () => {
  const p = new PickPlaceProgress();
  p.reset([0.2, -0.1]);
  const q = [0, 0, 0, 0, 0, 0.55], low = [0.2, 0, 0.024], high = [0.2, 0, 0.08];
  // closing freely (the jaw moves every tick) near the table, then lifted while still moving: not a pick
  for (let g = 0.55; g > 0.05; g -= 0.02) { q[5] = g; p.update(q, high, [0, 0, 0, 0, 0, g - MAX_SQUEEZE_RAD]); }
  assert.not.ok(p.picked);
  p.reset([0.2, -0.1]);
  // stopped at the cube's width with a goal more closed than the jaw, on the table: holding, not yet lifted
  q[5] = 0.27;
  for (let k = 0; k < 10; k++) p.update(q, low, [0, 0, 0, 0, 0, 0.27 - MAX_SQUEEZE_RAD]);
  assert.not.ok(p.picked);
  for (let k = 0; k < 6; k++) p.update(q, high, [0, 0, 0, 0, 0, 0.27 - MAX_SQUEEZE_RAD]);
  assert.ok(p.picked);
  // released at the place: the estimate is the grasp point + the held cube's offset
  const r = Math.hypot(0.2, -0.1), k = (r - CUBE_OFFSET_HELD_M) / r;
  const at = [0.2 * k, -0.1 * k, 0.03];
  q[5] = GRIP_OPEN;
  p.update(q, at, [0, 0, 0, 0, 0, GRIP_OPEN]);
  assert.ok(p.released && !p.done);
  assert.ok(p.placeErrorM < 1e-9, `${p.placeErrorM}`);
  assert.ok(p.placed(0.02));
  p.update(q, [at[0]!, at[1]!, 0.09], [0, 0, 0, 0, 0, GRIP_OPEN]);
  assert.ok(p.done);
});

/** The shipped manifest with an identity normalizer and no progress scorer, so scripted plans are in metres/rad. */
function identityModel(): LoadedModel {
  const m = loadModelDir(PP_MODEL_DIR);
  const { progress: _p, ...manifest } = structuredClone(m.manifest) as typeof m.manifest & { progress?: unknown };
  manifest.normalizer = { ...manifest.normalizer, state: { shift: Array(S).fill(0), scale: Array(S).fill(1) }, action: { shift: Array(A).fill(0), scale: Array(A).fill(1) } };
  return { ...m, manifest };
}

/** Candidate i's plan: every state has the grasp point at `rel[i]` (x, y relative to the cube's spot, z), the jaw `grip[i]`; every action `grip[i]`. */
function scripted(rel: number[][], grip: number[]): PlannerBackend {
  const N = rel.length, cond = S;
  const plan = new Float32Array(N * OUT);
  const fill = (): void => {
    for (let i = 0; i < N; i++) for (let j = 0; j < OUT; j++) {
      const w = (j + S) % STEP;
      plan[i * OUT + j] = w < 3 ? rel[i]![w]! : w === 5 || w === S ? grip[i]! : 0;
    }
  };
  return { name: 'scripted', candidates: N, noiseDim: 16, condDim: cond, outDim: OUT, noise: new Float32Array(N * 16), condition: new Float32Array(N * cond), plan, arenaBytes: 0, invoke: fill };
}

test('the planned grasp point is tracked through the arm\'s IK (relative to the cube\'s spot); the gripper is open/close, squeeze-limited', () => {
  const cube: [number, number] = [0.2, 0.1], place: [number, number] = [0.2, -0.1];
  const spots = new Float64Array(4);
  pickPlaceSpots(cube, place, spots);
  const ctl = new PickPlaceController(identityModel(), { planner: scripted([[0.01, -0.02, 0.06]], [0.1]), clock: new VirtualClock(), rateHz: 50, select: 'first' });
  assert.is(ctl.select, 'first');
  const q = new Float64Array([...inverseKinematics(0.2, 0.08, 0.07, Math.PI)!, 0, 0.5]), goal = new Float64Array(6);
  ctl.reset(cube, place, q);
  ctl.step(q, goal);
  // the target is the cube's spot + the plan's offset; the arm goals (before the droop correction builds up) put FK there
  assert.ok(Math.abs(ctl.target[0]! - (spots[0]! + 0.01)) < 1e-6 && Math.abs(ctl.target[1]! - (spots[1]! - 0.02)) < 1e-6 && Math.abs(ctl.target[2]! - 0.06) < 1e-6, `target ${Array.from(ctl.target)}`);
  // velocity limits hold the first goals near q: run until they settle (the arm "follows" exactly here)
  for (let k = 0; k < 200; k++) { q.set(goal.subarray(0, 5)); ctl.step(q, goal); }
  const fk = forwardKinematics(goal);
  assert.ok(Math.hypot(fk[0]! - ctl.target[0]!, fk[1]! - ctl.target[1]!, fk[2]! - ctl.target[2]!) < 0.002, `FK(goal) ${Array.from(fk)} vs target ${Array.from(ctl.target)}`);
  // the plan says 0.1 (< halfway): close — at most MAX_SQUEEZE_RAD below the measured 0.5
  assert.ok(Math.abs(goal[5]! - (0.5 - MAX_SQUEEZE_RAD)) < 1e-9, `gripper goal ${goal[5]}`);
  // a plan above halfway opens fully
  const open = new PickPlaceController(identityModel(), { planner: scripted([[0, 0, 0.06]], [0.4]), clock: new VirtualClock(), rateHz: 50, select: 'first' });
  open.reset(cube, place, q);
  open.step(q, goal);
  assert.ok(goal[5]! > 0.5 && goal[5]! <= GRIP_OPEN, `gripper goal ${goal[5]}`);
});

test('grasp-point tracking: IK with the episode pitch, a tilt for points too far for it, droop learned only when the error is droop-sized', () => {
  const tr = new GraspPointTracker();
  const p = new Float64Array([0.2, 0.05, 0.06]), out = new Float64Array(5);
  const q = new Float64Array([...inverseKinematics(0.2, 0.05, 0.06, Math.PI)!, 0, 0.5]);
  tr.reset(q, Math.PI);
  // a joint that settles 0.02 rad short of its goal (droop) under a still target: the correction builds up to +0.02
  const sag = Float64Array.from(q); sag[1] = q[1]! - 0.02;
  for (let k = 0; k < 60; k++) { tr.track(p, sag, out); sag[1] = out[1]! - 0.02; }
  assert.ok(Math.abs(out[1]! - (q[1]! + 0.02)) < 0.002, `lift goal ${out[1]} vs ${q[1]! + 0.02}`);
  // blocked 0.3 rad short (pressing on something): no windup, the goal stays the IK solution
  tr.reset(q, Math.PI);
  const blocked = Float64Array.from(q); blocked[1] = q[1]! - 0.3;
  for (let k = 0; k < 60; k++) tr.track(p, blocked, out);
  assert.ok(Math.abs(out[1]! - q[1]!) < 1e-9, `lift goal ${out[1]} vs IK ${q[1]}`);
  // far and high: not reachable pointing down, reachable tilted; FK of the goal is the point
  const far = new Float64Array([0.3, 0, 0.15]);
  assert.is(inverseKinematics(0.3, 0, 0.15, Math.PI), undefined);
  tr.reset(q, Math.PI);
  tr.track(far, q, out);
  assert.is(tr.ikFailures, 0);
  const fk = forwardKinematics(out);
  assert.ok(Math.hypot(fk[0]! - 0.3, fk[1]!, fk[2]! - 0.15) < 1e-9, `FK ${Array.from(fk)}`);
  // out of every reach: the last reachable joints are held, counted
  tr.track(new Float64Array([2, 0, 0]), q, out);
  assert.is(tr.ikFailures, 1);
  assert.ok(out.every(Number.isFinite));
});

test('consistent selection keeps the intention of the previous plan', () => {
  const cube: [number, number] = [0.2, 0.1], place: [number, number] = [0.2, -0.1];
  // two candidates 6 cm apart; the scripted planner swaps them each invoke: consistent keeps the same point
  let flip = 0;
  const base = scripted([[0.03, 0, 0.06], [-0.03, 0, 0.06]], [0.55, 0.55]);
  const swapping: PlannerBackend = { ...base, invoke: () => { base.invoke(); if (flip++ % 2) { const h = base.plan.slice(0, OUT); base.plan.copyWithin(0, OUT); base.plan.set(h, OUT); } } };
  const ctl = new PickPlaceController(identityModel(), { planner: swapping, clock: new VirtualClock(), rateHz: 50, select: 'consistent' });
  const q = new Float64Array([...inverseKinematics(0.2, 0.08, 0.07, Math.PI)!, 0, 0.5]), goal = new Float64Array(6);
  ctl.reset(cube, place, q);
  ctl.step(q, goal);
  const first = ctl.target[0]!;
  for (let k = 0; k < 5; k++) { ctl.step(q, goal); assert.ok(Math.abs(ctl.target[0]! - first) < 1e-9, `tick ${k}: target x ${ctl.target[0]} vs ${first}`); }
});

test('the shipped progress scorer: the learned selection prefers the plan nearer the task\'s end', () => {
  const m = loadModelDir(PP_MODEL_DIR);
  const sc = PickPlaceScorer.load(m, 2);
  assert.ok(sc, 'models/so100-pick-place ships progress.tflite');
  const H = m.manifest.layout.horizon;
  // candidate 0: far from the cube, high, open, nothing held; candidate 1: above the place holding the cube
  const plans = new Float32Array(2 * H * STEP);
  for (let t = 0; t < H; t++) {
    plans.set([0.1, 0.1, 0.1, 0.1, 0.3, 0.55, 0, 0, 0.55], t * STEP);
    plans.set([0.05, -0.19, 0.05, 0.0, 0.0, 0.27, 1, 1, 0.05], (H + t) * STEP);
  }
  const v = sc!.value(plans, 2);
  assert.ok(v[1]! > v[0]!, `values ${Array.from(v)}`);
  const ctl = new PickPlaceController(m, { candidates: 8, clock: new VirtualClock() });
  assert.is(ctl.select, 'learned');
  assert.is(ctl.loop.cfg.select, 'value');
});

test('step allocates nothing: 0 GC events and < 1 KB young-generation growth over 100 000 ticks', async () => {
  assert.ok((globalThis as { gc?: () => void }).gc, 'run under --expose-gc (node scripts/run-tests.mjs does)');
  const ctl = new PickPlaceController(identityModel(), { planner: scripted([[0.02, 0.01, 0.05], [-0.01, 0.02, 0.03]], [0.55, 0.1]), clock: new VirtualClock() });
  const q = new Float64Array([...inverseKinematics(0.2, 0.08, 0.07, Math.PI)!, 0, 0.5]), goal = new Float64Array(6);
  ctl.reset([0.2, 0.1], [0.2, -0.1], q);
  const run = (n: number): void => { for (let k = 0; k < n; k++) ctl.step(q, goal); };
  // warm up until the optimising compiler has run: on a starved host its background compile lags, and
  // baseline code boxes doubles (heap numbers) — garbage the optimised step does not make
  run(100_000);
  await new Promise((r) => setTimeout(r, 300));
  // measured windows until one is clean, at most five: a per-tick allocation in the optimised step shows in
  // every window, while a step still running in baseline code (the optimising compile lagging on a loaded
  // host) or a one-off V8 allocation shows in some of them only
  let a = await measureAllocations(run, 100_000);
  let b = a;
  for (let k = 0; k < 5 && (b.gcCount > 0 || b.heapGrowthBytes >= 1024); k++) {
    await new Promise((r) => setTimeout(r, 200));
    [a, b] = [b, await measureAllocations(run, 100_000)];
  }
  assert.is(Math.min(a.gcCount, b.gcCount), 0, `GC events during 100 000 ticks: ${a.gcCount} / ${b.gcCount} (heap growth ${a.heapGrowthBytes} / ${b.heapGrowthBytes} B)`);
  assert.ok(Math.min(a.heapGrowthBytes, b.heapGrowthBytes) < 1024, `young generation grew ${a.heapGrowthBytes} / ${b.heapGrowthBytes} bytes`);
});

test('a model for another env (the reach model) is refused before anything runs', () => {
  assert.throws(() => new PickPlaceController(loadModelDir(REACH_MODEL_DIR)), (e: unknown) => e instanceof ModelError && /so100-pick-place/.test((e as Error).message));
});

async function rig(joints: number[], cube: [number, number]): Promise<{ sim: SimSo100; pair: PtyPair; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-pp-'));
  const pair = await createPtyPair(join(dir, 'host'), join(dir, 'sim'));
  const sim = await SimSo100.create({ joints, cube });
  await sim.serve(pair.b);
  sim.start();
  return { sim, pair, async close() { await sim.close(); await pair.close(); rmSync(dir, { recursive: true, force: true }); } };
}
const allOff = (sim: SimSo100): boolean => sim.state().servos.every((s) => s.torqueEnable === 0);
async function torqueOff(sim: SimSo100, ms = 1000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!allOff(sim) && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return allOff(sim);
}

test('one pick-and-place run over the pty with the shipped model: the contract, the arm\'s verdicts checked against the simulator, torque off', async () => {
  requireTool('socat');
  const ep = heldOutPickPlace(PP_TEST_EPISODE, cfg);
  const r0 = await rig(ep.q0, ep.cube);
  try {
    const res = await runArm({ port: r0.pair.a, model: loadModelDir(PP_MODEL_DIR), task: 'pick-place', cube: ep.cube, place: ep.place, config: cfg, timeoutS: 8, ...BUS });
    assert.equal(Object.keys(res).slice(0, 6), ['picked', 'placed', 'finalErrorM', 'seconds', 'planLatencyUs', 'deadlineMisses']);
    assert.is(res.task, 'pick-place');
    assert.ok(res.outcome === 'done' || res.outcome === 'timeout', JSON.stringify(res));
    assert.ok(res.ticks > 100 && res.planLatencyUs.p50 > 0, JSON.stringify(res));
    assert.equal(res.cube, ep.cube); assert.equal(res.place, ep.place);
    assert.ok(res.torqueOff && await torqueOff(r0.sim), 'torque off after the run');
    // ground truth from the simulator: what the arm claims from its joints alone must not contradict it
    const truth = r0.sim.state().cube!;
    const score = scorePickPlace(truth.pos, ep.place, truth.maxZ);
    if (res.picked) assert.ok(score.picked, `the arm says picked, the cube rose only to ${truth.maxZ} m`);
    if (res.placed) assert.ok(score.finalErrorM < 0.04, `the arm says placed, the cube is ${score.finalErrorM} m from the place`);
    console.log(`\n[figure] pick-place over the pty (episode ${PP_TEST_EPISODE}, 8 s): arm picked ${res.picked} placed ${res.placed}; simulator picked ${score.picked} placed ${score.placed}, cube ${(score.finalErrorM * 100).toFixed(1)} cm from the place`);
  } finally { await r0.close(); }
});

test('a gripper overload mid-run → torque-safe stop that names it; abort → torque off', async () => {
  requireTool('socat');
  const ep = heldOutPickPlace(1, cfg);
  const model = loadModelDir(PP_MODEL_DIR);
  const r0 = await rig(ep.q0, ep.cube);
  try {
    const res = await runArm({ port: r0.pair.a, model, task: 'pick-place', cube: ep.cube, place: ep.place, config: cfg, timeoutS: 20, ...BUS, onEvent: (e) => {
      if (e.event === 'armed') setTimeout(() => r0.sim.command({ cmd: 'fault', id: 6, fault: 'overload' }), 300);
    } });
    assert.is(res.outcome, 'fault', JSON.stringify(res));
    assert.match(res.fault ?? '', /gripper/);
    assert.match(res.fault ?? '', /overload/);
    assert.ok(await torqueOff(r0.sim), 'every servo torque off');
    assert.is(res.placed, false);
  } finally { await r0.close(); }
  const r1 = await rig(ep.q0, ep.cube);
  try {
    const ac = new AbortController();
    const res = await runArm({ port: r1.pair.a, model, task: 'pick-place', cube: ep.cube, place: ep.place, config: cfg, timeoutS: 20, ...BUS, signal: ac.signal, onEvent: (e) => {
      if (e.event === 'armed') setTimeout(() => ac.abort(), 200);
    } });
    assert.is(res.outcome, 'aborted');
    assert.ok(res.torqueOff && await torqueOff(r1.sim));
  } finally { await r1.close(); }
});



test.run();
