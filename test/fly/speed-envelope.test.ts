/**
 * The model-only speed envelope of `kdp fly` (src/fly/flight-task.ts, act): the velocity setpoint toward the chosen
 * plan is capped at the dataset's 99th-percentile speed, and at `blockedSpeedMps` while the learned clearance scorer
 * calls that plan's flown part blocked. The task is driven tick by tick with a commander that records the setpoints
 * and a loop double that hands out one fixed fast plan (the planner and the link are tested in fly-e2e).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../src/control/clock.js';
import { TickStatus } from '../../src/control/receding-horizon.js';
import { NullTelemetrySink } from '../../src/devices/mavlink/telemetry.js';
import { FlightTask, type FlightTaskOptions } from '../../src/fly/flight-task.js';
import { NAV_OBS_DIM } from '../../src/envs/cf-nav/observation.js';

const H = 16, STEP = NAV_OBS_DIM + 3;

function setup(nearBad: number, opts: { selector?: boolean; blockedSpeedMps?: number } = {}) {
  const sent: number[][] = [];
  const cf = { commander: { setVelocityWorld: (vx: number, vy: number, vz: number) => { sent.push([vx, vy, vz]); }, setPosition: () => {}, failsafe: () => {} } };
  // a plan straight along +x at 2 m/s (0.4 m per 0.2 s plan step): far faster than the demonstrations
  const current = new Float32Array(H * STEP);
  for (let t = 0; t < H; t++) { current[t * STEP] = 0.4 * t; current[t * STEP + 2] = 0.5; }
  const loop = { cfg: { layout: { actionDim: 3 } }, current, selected: 0, stats: { ticks: 1 }, tick: () => TickStatus.REPLANNED };
  const selector = { nearBad: Int32Array.of(nearBad) };
  const clock = new VirtualClock();
  const o = {
    cf, loop, clock, schedulerStats: { deadlineMisses: 0 }, goal: [5, 0, 0.5], obstacles: [], fence: { min: [-1, -1, 0], max: [6, 1, 1.5] },
    limits: { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 }, horizon: H, step: STEP, planStepS: 0.2, nearSteps: 6, reachRadiusM: 0.15,
    lookaheadS: 0.4, timeoutS: 60, maxConsecutiveMisses: 10, ...(opts.selector === false ? {} : { selector }), dataSpeedMps: 0.7,
    blockedSpeedMps: opts.blockedSpeedMps ?? 0.35, candidates: 1, telemetry: new NullTelemetrySink(), emit: () => {}, linkLost: () => false,
  } as unknown as FlightTaskOptions;
  const task = new FlightTask(o, new Float32Array(NAV_OBS_DIM));
  task.attachState(Float64Array.of(0, 0, 0.5, 0, 0, 0));
  task.begin();
  const tick = (): number[] => { task.observe(); task.plan(); task.act(); clock.advanceUs(100_000); return sent[sent.length - 1]!; };
  return { task, tick };
}

const xy = (v: number[]): number => Math.hypot(v[0]!, v[1]!);

test('model only, chosen plan clear: the setpoint is capped at the dataset speed', () => {
  const { task, tick } = setup(0);
  const v = tick();
  assert.ok(Math.abs(xy(v) - 0.7) < 1e-9, `speed ${xy(v)}`);
  assert.ok(v[0]! > 0, 'toward the plan');
  assert.is(task.dataSpeedClamps, 1);
  assert.is(task.blockedSpeedClamps, 0);
  assert.is(task.infeasibleTicks, 0);
});

test('model only, chosen plan called blocked in its flown part: the setpoint is capped at blockedSpeedMps', () => {
  const { task, tick } = setup(2);
  for (let i = 0; i < 3; i++) {
    const v = tick();
    assert.ok(Math.abs(xy(v) - 0.35) < 1e-9, `tick ${i}: speed ${xy(v)}`);
    assert.ok(v[0]! > 0, 'still flies the least-blocked plan, slower');
  }
  assert.is(task.blockedSpeedClamps, 3);
  assert.is(task.dataSpeedClamps, 0);
  assert.is(task.infeasibleTicks, 3);
  assert.is(task.hoverTicks, 0);
});

test('no learned selection (oracle / goal): neither envelope applies; the profile limit does', () => {
  const { task, tick } = setup(2, { selector: false });
  const v = tick();
  assert.ok(Math.abs(xy(v) - 1) < 1e-9, `speed ${xy(v)} = the profile's 1 m/s`);
  assert.is(task.blockedSpeedClamps + task.dataSpeedClamps, 0);
});

test.run();
