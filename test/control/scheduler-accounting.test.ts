// @serial: the fly and arm runs speak to their simulators in real time (UDP, a socat pty); runs alone.
/**
 * One scheduler, one accounting. The scheduler alone on a virtual clock: ticks start exactly on the slot grid
 * (no drift, also at a period that is no whole number of µs), overruns skip ⌈w⌉ − 1 slots and count as deadline
 * misses, a host stall while waiting skips the slots it covered. Then `kdp fly`, `kdp arm`, `kdp eval` and
 * `kdp serve` run their real tasks (the Crazyflie simulator over UDP, the SO-100 simulator over a socat pty, the
 * MuJoCo maze, the signed-model agent with the planning loop) on a virtual clock with the same scripted per-tick
 * work durations, and must report the same skipped slots and deadline misses as the scheduler alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/control/clock.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { FixedRateScheduler } from '../../src/control/scheduler.js';
import { runTask, type ControlTask, type StopReason } from '../../src/control/task.js';
import { runArm } from '../../src/arm/run-arm.js';
import { runFlight } from '../../src/fly/flight.js';
import { runServe } from '../../src/deploy/serve.js';
import { createModelLoader } from '../../src/deploy/serve-agent.js';
import { createPlanningServe } from '../../src/deploy/planning-serve.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { createPtyPair } from '../../src/sim/so100/pty-pair.js';
import { SimSo100 } from '../../src/sim/so100/sim-so100.js';
import { loadSo100Config } from '../../src/devices/so100/config.js';
import { MODEL_DIR as REACH_MODEL_DIR, heldOut } from '../arm/harness.js';
import { NAV_FENCE_OBJ, heldOutLayout, spawnSim, writeLayoutFile } from '../fly/harness.js';
import { requireTool } from '../helpers/tools.js';
import { signedUmazeBoard } from '../helpers/signed-board.js';

const RATE_HZ = 10;
const PERIOD_US = 1e6 / RATE_HZ;
/** scripted work of the first ticks, in periods: on time, overruns of 1.5 / 2 / 3.2 / 2.7 periods, exactly one period */
const SCRIPT = [0.2, 1.5, 0.3, 2.0, 0.99, 3.2, 1.0, 0.5, 2.7, 0.1];
/** work > 1 period: 1.5, 2.0, 3.2, 2.7 */
const EXPECTED_MISSES = 4;
/** ⌈w⌉ − 1 per tick: 1 + 1 + 3 + 2 */
const EXPECTED_SKIPPED = 7;

/** The scripted work: tick i advances the virtual clock by SCRIPT[i] periods (no work after the script). */
function scripted(clock: VirtualClock): (tick: number) => void {
  return (i) => { if (i < SCRIPT.length) clock.advanceUs(SCRIPT[i]! * PERIOD_US); };
}

/** A task that records when each tick started and what safeStop got. */
function recordingTask(clock: VirtualClock, ticks: number, work?: (i: number) => void): ControlTask & { starts: number[]; stops: StopReason[] } {
  const starts: number[] = [];
  const stops: StopReason[] = [];
  return {
    starts, stops,
    observe: (i) => { starts.push(clock.nowUs()); work?.(i); },
    plan: () => {},
    act: () => {},
    done: () => starts.length >= ticks,
    safeStop: (r) => { stops.push(r); },
  };
}

test('scheduler alone: scripted overruns → deadline misses and ⌈w⌉ − 1 skipped slots, every tick starts on the slot grid', async () => {
  const clock = new VirtualClock({ startUs: 5_000 });
  const s = new FixedRateScheduler({ periodUs: PERIOD_US, clock });
  const task = recordingTask(clock, 30);
  const r = await runTask(task, s, { onTick: scripted(clock) });
  assert.is(r.stop, 'done');
  assert.is(r.deadlineMisses, EXPECTED_MISSES);
  assert.is(r.skippedSlots, EXPECTED_SKIPPED);
  assert.is(r.lateTicks, 4);
  assert.is(r.ticks, 30);
  assert.equal(task.stops, ['done'], 'safeStop exactly once');
  // slot of each tick: on the grid, and the slots skipped are exactly those the overruns covered
  const slots = task.starts.map((t) => (t - 5_000) / PERIOD_US);
  for (const k of slots) assert.ok(Number.isInteger(k), `tick started off the grid: slot ${k}`);
  assert.equal(slots.slice(0, 12), [0, 1, 3, 4, 6, 7, 11, 12, 13, 16, 17, 18]);
});

test('scheduler alone: no drift over 100 000 slots at a period that is no whole number of µs (3 Hz)', async () => {
  const clock = new VirtualClock();
  const period = 1e6 / 3;
  const s = new FixedRateScheduler({ periodUs: period, clock });
  let maxErr = 0, n = 0;
  s.start((i) => {
    const err = Math.abs(clock.nowUs() - i * period);
    if (err > maxErr) maxErr = err;
    n++;
  }, { maxTicks: 100_000 });
  await s.done;
  assert.is(n, 100_000);
  assert.is(s.stats.skippedSlots, 0);
  assert.is(s.stats.deadlineMisses, 0);
  // slot k is start + k·period (computed, never accumulated): the error stays at float rounding (≪ 1 µs)
  assert.ok(maxErr < 1e-3, `max drift ${maxErr} µs`);
});

test('scheduler alone: a host stall while waiting skips the slots it covered (counted, not replayed)', async () => {
  const clock = new VirtualClock();
  const s = new FixedRateScheduler({ periodUs: 1000, clock });
  const starts: number[] = [];
  s.start((i) => {
    starts.push(clock.nowUs());
    // the process is frozen 3.5 slots after tick 2 ended, before the scheduler wakes up for slot 3
    if (i === 2) setImmediate(() => clock.advanceUs(3500));
  }, { maxTicks: 6 });
  await s.done;
  assert.is(s.stats.deadlineMisses, 0, 'no tick worked longer than its budget');
  // woken at 5500 µs for slot 3 (due 3000): slots 3 and 4 passed entirely, the tick runs late in slot 5
  assert.is(s.stats.skippedSlots, 2);
  assert.equal(starts, [0, 1000, 2000, 5500, 6000, 7000], 'no burst, back on the grid at the next slot');
});

test('runTask: safeStop exactly once on abort, on a thrown tick and on a rejected async tick; the error is reported', async () => {
  // abort mid-run
  {
    const clock = new VirtualClock();
    const ac = new AbortController();
    const task = recordingTask(clock, 1000, (i) => { if (i === 5) ac.abort(); });
    const r = await runTask(task, new FixedRateScheduler({ periodUs: 1000, clock }), { signal: ac.signal });
    assert.is(r.stop, 'aborted');
    assert.equal(task.stops, ['aborted']);
    assert.is(task.starts.length, 6);
  }
  // a synchronous throw in plan
  {
    const clock = new VirtualClock();
    const stops: StopReason[] = [];
    let errSeen: unknown;
    const task: ControlTask = {
      observe: () => {}, act: () => {}, done: () => false,
      plan: (i) => { if (i === 3) throw new Error('boom'); },
      safeStop: (r, e) => { stops.push(r); errSeen = e; },
    };
    const r = await runTask(task, new FixedRateScheduler({ periodUs: 1000, clock }));
    assert.is(r.stop, 'error');
    assert.is((r.error as Error).message, 'boom');
    assert.is((errSeen as Error).message, 'boom');
    assert.equal(stops, ['error']);
  }
  // an async act that rejects (a bus fault)
  {
    const clock = new VirtualClock();
    const stops: StopReason[] = [];
    const task: ControlTask = {
      observe: async () => { await new Promise((r) => setTimeout(r, 1)); },
      plan: () => {}, done: () => false,
      act: async (i) => { if (i === 2) throw new Error('bus fault'); },
      safeStop: (r) => { stops.push(r); },
    };
    const r = await runTask(task, new FixedRateScheduler({ periodUs: 1000, clock }));
    assert.is(r.stop, 'error');
    assert.is((r.error as Error).message, 'bus fault');
    assert.is(r.ticks, 3);
    assert.equal(stops, ['error']);
  }
  // abort while an async tick awaits its I/O: safeStop runs only after that tick settled (no race with a bus write)
  {
    const clock = new VirtualClock();
    const ac = new AbortController();
    let inFlight = false;
    const seen: boolean[] = [];
    const task: ControlTask = {
      observe: async (i) => { if (i === 2) ac.abort(); inFlight = true; await new Promise((r) => setTimeout(r, 20)); inFlight = false; },
      plan: () => {}, act: () => {}, done: () => false,
      safeStop: () => { seen.push(inFlight); },
    };
    const r = await runTask(task, new FixedRateScheduler({ periodUs: 1000, clock }), { signal: ac.signal });
    assert.is(r.stop, 'aborted');
    assert.equal(seen, [false], 'safeStop once, with no tick in flight');
  }
  // a start() that throws: no tick runs, safeStop once
  {
    const clock = new VirtualClock();
    const task = recordingTask(clock, 10);
    task.start = async () => { throw new Error('configure failed'); };
    const r = await runTask(task, new FixedRateScheduler({ periodUs: 1000, clock }));
    assert.is(r.stop, 'error');
    assert.is(task.starts.length, 0);
    assert.equal(task.stops, ['error']);
  }
});

interface Accounting { skippedSlots: number; deadlineMisses: number }
const counts = (r: Accounting): Accounting => ({ skippedSlots: r.skippedSlots, deadlineMisses: r.deadlineMisses });
const EXPECTED: Accounting = { skippedSlots: EXPECTED_SKIPPED, deadlineMisses: EXPECTED_MISSES };

test('kdp eval (maze2d, the shipped model) on the scripted virtual clock: the same accounting', async () => {
  const clock = new VirtualClock();
  const r = await evaluate({
    env: 'maze2d-umaze', model: loadModelDir('models/maze2d-umaze'), episodes: 1, seed: 7, candidates: 8, rateHz: RATE_HZ,
    schedulerClock: clock, onTick: scripted(clock),
  });
  assert.ok(r.ticks > SCRIPT.length, `ticks ${r.ticks}`);
  assert.equal(counts(r), EXPECTED);
  assert.is(r.clock, 'virtual');
});

test('kdp serve (signed model, planning loop against the maze) on the scripted virtual clock: the same accounting', async () => {
  const { work, root, trustedKeysDir } = await signedUmazeBoard('kdp-acct-serve-');
  const planning = await createPlanningServe({ env: 'maze2d-umaze', candidates: 8, rateHz: RATE_HZ, baseLoader: createModelLoader({ trustedKeysDir }) });
  try {
    const clock = new VirtualClock();
    const r = await runServe({
      modelsDir: root, rateHz: RATE_HZ, durationMs: 4000, loader: planning.loader, tick: planning.tick, clock, onTick: scripted(clock),
    });
    assert.ok(r.ticks > SCRIPT.length, `ticks ${r.ticks}`);
    assert.equal(counts(r), EXPECTED);
    assert.is(r.tickErrors, 0);
  } finally {
    planning.close();
    rmSync(work, { recursive: true, force: true });
  }
});

test('kdp arm (SO-100 simulator over a socat pty) on the scripted virtual clock: the same accounting, torque off', async () => {
  requireTool('socat');
  const cfg = loadSo100Config();
  const ep = heldOut(3, cfg);
  const dir = mkdtempSync(join(tmpdir(), 'kdp-acct-arm-'));
  const pair = await createPtyPair(join(dir, 'host'), join(dir, 'sim'));
  const sim = await SimSo100.create({ joints: ep.q0 });
  await sim.serve(pair.b);
  sim.start();
  try {
    const clock = new VirtualClock();
    const r = await runArm({
      port: pair.a, model: loadModelDir(REACH_MODEL_DIR), target: ep.target, config: cfg, rateHz: RATE_HZ, timeoutS: 3,
      // never "reached" within the run: the run ends by its (virtual) timeout, after the whole script
      holdTicks: 1_000_000, busTimeoutMs: 100, busRetries: 2, clock, onTick: scripted(clock),
    });
    assert.is(r.outcome, 'timeout', JSON.stringify(r));
    assert.ok(r.ticks > SCRIPT.length, `ticks ${r.ticks}`);
    assert.equal(counts(r), EXPECTED, JSON.stringify(r));
    assert.is(r.torqueOff, true, JSON.stringify(r));
  } finally {
    await sim.close();
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kdp fly (Crazyflie simulator over UDP, shipped cf-nav) on the scripted virtual clock: the same accounting, lands', async () => {
  const layout = heldOutLayout(2);
  const sim = await spawnSim(writeLayoutFile(layout), layout.start);
  try {
    const clock = new VirtualClock();
    const r = await runFlight({
      uri: sim.uri, model: loadModelDir('models/cf-nav'), goal: layout.goal, obstacles: layout.obstacles, fence: NAV_FENCE_OBJ,
      limits: { maxVelocityXyMps: 0.5, maxVelocityZMps: 0.5 }, rateHz: RATE_HZ, timeoutS: 3, cacheDir: null, clock, onTick: scripted(clock),
    });
    assert.is(r.outcome, 'timeout', JSON.stringify(r));
    assert.ok(r.ticks > SCRIPT.length, `ticks ${r.ticks}`);
    assert.equal(counts(r), EXPECTED, JSON.stringify(r));
    assert.is(r.landed, true, JSON.stringify(r));
  } finally {
    await sim.stop();
  }
});

test.run();
