// @serial: real-time control over a pty (a starved host reads as a silent bus); runs alone after the parallel phase.
// `torqueOff: true` must be the truth: the bus stalls mid-run (every servo silent: frames go nowhere), the safety
// stop's torque-off frames are lost; close() reads Torque_Enable back and retries until the bus is back, or
// reports which servos it could not confirm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArm } from '../../src/arm/run-arm.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { createPtyPair, hasSocat, type PtyPair } from '../../src/sim/so100/pty-pair.js';
import { SimSo100 } from '../../src/sim/so100/sim-so100.js';
import { loadSo100Config } from '../../src/devices/so100/config.js';
import { MODEL_DIR, heldOut } from './harness.js';

const cfg = loadSo100Config();
const model = loadModelDir(MODEL_DIR);
const BUS = { busTimeoutMs: 100, busRetries: 2 };
const IDS = [1, 2, 3, 4, 5, 6];

async function rig(joints: number[]): Promise<{ sim: SimSo100; pair: PtyPair; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-torque-'));
  const pair = await createPtyPair(join(dir, 'host'), join(dir, 'sim'));
  const sim = await SimSo100.create({ joints });
  await sim.serve(pair.b);
  sim.start();
  return { sim, pair, async close() { await sim.close(); await pair.close(); rmSync(dir, { recursive: true, force: true }); } };
}
const stall = (sim: SimSo100, on: boolean): void => { for (const id of IDS) sim.command({ cmd: 'fault', id, fault: 'silent', on }); };
const torqueEnabled = (sim: SimSo100): number[] => sim.state().servos.map((s) => s.torqueEnable);

test('bus stalled for 2 s mid-run: the stop is reported, and torque off is confirmed by read-back once the bus is back', async () => {
  assert.ok(hasSocat(), 'socat is required (apt-get install socat)');
  const ep = heldOut(3, cfg);
  const r0 = await rig(ep.q0);
  try {
    const res = await runArm({ port: r0.pair.a, model, target: ep.target, config: cfg, timeoutS: 10, ...BUS, torqueOffTimeoutMs: 5000, onEvent: (e) => {
      if (e.event === 'armed') setTimeout(() => { stall(r0.sim, true); setTimeout(() => stall(r0.sim, false), 2000); }, 150);
    } });
    assert.is(res.outcome, 'fault', JSON.stringify(res));
    assert.match(res.fault ?? '', /silent/);
    assert.is(res.torqueOff, true, JSON.stringify(res));
    assert.equal(torqueEnabled(r0.sim), [0, 0, 0, 0, 0, 0], 'every servo really has Torque_Enable = 0');
  } finally { await r0.close(); }
});

test('bus stalled for longer than the retry budget: torqueOff false with the servo ids, never a false "off"', async () => {
  assert.ok(hasSocat(), 'socat is required (apt-get install socat)');
  const ep = heldOut(4, cfg);
  const r0 = await rig(ep.q0);
  try {
    const events: Array<{ event: string; message?: string }> = [];
    const res = await runArm({ port: r0.pair.a, model, target: ep.target, config: cfg, timeoutS: 10, ...BUS, torqueOffTimeoutMs: 800, onEvent: (e) => {
      events.push(e as { event: string; message?: string });
      if (e.event === 'armed') setTimeout(() => stall(r0.sim, true), 150);
    } });
    assert.is(res.outcome, 'fault');
    assert.is(res.torqueOff, false, JSON.stringify(res));
    assert.equal(res.torqueUnconfirmedIds, IDS);
    assert.ok(events.some((e) => e.event === 'torqueNotConfirmed' && /cut the servo power/.test(e.message ?? '')));
    stall(r0.sim, false);
    assert.equal(torqueEnabled(r0.sim), [1, 1, 1, 1, 1, 1], 'the report matched reality: the torque was still on');
  } finally { await r0.close(); }
});

test.run();
