// A simulator left in the state a fuzzer (or a crashed client) leaves a Crazyflie in: the commander at the
// low-level setpoint priority (takeoff → EBUSY) and disarmed (takeoff → EACCES). `kdp fly` recovers as cflib
// users do (notify-setpoint-stop, arming request) and flies; when it cannot, the error says why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { runFlight } from '../../src/fly/flight.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { encodeHover } from '../../src/protocols/crtp/commander.js';
import { encodeArm } from '../../src/protocols/crtp/service.js';
import { heldOutLayout, NAV_FENCE_OBJ, spawnSim, writeLayoutFile } from './harness.js';

async function poison(uri: string, packets: Uint8Array[]): Promise<void> {
  const m = /udp:\/\/([^:]+):(\d+)/.exec(uri)!;
  const s = createSocket('udp4');
  for (const p of packets) await new Promise<void>((r) => s.send(p, Number(m[2]), m[1], () => r()));
  await new Promise<void>((r) => s.close(() => r()));
}
const hover = (): Uint8Array => { const b = new Uint8Array(32); return b.subarray(0, encodeHover(b, 0, 0, 0, 0.3)); };
const disarm = (): Uint8Array => { const b = new Uint8Array(8); return b.subarray(0, encodeArm(b, false, 12)); };

test('commander priority raised and drone disarmed: takeoff recovers (EBUSY → notify stop, EACCES → arm) and the flight goes on', async () => {
  const layout = heldOutLayout(1);
  const sim = await spawnSim(writeLayoutFile(layout), layout.start);
  const events: Array<Record<string, unknown>> = [];
  try {
    await poison(sim.uri, [disarm(), hover(), hover()]);
    const r = await runFlight({
      uri: sim.uri, model: loadModelDir('models/cf-nav'), goal: layout.goal, obstacles: layout.obstacles, fence: NAV_FENCE_OBJ,
      limits: { maxVelocityXyMps: 0.5, maxVelocityZMps: 0.5 }, timeoutS: 3, cacheDir: null,
      onEvent: (e) => events.push(e as Record<string, unknown>),
    });
    const takeoff = events.find((e) => e.event === 'takeoff')!;
    assert.is(takeoff.errno, 0, JSON.stringify(takeoff));
    assert.not.equal(r.outcome, 'takeoffFailed', JSON.stringify(r));
    assert.ok(r.ticks > 0, 'the planning loop ran');
  } finally {
    await sim.stop();
  }
});

test.run();
