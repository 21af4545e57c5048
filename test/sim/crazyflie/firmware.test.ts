import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as crtp from '../../../src/protocols/crtp/index.js';
import { SimCrazyflie } from '../../../src/sim/crazyflie/firmware.js';
import { CF21 } from '../../../src/devices/crazyflie/vehicle.js';
import { clearance, parseObstacles } from '../../../src/envs/cf-nav/obstacles.js';
import { ConfigError } from '../../../src/errors.js';

const out = new Uint8Array(32);
function collect(sim: SimCrazyflie): crtp.DownlinkMessage[] {
  const got: crtp.DownlinkMessage[] = [];
  sim.setSink((p, n) => got.push(crtp.decodeDownlink(p.slice(0, n), n)));
  return got;
}

test('CF2.1 constants are the published ones', () => {
  assert.ok(CF21.massKg >= 0.027 && CF21.massKg <= 0.032);
  assert.is(CF21.armLengthM, 0.046);
  assert.ok(Math.abs(CF21.inertiaKgM2[0] - 1.657e-5) < 1e-8);
});

test('HL takeoff → hover at 0.5 m → land → motors off (sim clock)', async () => {
  const sim = await SimCrazyflie.create();
  const got = collect(sim);
  sim.onPacket(out, crtp.encodeHlTakeoff(out, 0.5, 1.5, null));
  assert.equal(got.at(-1), { kind: 'hlReply', cmd: 7, errno: 0 });
  sim.advance(3);
  const z = sim.state.pos[2]!;
  assert.ok(Math.abs(z - 0.5) < 0.03, `z=${z}`);
  assert.ok(Math.hypot(sim.state.pos[0]!, sim.state.pos[1]!) < 0.03);
  sim.onPacket(out, crtp.encodeHlGoTo(out, 0.5, 0.2, 0.7, 0, 2));
  sim.advance(3);
  assert.ok(Math.hypot(sim.state.pos[0]! - 0.5, sim.state.pos[1]! - 0.2, sim.state.pos[2]! - 0.7) < 0.05, `goto ${Array.from(sim.state.pos)}`);
  sim.onPacket(out, crtp.encodeHlLand(out, 0, 2, null));
  sim.advance(3);
  assert.ok(sim.state.pos[2]! < 0.05, `landed z=${sim.state.pos[2]}`);
  assert.ok(sim.motorCommandZero, 'motors off after landing');
  sim.dispose();
});

test('streamed position setpoints, then silence: level after 500 ms, motors off after 2 s', async () => {
  const sim = await SimCrazyflie.create();
  for (let i = 0; i < 150; i++) { sim.onPacket(out, crtp.encodePosition(out, 0, 0, 0.6, 0)); sim.advance(0.02); }
  assert.ok(Math.abs(sim.state.pos[2]! - 0.6) < 0.05, `z=${sim.state.pos[2]}`);
  assert.is(sim.watchdogLevel, 0);
  sim.advance(0.45);
  assert.is(sim.watchdogLevel, 0);
  sim.advance(0.1);
  assert.is(sim.watchdogLevel, 1, 'levelled after 500 ms');
  assert.not.ok(sim.motorCommandZero, 'still flying (levelled, altitude kept)');
  sim.advance(1.5);
  assert.is(sim.watchdogLevel, 2, 'shut down after 2 s');
  assert.ok(sim.motorCommandZero);
  assert.is(sim.counters.watchdogShutdown, 1);
  sim.dispose();
});

test('thrust lock: RPYT thrust ignored until a zero-thrust setpoint', async () => {
  const sim = await SimCrazyflie.create();
  for (let i = 0; i < 10; i++) { sim.onPacket(out, crtp.encodeRpyt(out, 0, 0, 0, 45000)); sim.advance(0.01); }
  assert.ok(sim.motorCommandZero, 'locked');
  sim.onPacket(out, crtp.encodeRpyt(out, 0, 0, 0, 0));
  for (let i = 0; i < 10; i++) { sim.onPacket(out, crtp.encodeRpyt(out, 0, 0, 0, 45000)); sim.advance(0.01); }
  assert.not.ok(sim.motorCommandZero, 'unlocked');
  sim.onPacket(out, crtp.encodeStopSetpoint(out));
  sim.advance(0.01);
  assert.ok(sim.motorCommandZero);
  assert.is(sim.counters.stopSetpoints, 1);
  sim.dispose();
});

test('log blocks: firmware error codes, streaming at the period with 24-bit timestamps', async () => {
  const sim = await SimCrazyflie.create();
  const got = collect(sim);
  // TOC info
  sim.onPacket(out, crtp.encodeTocInfo(out, 5));
  const info = got.pop();
  assert.is(info?.kind, 'tocInfo');
  if (info?.kind === 'tocInfo') { assert.is(info.count, sim.logTocSize); assert.is(info.maxBlocks, 16); }
  sim.onPacket(out, crtp.encodeTocItem(out, 2, 5));
  assert.equal(got.pop(), { kind: 'tocItem', port: 5, id: 2, type: 7, group: 'stateEstimate', name: 'z' });
  sim.onPacket(out, crtp.encodeTocItem(out, 999, 5));
  assert.equal(got.pop(), { kind: 'tocItemMissing', port: 5 });
  const ctl = (): unknown => { const m = got.pop(); return m?.kind === 'logControl' ? m.errno : m; };
  sim.onPacket(out, crtp.encodeLogCreateBlock(out, 1, [{ id: 0, fetchAs: 7 }, { id: 2, fetchAs: 7 }]));
  assert.is(ctl(), 0);
  sim.onPacket(out, crtp.encodeLogCreateBlock(out, 1, [{ id: 0, fetchAs: 7 }]));
  assert.is(ctl(), crtp.Errno.EEXIST);
  sim.onPacket(out, crtp.encodeLogCreateBlock(out, 2, Array.from({ length: 7 }, (_, i) => ({ id: i, fetchAs: 7 }))));
  assert.is(ctl(), crtp.Errno.E2BIG);
  sim.onPacket(out, crtp.encodeLogStartBlock(out, 9, 100));
  assert.is(ctl(), crtp.Errno.ENOENT);
  sim.onPacket(out, crtp.encodeLogCreateBlock(out, 3, [{ id: 4000, fetchAs: 7 }]));
  assert.is(ctl(), crtp.Errno.ENOENT);
  sim.onPacket(out, crtp.encodeLogStartBlock(out, 1, 100));
  assert.is(ctl(), 0);
  got.length = 0;
  sim.advance(1.0);
  const data = got.filter((m) => m.kind === 'logData');
  assert.ok(data.length >= 10 && data.length <= 11, `${data.length} blocks in 1 s at 100 ms`);
  const d0 = data[0]!, d1 = data[1]!;
  if (d0.kind === 'logData' && d1.kind === 'logData') { assert.is(d1.timestampMs - d0.timestampMs, 100); assert.is(d0.data.length, 8); }
  sim.onPacket(out, crtp.encodeLogReset(out));
  got.length = 0;
  sim.advance(0.3);
  assert.is(got.filter((m) => m.kind === 'logData').length, 0);
  sim.dispose();
});

test('params: read, write echo, read-only ignored, unknown → ENOENT, set-by-name', async () => {
  const sim = await SimCrazyflie.create();
  const got = collect(sim);
  sim.onPacket(out, crtp.encodeParamRead(out, 0));
  assert.equal(got.pop(), { kind: 'paramRead', id: 0, status: 0, value: new Uint8Array([2]) });
  sim.onPacket(out, crtp.encodeParamWrite(out, 7, crtp.ParamType.FLOAT, 2.5));
  const w = got.pop();
  assert.is(w?.kind, 'paramWrite');
  assert.is(sim.controller.gains.posKp, 2.5);
  got.length = 0;
  sim.onPacket(out, crtp.encodeParamWrite(out, 11, crtp.ParamType.UINT32, 1));
  assert.is(got.length, 0, 'read-only write: no reply');
  sim.onPacket(out, crtp.encodeParamWrite(out, 500, crtp.ParamType.UINT8, 1));
  assert.equal(got.pop(), { kind: 'paramWrite', id: 500, value: new Uint8Array([2]) });
  sim.onPacket(out, crtp.encodeParamSetByName(out, 'stabilizer', 'estimator', crtp.ParamType.UINT8, 1));
  const r = got.shift();
  assert.equal(r && r.kind === 'paramSetByName' ? [r.group, r.name, r.errno] : r, ['stabilizer', 'estimator', 0]);
  sim.onPacket(out, crtp.encodeParamSetByName(out, 'nope', 'x', crtp.ParamType.UINT8, 1));
  const r2 = got.pop();
  assert.is(r2?.kind === 'paramSetByName' ? r2.errno : -1, crtp.Errno.ENOENT);
  sim.dispose();
});

test('collisions with an obstacle are counted; garbage never throws', async () => {
  const sim = await SimCrazyflie.create({ obstacles: [{ type: 'cylinder', x: 0.6, y: 0, radius: 0.1, height: 2 }] });
  sim.onPacket(out, crtp.encodeHlTakeoff(out, 0.5, 1, null));
  sim.advance(2);
  sim.onPacket(out, crtp.encodeHlGoTo(out, 1.2, 0, 0.5, 0, 2));
  sim.advance(3);
  assert.ok(sim.counters.collisions >= 1, `collisions ${sim.counters.collisions}`);
  for (let i = 0; i < 2000; i++) { const n = 1 + (i % 32); for (let k = 0; k < n; k++) out[k] = (i * 31 + k * 17) & 0xff; sim.onPacket(out, n); }
  sim.advance(0.1);
  assert.ok(sim.counters.decodeErrors > 0);
  sim.dispose();
});

test('obstacle layouts: JSON schema with pointer errors, geometric clearance', () => {
  const obs = parseObstacles({ obstacles: [{ type: 'cylinder', x: 1, y: 0, radius: 0.1, height: 2 }, { type: 'box', x: 0, y: 1, sx: 0.4, sy: 0.2, sz: 1, yawDeg: 90 }] });
  assert.is(obs.length, 2);
  assert.ok(Math.abs(clearance(obs[0]!, 1.5, 0, 1, 0) - 0.4) < 1e-9);
  assert.ok(clearance(obs[0]!, 1, 0, 1, 0.06) < 0);
  assert.ok(Math.abs(clearance(obs[1]!, 0.3, 1, 0.5, 0) - 0.2) < 1e-9, 'box rotated 90°: half-width 0.1 along x');
  try { parseObstacles([{ type: 'cylinder', x: 1, y: 0, radius: -1, height: 1 }]); assert.unreachable(); } catch (e) { assert.instance(e, ConfigError); assert.match((e as Error).message, /\/0\/radius/); }
});

test.run();
