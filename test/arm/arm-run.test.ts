// @serial: real-time control over a pty (a starved host reads as a silent bus); runs alone after the parallel phase.
// runArm (src/arm/run-arm.ts) against the simulated SO-100 over a real socat pty pair, in one process: a held-out
// target reached; an overload bit mid-run → torque-safe stop with the reason; Ctrl-C (abort) → torque off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArm } from '../../src/arm/run-arm.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { RecordingTelemetrySink } from '../../src/devices/mavlink/telemetry.js';
import { createPtyPair, type PtyPair } from '../../src/sim/so100/pty-pair.js';
import { SimSo100 } from '../../src/sim/so100/sim-so100.js';
import { loadSo100Config } from '../../src/devices/so100/config.js';
import { MODEL_DIR, heldOut } from './harness.js';
import { requireTool } from '../helpers/tools.js';

const cfg = loadSo100Config();
const model = loadModelDir(MODEL_DIR);
// the shared CI host stalls 30–250 ms at times: a generous per-tick bus budget (a board keeps 12 ms)
const BUS = { busTimeoutMs: 100, busRetries: 2 };

async function rig(joints: number[]): Promise<{ sim: SimSo100; pair: PtyPair; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-arm-'));
  const pair = await createPtyPair(join(dir, 'host'), join(dir, 'sim'));
  const sim = await SimSo100.create({ joints });
  await sim.serve(pair.b);
  sim.start();
  return { sim, pair, async close() { await sim.close(); await pair.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const allOff = (sim: SimSo100): boolean => sim.state().servos.every((s) => s.torqueEnable === 0);
/** After a safety stop the torque-off SYNC_WRITEs need no reply: give the simulator a moment to read them. */
async function torqueOff(sim: SimSo100, ms = 1000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!allOff(sim) && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  return allOff(sim);
}

test('reaches a held-out target within 2 cm, then turns the torque off', async () => {
  requireTool('socat');
  const ep = heldOut(0, cfg);
  const r0 = await rig(ep.q0);
  try {
    const tel = new RecordingTelemetrySink();
    const res = await runArm({ port: r0.pair.a, model, target: ep.target, config: cfg, timeoutS: 10, ...BUS, telemetry: tel });
    assert.is(res.outcome, 'reached', JSON.stringify(res));
    // telemetry: one state, plan and stats sample per tick; the state is the grasp point
    assert.is(tel.states, res.ticks); assert.is(tel.plans, res.ticks); assert.is(tel.statsCount, res.ticks);
    assert.ok(Math.abs(tel.lastState!.zM - ep.target[2]) < 0.05, `telemetry z ${tel.lastState!.zM}`);
    assert.is(tel.faults.length, 0);
    assert.ok(res.reached && res.finalErrorM <= 0.02, `final error ${res.finalErrorM}`);
    for (const k of ['reached', 'finalErrorM', 'seconds', 'planLatencyUs', 'deadlineMisses'] as const) assert.ok(k in res, k);
    assert.ok(res.planLatencyUs.p50 > 0 && res.planLatencyUs.p99 >= res.planLatencyUs.p50);
    assert.ok(res.torqueOff && await torqueOff(r0.sim), 'torque off after the run');
    const ee = r0.sim.state().eeFk;
    assert.ok(Math.hypot(ee[0]! - ep.target[0], ee[1]! - ep.target[1], ee[2]! - ep.target[2]) < 0.03, `sim grasp point ${ee}`);
  } finally { await r0.close(); }
});

test('an overload bit mid-run → torque-safe stop that says why', async () => {
  requireTool('socat');
  const ep = heldOut(1, cfg);
  const r0 = await rig(ep.q0);
  try {
    const events: string[] = [];
    const tel = new RecordingTelemetrySink();
    const p = runArm({ port: r0.pair.a, model, target: ep.target, config: cfg, timeoutS: 10, ...BUS, telemetry: tel, onEvent: (e) => {
      events.push(e.event);
      if (e.event === 'armed') setTimeout(() => r0.sim.command({ cmd: 'fault', id: 3, fault: 'overload' }), 150);
    } });
    const res = await p;
    assert.is(res.outcome, 'fault', JSON.stringify(res));
    assert.not.ok(res.reached);
    assert.match(res.fault ?? '', /overload/);
    assert.match(res.fault ?? '', /elbow_flex/);
    assert.match(res.fault ?? '', /torque off/);
    assert.ok(events.includes('fault'));
    assert.ok(tel.faults.some((f) => /overload/.test(f)), 'the fault goes out as telemetry (STATUSTEXT)');
    assert.ok(await torqueOff(r0.sim), 'every servo torque off');
  } finally { await r0.close(); }
});

test('abort (Ctrl-C) → the loop stops and the torque goes off', async () => {
  requireTool('socat');
  const ep = heldOut(2, cfg);
  const r0 = await rig(ep.q0);
  try {
    const ac = new AbortController();
    const res = await runArm({ port: r0.pair.a, model, target: [0.3, 0.0, 0.2], config: cfg, timeoutS: 10, ...BUS, signal: ac.signal, onEvent: (e) => {
      if (e.event === 'armed') setTimeout(() => ac.abort(), 100);
    } });
    assert.is(res.outcome, 'aborted');
    assert.ok(res.seconds < 2, `stopped after ${res.seconds} s`);
    assert.ok(res.torqueOff && await torqueOff(r0.sim));
  } finally { await r0.close(); }
});

test('the simulator killed mid-run (pty pair gone) → fault that says why, the run ends at once', async () => {
  requireTool('socat');
  const ep = heldOut(5, cfg);
  const r0 = await rig(ep.q0);
  try {
    let killedAt = 0;
    const res = await runArm({ port: r0.pair.a, model, target: ep.target, config: cfg, timeoutS: 10, ...BUS, onEvent: (e) => {
      if (e.event === 'armed') setTimeout(() => { killedAt = performance.now(); void r0.pair.close(); }, 150);
    } });
    const afterKillMs = performance.now() - killedAt;
    assert.is(res.outcome, 'fault', JSON.stringify(res));
    assert.match(res.fault ?? '', /serial port lost|silent/);
    assert.ok(killedAt > 0 && afterKillMs < 2000, `ended ${afterKillMs} ms after the kill`);
    console.log(`[figure] kdp arm: pty pair killed mid-run → '${(res.fault ?? '').split(':').slice(0, 2).join(':')}', run ended ${Math.round(afterKillMs)} ms after the kill (incl. close)`);
  } finally { await r0.close(); }
});

test.run();
