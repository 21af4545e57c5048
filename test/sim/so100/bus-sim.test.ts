// FeetechBus ↔ simulated SO-100 over a real socat pty pair with the real serialport on both ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FeetechBus } from '../../../src/devices/feetech/bus.js';
import { MotorFaultError } from '../../../src/protocols/feetech/errors.js';
import { SafetyStopError } from '../../../src/errors.js';
import { So100Arm } from '../../../src/devices/so100/arm.js';
import { makeRig, rejects, sleep } from './harness.js';
import type { Rig } from './harness.js';

const IDS = Uint8Array.of(1, 2, 3, 4, 5, 6);
let rig: Rig;

test.before(async () => { rig = await makeRig(); });
test.after(async () => { await rig.close(); });

test('ping and model number', async () => {
  for (const id of IDS) assert.is(await rig.bus.ping(id), 0);
  assert.is(await rig.bus.read(3, 'Model_Number'), 777);
  assert.equal(await rig.bus.broadcastPing(50), [1, 2, 3, 4, 5, 6]);
});

test('sync read positions; sync write goals moves the simulated arm', async () => {
  const pos = new Int32Array(6);
  await rig.bus.syncRead('Present_Position', IDS, pos);
  assert.ok(pos.every((p) => Math.abs(p - 2048) < 200), `start near mid-range: ${pos}`);
  await rig.bus.syncWrite('Torque_Enable', IDS, [1, 1, 1, 1, 1, 1]);
  const goal = [2048 + 300, 2048 - 200, 2048 + 250, 2048 + 150, 2048, 2048 + 400];
  await rig.bus.syncWrite('Goal_Position', IDS, goal);
  await sleep(1200);
  await rig.bus.syncRead('Present_Position', IDS, pos);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(pos[i]! - goal[i]!) < 60, `joint ${i + 1}: ${pos[i]} vs goal ${goal[i]}`);
  const st = rig.sim.state();
  assert.ok(Math.abs(st.jointsRad[0]! - (300 * 2 * Math.PI) / 4096) < 0.1, `pan moved: ${st.jointsRad[0]}`);
  assert.ok(st.instructions.SYNC_WRITE! >= 2 && st.instructions.SYNC_READ! >= 2);
  const vel = new Int32Array(6);
  await rig.bus.syncRead('Present_Velocity', IDS, vel);
  const volts = new Int32Array(6);
  await rig.bus.syncRead('Present_Voltage', IDS, volts);
  assert.equal(Array.from(volts), [120, 120, 120, 120, 120, 120]);
});

test('garbage bytes before a reply: resynchronises', async () => {
  const pos = new Int32Array(6);
  const before = rig.bus.stats.garbageBytes + rig.bus.stats.badFrames;
  rig.sim.command({ cmd: 'garbage', bytes: 23 });
  await rig.bus.syncRead('Present_Position', IDS, pos);
  assert.ok(pos.every((p) => p > 1000 && p < 3100));
  assert.ok(rig.bus.stats.garbageBytes + rig.bus.stats.badFrames > before, 'garbage was seen and skipped');
});

test('half-duplex adapter echo is detected and skipped', async () => {
  // a fresh bus (the rig's has already learnt that this line does not echo)
  const bus = new FeetechBus({ transport: rig.transport, timeoutMs: 250 });
  rig.sim.command({ cmd: 'echo', on: true });
  try {
    assert.is(await bus.ping(2), 0);
    assert.is(await bus.read(2, 'Model_Number'), 777);
    await bus.write(2, 'Acceleration', 254);
    assert.is(bus.stats.echoesSkipped, 3);
    assert.is(bus.adapterEchoes, true);
    const pos = new Int32Array(6);
    await bus.syncRead('Present_Position', IDS, pos); // the echo of a broadcast never parses as status
    assert.ok(pos.every((p) => p > 1000 && p < 3100));
  } finally { rig.sim.command({ cmd: 'echo', on: false }); }
});

test('per-tick sync read: latency figures and no heap growth', async () => {
  const pos = new Int32Array(6);
  const lat: number[] = [];
  for (let i = 0; i < 50; i++) await rig.bus.syncRead('Present_Position', IDS, pos);
  (globalThis as { gc?: () => void }).gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < 400; i++) {
    const t = performance.now();
    await rig.bus.syncRead('Present_Position', IDS, pos);
    await rig.bus.syncWrite('Goal_Position', IDS, pos);
    lat.push(performance.now() - t);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const grow = process.memoryUsage().heapUsed - heap0;
  lat.sort((a, b) => a - b);
  console.log(`\n[figure] so100 pty tick (SYNC_READ 6 pos + SYNC_WRITE 6 goals): p50 ${lat[200]!.toFixed(2)} ms, p99 ${lat[396]!.toFixed(2)} ms, heap growth ${(grow / 1024).toFixed(0)} KiB over 400 ticks`);
  assert.ok(lat[200]! < 10, `p50 ${lat[200]}`);
  assert.ok(grow < 2 * 1024 * 1024, `heap grew ${grow} bytes`);
});

test('injected overload → torque-safe stop with a clear message', async () => {
  const arm = new So100Arm({ bus: rig.bus });
  await arm.enableTorque();
  await arm.readState(true);
  rig.sim.command({ cmd: 'fault', id: 3, fault: 'overload' });
  try { await arm.readState(); assert.unreachable('should stop'); } catch (e) {
    assert.instance(e, SafetyStopError);
    const msg = (e as Error).message;
    assert.match(msg, /servo 3 \(elbow_flex\): overload/);
    assert.match(msg, /torque off sent/);
    assert.instance((e as Error).cause, MotorFaultError);
  }
  await sleep(30);
  const st = rig.sim.state();
  assert.ok(st.servos.every((s) => s.torqueEnable === 0), 'every servo torque off');
  await rejects(arm.writeGoals([2048, 2048, 2048, 2048, 2048, 2048]), SafetyStopError);
  rig.sim.command({ cmd: 'clear' });
});

test('voltage fault on a plain read → MotorFaultError naming the bit', async () => {
  rig.sim.command({ cmd: 'fault', id: 5, fault: 'voltage' });
  try { await rig.bus.read(5, 'Present_Position'); assert.unreachable(); } catch (e) {
    assert.instance(e, MotorFaultError);
    assert.match((e as Error).message, /voltage/);
  }
  rig.sim.command({ cmd: 'clear' });
});

test('silent servo → timeout after retries, others fine', async () => {
  rig.sim.command({ cmd: 'fault', id: 6, fault: 'silent' });
  rig.bus.timeoutMs = 20;
  const t = performance.now();
  try { await rejects(rig.bus.ping(6), /no status from servo 6/); } finally { rig.bus.timeoutMs = 250; rig.sim.command({ cmd: 'clear' }); }
  const ms = performance.now() - t;
  assert.ok(ms >= 50 && ms < 500, `gave up after ${ms} ms (3 attempts × 20 ms)`);
  assert.is(await rig.bus.ping(5), 0);
  rig.sim.command({ cmd: 'clear' });
});

test('close turns the torque off (the sim sees Torque_Enable = 0)', async () => {
  const arm = new So100Arm({ bus: rig.bus });
  await arm.enableTorque();
  assert.ok(rig.sim.state().servos.every((s) => s.torqueEnable === 1));
  await arm.close();
  await sleep(20);
  const st = rig.sim.state();
  assert.ok(st.servos.every((s) => s.torqueEnable === 0), JSON.stringify(st.servos.map((s) => s.torqueEnable)));
  assert.not.ok(rig.bus.isOpen);
  await rig.bus.open(); // reopen for after()
});

test.run();
