import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PerformanceObserver } from 'node:perf_hooks';
import { VirtualClock } from '../../src/control/clock.js';
import { RecedingHorizonLoop, TickStatus, type LoopConfig } from '../../src/control/receding-horizon.js';
import type { PlannerBackend } from '../../src/planner/planner-backend.js';
import { Interpreter } from '../../src/planner/runtime/interpreter.js';
import { writeMlpTflite } from '../../src/planner/export/mlp-graph.js';
import { randomMlpWeights } from '../helpers/fixture-checkpoint.js';
import type { NormalizerJson, WindowLayout } from '../../src/model/checkpoint-format.js';

const layout: WindowLayout = { horizon: 8, frameSkip: 2, stateDim: 4, actionDim: 2, goalDim: 2, dt: 0.01, stateNames: ['x', 'y', 'vx', 'vy'], actionNames: ['ax', 'ay'] };
const normalizer: NormalizerJson = {
  kind: 'zscore',
  state: { shift: [2, 2, 0, 0], scale: [1, 1, 2, 2] },
  action: { shift: [0, 0], scale: [0.7, 0.7] },
  goal: { shift: [2, 2], scale: [1, 1] },
};
const outDim = 8 * 6 - 4;

function tflitePlanner(candidates: number, quantization: 'fp32' | 'int8'): PlannerBackend {
  const w = randomMlpWeights({ noiseDim: 4, condDim: 6, hidden: [32, 32], outDim, activation: 'relu', seed: 5 });
  const bytes = writeMlpTflite(w, { quantization, candidates });
  const it = Interpreter.fromBytes(bytes, { batch: candidates }).allocate();
  return {
    name: 'tflite', candidates, noiseDim: 4, condDim: 6, outDim,
    noise: it.inputView(0), condition: it.inputView(1), plan: it.outputView(0),
    arenaBytes: it.arenaBytes, invoke: () => it.invoke(),
  };
}

function config(planner: PlannerBackend, clock: VirtualClock, extra: Partial<LoopConfig> = {}): LoopConfig {
  return {
    planner, layout, normalizer, clock, seed: 1, select: 'goal', act: 'track', replanEvery: 1, budgetUs: 2000,
    positionDims: [0, 1], velocityDims: [2, 3], kp: 1, kd: 1, actionLow: -1, actionHigh: 1,
    planCost: (s, n, out) => { let c = 0; for (let t = 0; t < n; t++) if (s[t * 4]! > 100) c++; out[0] = c; },
    ...extra,
  };
}

test('100,000 ticks with a real interpreter: no GC event and < 1 KB heap growth', () => {
  const clock = new VirtualClock();
  const loop = new RecedingHorizonLoop(config(tflitePlanner(16, 'int8'), clock, { replanEvery: 2 }));
  const state = new Float32Array([1.5, 2.5, 0.1, -0.2]), goal = new Float32Array([3, 3]), action = new Float32Array(2);
  const tick = (n: number): void => {
    for (let i = 0; i < n; i++) {
      state[0] = 1 + (i % 100) * 0.01;
      loop.tick(state, goal, action);
      clock.advanceUs(10_000);
    }
  };
  tick(100_000); // warm up: let the JIT finish optimising (tier-up code is heap too)
  const gc = global.gc!;
  let gcEvents = 0;
  const obs = new PerformanceObserver((list) => { gcEvents += list.getEntries().length; });
  const growth: number[] = [];
  // three windows of 100,000 ticks: per-tick garbage shows up as scavenges (the young generation here
  // is 1–2 MB, ≈ 10–20 bytes per tick); a per-tick leak would grow every window by ≥ 100 KB, while a
  // one-off lazy allocation inside V8 can land in any single window
  for (let w = 0; w < 3; w++) {
    gc(); gc();
    const before = process.memoryUsage().heapUsed;
    obs.observe({ entryTypes: ['gc'] });
    tick(100_000);
    obs.disconnect();
    gc();
    growth.push(process.memoryUsage().heapUsed - before);
  }
  assert.is(loop.stats.ticks, 400_000);
  assert.is(loop.stats.plans, 200_000);
  assert.ok(Number.isFinite(action[0]!) && Math.abs(action[0]!) <= 1);
  assert.is(gcEvents, 0, `GC events during the ticks: ${gcEvents}`);
  assert.ok(Math.min(...growth) < 1024, `heap grew by ${growth.join(' / ')} bytes per 100,000 ticks`);
  assert.ok(Math.max(...growth) < 16 * 1024, `heap grew by ${growth.join(' / ')} bytes per 100,000 ticks`);
});

test('a slow invoke triggers the fallback: the previous plan acts and the miss is counted', () => {
  const clock = new VirtualClock();
  const inner = tflitePlanner(4, 'fp32');
  let slow = false;
  const planner: PlannerBackend = { ...inner, noise: inner.noise, condition: inner.condition, plan: inner.plan, invoke: () => { inner.invoke(); if (slow) clock.advanceUs(5000); } };
  const loop = new RecedingHorizonLoop(config(planner, clock, { budgetUs: 2000 }));
  const state = new Float32Array([1.5, 2.5, 0, 0]), goal = new Float32Array([3, 3]);
  const a1 = new Float32Array(2), a2 = new Float32Array(2), ref = new Float32Array(2);
  assert.is(loop.tick(state, goal, a1), TickStatus.REPLANNED);
  const firstPlan = Float32Array.from(loop.current);
  // a twin loop that keeps acting from the first plan shows what "the previous plan's next step" is
  const twin = new RecedingHorizonLoop(config(tflitePlanner(4, 'fp32'), new VirtualClock(), { replanEvery: 1000 }));
  twin.tick(state, goal, ref);
  twin.tick(state, goal, ref);
  slow = true;
  assert.is(loop.tick(state, goal, a2), TickStatus.DEADLINE_MISS);
  assert.is(loop.stats.deadlineMisses, 1);
  assert.equal(Array.from(loop.current), Array.from(firstPlan), 'still executing the previous plan');
  assert.ok(Math.abs(a2[0]! - ref[0]!) < 1e-6 && Math.abs(a2[1]! - ref[1]!) < 1e-6, 'action = previous plan, next step');
  slow = false;
  const a3 = new Float32Array(2);
  loop.tick(state, goal, a3);
  assert.not.equal(Array.from(loop.current), Array.from(firstPlan), 'the late plan is adopted on the next tick');
  assert.is(loop.stats.deadlineMisses, 1);
});

test('selection prefers feasible plans that head to the goal; random is seeded', () => {
  const clock = new VirtualClock();
  const loop = new RecedingHorizonLoop(config(tflitePlanner(32, 'fp32'), clock));
  const state = new Float32Array([1.5, 2.5, 0, 0]), goal = new Float32Array([3, 1]), a = new Float32Array(2);
  loop.tick(state, goal, a);
  const H = layout.horizon, step = 6;
  const dist = (i: number): number => {
    let s = 0;
    for (let t = 0; t < H; t++) s += Math.hypot(loop.candidates[(i * H + t) * step]! - 3, loop.candidates[(i * H + t) * step + 1]! - 1);
    return s;
  };
  const chosen = dist(loop.selected);
  for (let i = 0; i < 32; i++) assert.ok(chosen <= dist(i) + 1e-6, `candidate ${i} is closer to the goal than the selected one`);
  // every candidate starts at the current state (clamped)
  for (let i = 0; i < 32; i++) assert.is(loop.candidates[i * H * step], state[0]);
});

test('--select value without a value head is refused at construction with a typed error', () => {
  try {
    new RecedingHorizonLoop(config(tflitePlanner(4, 'fp32'), new VirtualClock(), { select: 'value' }));
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as { code?: string }).code, 'E_MODEL_MISMATCH');
    assert.match((e as Error).message, /value head/);
  }
});

test.run();
