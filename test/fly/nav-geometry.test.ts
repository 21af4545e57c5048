import { PerformanceObserver } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededRng } from '../../src/util/rng.js';
import { NavObserver, PlanChecker, clampToFence, enforceVelocityLimits, type LimitCounters } from '../../src/fly/nav-geometry.js';
import { envInfo } from '../../src/envs/registry.js';
import { NAV_ACT_DIM, NAV_GOAL_DIM, NAV_OBS_DIM, NAV_DT_S, navObservation, randomNavLayout } from '../../src/sim/crazyflie/nav-dataset.js';
import type { Obstacle } from '../../src/devices/crazyflie/vehicle.js';
import { NAV_K_NEAREST, NAV_OBSTACLE_OFFSET } from '../../src/envs/cf-nav/observation.js';

const counters = (): LimitCounters => ({ speedClamps: 0, geofenceClamps: 0, shieldScalings: 0, shieldStops: 0 });
const fence = { min: [-0.5, -1.5, 0] as [number, number, number], max: [3, 1.5, 1.5] as [number, number, number] };

test('the crazyflie-nav env entry matches the dataset recorder', () => {
  const e = envInfo('crazyflie-nav');
  assert.is(e.stateDim, NAV_OBS_DIM);
  assert.is(e.actionDim, NAV_ACT_DIM);
  assert.is(e.goalDim, NAV_GOAL_DIM);
  assert.is(e.dt, NAV_DT_S);
  assert.equal(e.positionDims, [0, 1, 2]);
  assert.equal(e.velocityDims, [3, 4, 5]);
  assert.is(e.stateNames.length, e.stateDim);
  assert.is(e.actionNames.length, e.actionDim);
});

test('NavObserver writes exactly what the dataset recorder writes (incl. boxes, < 4 obstacles)', () => {
  const rng = new SeededRng(7);
  const a = new Float32Array(NAV_OBS_DIM), b = new Float32Array(NAV_OBS_DIM);
  for (let trial = 0; trial < 200; trial++) {
    const layout = randomNavLayout(rng);
    const obstacles: Obstacle[] = trial % 3 === 0 ? layout.obstacles.slice(0, 2) : [...layout.obstacles];
    if (trial % 5 === 0) obstacles.push({ type: 'box', x: 1, y: 0.5, sx: 0.3, sy: 0.2, sz: 1, yawDeg: 20 });
    const obs = new NavObserver(obstacles);
    const pos = [rng.range(-0.2, 2.5), rng.range(-1, 1), rng.range(0.3, 0.7)];
    const vel = [rng.normal(), rng.normal(), rng.normal()];
    navObservation(pos, vel, layout.goal, obstacles, a);
    obs.observe(pos, vel, layout.goal, b);
    assert.equal(Array.from(b), Array.from(a), `trial ${trial}`);
  }
});

test('the observation shows every cylinder of the dataset\'s fields (up to 7), nearest first, zero-padded after', () => {
  // with 4 slots, an obstacle 0.6–0.8 m ahead in a 7-cylinder field could be the 5th nearest and unseen by the model
  const rng = new SeededRng(5);
  const out = new Float32Array(NAV_OBS_DIM);
  let seven = 0;
  for (let trial = 0; trial < 300; trial++) {
    const layout = randomNavLayout(rng);
    const n = layout.obstacles.length;
    assert.ok(n >= 3 && n <= NAV_K_NEAREST, `${n} cylinders`);
    if (n === 7) seven++;
    const pos = [rng.range(0, 2.5), rng.range(-0.9, 0.9), 0.5];
    new NavObserver(layout.obstacles).observe(pos, [0, 0, 0], layout.goal, out);
    let prev = -Infinity;
    for (let k = 0; k < NAV_K_NEAREST; k++) {
      const b = NAV_OBSTACLE_OFFSET + 3 * k;
      if (k < n) {
        const d = Math.hypot(out[b]!, out[b + 1]!);
        assert.ok(out[b + 2]! > 0 && d >= prev, `trial ${trial}: slot ${k}`);
        prev = d;
        // the slot is one of the layout's cylinders, seen from pos
        assert.ok(layout.obstacles.some((o) => Math.abs(o.x - pos[0]! - out[b]!) < 1e-5 && Math.abs(o.y - pos[1]! - out[b + 1]!) < 1e-5));
      } else assert.equal([out[b], out[b + 1], out[b + 2]], [0, 0, 0], `trial ${trial}: padding slot ${k}`);
    }
  }
  assert.ok(seven > 20, `7-cylinder fields drawn: ${seven}`);
});

test('NavObserver.observe does not allocate', () => {
  const layout = randomNavLayout(new SeededRng(3));
  const obs = new NavObserver(layout.obstacles);
  const out = new Float32Array(NAV_OBS_DIM);
  const p = new Float64Array([0.5, 0.1, 0.5]), v = new Float64Array(3);
  const goal = Float64Array.from(layout.goal);
  const run = (n: number): void => { for (let i = 0; i < n; i++) { p[0] = (i % 100) / 40; obs.observe(p, v, goal, out); } };
  run(30_000); // let the JIT settle
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc(); gc();
  let gcEvents = 0;
  const po = new PerformanceObserver((list) => { gcEvents += list.getEntries().length; });
  po.observe({ entryTypes: ['gc'] });
  run(100_000);
  po.disconnect();
  assert.is(gcEvents, 0, `GC events during 100k observations: ${gcEvents}`);
});

test('PlanChecker: a plan through a cylinder costs, one around it does not; the fence counts', () => {
  const cyl: Obstacle[] = [{ type: 'cylinder', x: 1, y: 0, radius: 0.15, height: 2.5 }];
  const c = new PlanChecker(cyl, fence, 0.06);
  const S = 4; // stride with an extra value per step
  const through = new Float32Array([0, 0, 0.5, 9, 0.8, 0, 0.5, 9, 1.2, 0, 0.5, 9, 2, 0, 0.5, 9]);
  const around = new Float32Array([0, 0, 0.5, 9, 0.8, 0.6, 0.5, 9, 1.2, 0.6, 0.5, 9, 2, 0, 0.5, 9]);
  assert.ok(c.planCost(through, 4, S) > 0.1);
  assert.is(c.planCost(around, 4, S), 0);
  // the segment between two clear points crosses the obstacle: caught by the sub-steps
  const skip = new Float32Array([0.6, 0, 0.5, 0, 1.4, 0, 0.5, 0]);
  assert.ok(c.planCost(skip, 2, S) > 0);
  assert.is(new PlanChecker(cyl, fence, 0.06, 0).planCost(skip, 2, S), 0);
  // near-term penetrations weigh more: blocked at step 1 costs more than blocked at step 3
  const nearHit = new Float32Array([0, 0, 0.5, 0, 1, 0, 0.5, 0, 1.5, 0.8, 0.5, 0, 2, 0.8, 0.5, 0]);
  const farHit = new Float32Array([0, 0.8, 0.5, 0, 0.5, 0.8, 0.5, 0, 1.5, 0.8, 0.5, 0, 1, 0, 0.5, 0]);
  const c0 = new PlanChecker(cyl, fence, 0.06, 0);
  assert.is(c0.planCost(nearHit, 4, S, 1), c0.planCost(farHit, 4, S, 1));
  assert.ok(c0.planCost(nearHit, 4, S, 1, 2, 10) > c0.planCost(farHit, 4, S, 1, 2, 10));
  // outside the fence
  assert.ok(c.pointCost(3.2, 0, 0.5) > 0.19);
  assert.is(c.pointCost(0, 0, 0.5), 0);
  // from = 1 ignores the measured state at step 0
  const startInside = new Float32Array([1, 0, 0.5, 0, 1, 0.6, 0.5, 0]);
  assert.is(new PlanChecker(cyl, fence, 0.06, 0).planCost(startInside, 2, S, 1), 0);
});

test('enforceVelocityLimits: xy / z speed caps and the fence faces', () => {
  const lim = { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 };
  const k = counters();
  const v = new Float64Array([1.2, 1.6, 0.9]);
  assert.ok(enforceVelocityLimits([0, 0, 0.5], v, lim, fence, 0.5, k));
  assert.ok(Math.abs(Math.hypot(v[0]!, v[1]!) - 1) < 1e-9);
  assert.is(k.geofenceClamps, 0);
  assert.is(v[2], 0.5);
  assert.is(k.speedClamps, 2);
  // 10 cm from the +x face: at most 0.2 m/s toward it with a 0.5 s brake horizon
  const w = new Float64Array([0.8, 0, 0]);
  enforceVelocityLimits([2.9, 0, 0.5], w, lim, fence, 0.5, k);
  assert.ok(Math.abs(w[0]! - 0.2) < 1e-9);
  assert.is(k.geofenceClamps, 1);
  // outside the fence: pushed back in
  const u = new Float64Array([0, 0, 0]);
  enforceVelocityLimits([3.2, 0, 0.5], u, lim, fence, 0.5, k);
  assert.ok(u[0]! < 0);
  // inside and slow: untouched
  const ok = new Float64Array([0.3, -0.2, 0.1]);
  assert.not.ok(enforceVelocityLimits([1, 0, 0.5], ok, lim, fence, 0.5, k));
  assert.equal(Array.from(ok), [0.3, -0.2, 0.1]);
  const p = new Float64Array([4, -2, 0.5]);
  assert.ok(clampToFence(p, fence, k));
  assert.equal(Array.from(p), [3, -1.5, 0.5]);
});

test.run();
