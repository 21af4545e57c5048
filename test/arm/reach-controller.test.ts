// ReachController (src/arm/reach-controller.ts) with a scripted planner: FK selection, the consistency term,
// the profile's velocity and joint limits, and no allocation per step.
import { test } from 'uvu';
import { measureAllocations } from '../../src/util/alloc-meter.js';
import * as assert from 'uvu/assert';
import { ReachController } from '../../src/arm/reach-controller.js';
import { VirtualClock } from '../../src/control/clock.js';
import { loadModelDir, type LoadedModel } from '../../src/planner/model-loader.js';
import type { PlannerBackend } from '../../src/planner/planner-backend.js';
import { forwardKinematics, inverseKinematics } from '../../src/devices/so100/kinematics.js';
import { DEFAULT_SO100 } from '../../src/devices/so100/config.js';
import { ModelError } from '../../src/errors.js';
import { MODEL_DIR } from './harness.js';

const S = 12, A = 6, H = 16, STEP = S + A, OUT = H * STEP - S;

/** The shipped manifest with an identity normalizer, so scripted plans are in rad/m. */
function identityModel(): LoadedModel {
  const m = loadModelDir(MODEL_DIR);
  const manifest = structuredClone(m.manifest);
  manifest.normalizer = {
    ...manifest.normalizer,
    state: { shift: Array(S).fill(0), scale: Array(S).fill(1) },
    action: { shift: Array(A).fill(0), scale: Array(A).fill(1) },
    goal: { shift: [0, 0, 0], scale: [1, 1, 1] },
  };
  return { ...m, manifest };
}

/** Candidate i's plan: every state has joints q[i], every action is a[i]. */
function scripted(q: number[][], a: number[][]): PlannerBackend {
  const N = q.length;
  const plan = new Float32Array(N * OUT);
  const fill = (): void => {
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < OUT; j++) {
        const w = j + S, within = w % STEP;
        plan[i * OUT + j] = within < 6 ? q[i]![within]! : within < S ? 0 : a[i]![within - S]!;
      }
    }
  };
  return { name: 'scripted', candidates: N, noiseDim: 16, condDim: 15, outDim: OUT, noise: new Float32Array(N * 16), condition: new Float32Array(N * 15), plan, arenaBytes: 0, invoke: fill };
}

test('selects the candidate whose planned joints end nearest the target (FK)', () => {
  const qFar = [0.5, 0.2, 0.1, 0.3, 0, 0.3], qNear = [-0.3, -0.2, 0.4, 0.8, 0, 0.3];
  const target = Array.from(forwardKinematics(qNear));
  const ctl = new ReachController(identityModel(), { planner: scripted([qFar, qNear, qFar], [qFar, qNear, qFar]), clock: new VirtualClock() });
  const q = new Float64Array(6), goal = new Float64Array(6);
  ctl.reset(target, q);
  ctl.step(q, goal);
  assert.is(ctl.loop.selected, 1);
  assert.ok(ctl.planEndErrorM < 1e-6, `plan end error ${ctl.planEndErrorM}`);
  // moving toward qNear's pan (negative), rate-limited
  assert.ok(goal[0]! < 0);
});

test('consistency: of two joint solutions for the same grasp point, the one nearer the previous plan wins', () => {
  const t = [0.2, 0.05, 0.08] as const;
  const a = inverseKinematics(t[0], t[1], t[2], Math.PI * 0.75)!, b = inverseKinematics(t[0], t[1], t[2], Math.PI * 0.95)!;
  const qa = [...a, 0, 0.3], qb = [...b, 0, 0.3];
  assert.ok(Math.abs(qa[3]! - qb[3]!) > 0.1, 'two distinct solutions');
  for (const [start, want] of [[qa, 0], [qb, 1]] as const) {
    const ctl = new ReachController(identityModel(), { planner: scripted([qa, qb], [qa, qb]), clock: new VirtualClock() });
    const q = Float64Array.from(start), goal = new Float64Array(6);
    ctl.reset(t, q);
    for (let k = 0; k < 10; k++) { ctl.step(q, goal); assert.is(ctl.loop.selected, want); }
  }
});

test('goals respect the profile velocity limits (per tick) and joint limits', () => {
  const far = [5, 5, -5, 5, 0, 0.3];
  const ctl = new ReachController(identityModel(), { planner: scripted([far], [far]), clock: new VirtualClock(), rateHz: 50, config: DEFAULT_SO100 });
  const q = new Float64Array(6), goal = new Float64Array(6);
  ctl.reset([0.2, 0, 0.1], q);
  ctl.step(q, goal);
  const v = DEFAULT_SO100.velocityLimitsRadS;
  assert.ok(Math.abs(goal[0]! - v.shoulder_pan / 50) < 1e-9, `pan goal ${goal[0]}`);
  assert.ok(Math.abs(goal[2]! + v.elbow_flex / 50) < 1e-9, `elbow goal ${goal[2]}`);
  assert.ok(ctl.limits.velocityClamps >= 4);
  for (let k = 0; k < 200; k++) ctl.step(q, goal);
  assert.is(goal[0], DEFAULT_SO100.jointLimitsRad.shoulder_pan[1]);
  assert.is(goal[2], DEFAULT_SO100.jointLimitsRad.elbow_flex[0]);
  assert.ok(ctl.limits.jointClamps > 0);
});

test('a NaN plan never reaches the servos as NaN', () => {
  const nan = [NaN, NaN, NaN, NaN, NaN, NaN];
  const ctl = new ReachController(identityModel(), { planner: scripted([nan], [nan]), clock: new VirtualClock() });
  const q = new Float64Array(6), goal = new Float64Array(6);
  ctl.reset([0.2, 0, 0.1], q);
  for (let k = 0; k < 5; k++) ctl.step(q, goal);
  assert.ok(goal.every((g) => Number.isFinite(g)));
});

test('step allocates nothing: 0 GC events and < 1 KB young-generation growth over 100 000 ticks', async () => {
  assert.ok((globalThis as { gc?: () => void }).gc, 'run under --expose-gc (node scripts/run-tests.mjs does)');
  const qs = [[0.1, 0.1, 0.2, 0.5, 0, 0.3], [-0.1, 0.0, 0.3, 0.7, 0, 0.3]];
  const ctl = new ReachController(identityModel(), { planner: scripted(qs, qs), clock: new VirtualClock() });
  const q = new Float64Array(6), goal = new Float64Array(6);
  ctl.reset([0.2, 0, 0.1], q);
  // the meter the runtime zero-allocation test and `kdp bench` use: per-tick garbage shows up as GC events
  // or young-generation growth during the loop, not only as what survives a gc()
  const r = await measureAllocations((n) => { for (let k = 0; k < n; k++) ctl.step(q, goal); }, 100_000);
  assert.is(r.gcCount, 0, `GC events during 100 000 ticks (heap growth ${r.heapGrowthBytes} B)`);
  assert.ok(r.heapGrowthBytes < 1024, `young generation grew ${r.heapGrowthBytes} bytes`);
});

test('a model for another env is refused before anything runs', () => {
  const m = identityModel();
  const bad = { ...m, manifest: { ...m.manifest, env: 'maze2d-umaze' } };
  assert.throws(() => new ReachController(bad, { planner: scripted([[0, 0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0, 0]]) }), (e: unknown) => e instanceof ModelError && /so100-reach/.test((e as Error).message));
});

test.run();
