// FeetechBus protocol behaviour against simulated servos on an in-memory link: split frames, garbage,
// corrupt checksums (retry), echo, missing servos, error bits, REG_WRITE/ACTION, ID change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TimeoutError } from '../../../src/errors.js';
import { FeetechBus } from '../../../src/devices/feetech/bus.js';
import { MotorFaultError } from '../../../src/protocols/feetech/errors.js';
import { MockLink } from './mock-link.js';

const IDS = Uint8Array.of(1, 2, 3, 4, 5, 6);
function rig(ids?: number[]): { link: MockLink; bus: FeetechBus } {
  const link = new MockLink(ids);
  const bus = new FeetechBus({ transport: link, timeoutMs: 30, retries: 2 });
  return { link, bus };
}

test('sync read / write round trip, values sign-magnitude decoded', async () => {
  const { link, bus } = rig();
  await bus.open();
  link.sim.servos.forEach((s, i) => { s.actualTicks = 1000 + 100 * i; s.syncPresent(); });
  link.sim.servos[2]!.reg('Present_Load', -26);
  const pos = new Int32Array(6);
  await bus.syncRead('Present_Position', IDS, pos);
  assert.equal(Array.from(pos), [1000, 1100, 1200, 1300, 1400, 1500]);
  const load = new Int32Array(6);
  await bus.syncRead('Present_Load', IDS, load);
  assert.is(load[2], -26);
  await bus.syncWrite('Goal_Velocity', IDS, [-5, 5, 0, 100, -100, 7]);
  await new Promise((r) => setImmediate(r));
  assert.is(link.sim.servos[0]!.get('Goal_Velocity'), -5);
  assert.equal(Array.from(link.sim.servos[0]!.mem.subarray(46, 48)), [0x05, 0x80]);
});

test('replies split into 1-byte chunks still parse', async () => {
  const { link, bus } = rig();
  await bus.open();
  link.chunk = 1;
  const pos = new Int32Array(6);
  await bus.syncRead('Present_Position', IDS, pos);
  assert.ok(pos.every((p) => p === 2048));
});

test('garbage before and between frames: resync without retry', async () => {
  const { link, bus } = rig();
  await bus.open();
  link.mangle = (b) => {
    const out: number[] = [0x00, 0xff, 0x42, 0xff, 0xff, 0xff];
    for (let i = 0; i < b.length; i++) { out.push(b[i]!); if (i === 7) out.push(0xff, 0x13, 0x37, 0xff); }
    return Uint8Array.from(out);
  };
  const pos = new Int32Array(6);
  await bus.syncRead('Present_Position', IDS, pos);
  assert.ok(pos.every((p) => p === 2048), String(pos));
  assert.is(bus.stats.retries, 0);
  assert.ok(bus.stats.garbageBytes + bus.stats.badFrames > 0);
});

test('corrupt checksum once → retried and recovered; always corrupt → TimeoutError', async () => {
  const { link, bus } = rig();
  await bus.open();
  let n = 0;
  link.mangle = (b) => { n++; if (n === 1) { const c = new Uint8Array(b); c[c.length - 1] = c[c.length - 1]! ^ 0xff; return c; } return b; };
  assert.is(await bus.read(2, 'Model_Number'), 777);
  assert.is(bus.stats.retries, 1);
  assert.is(bus.stats.checksumErrors, 1);
  link.mangle = (b) => { const c = new Uint8Array(b); c[c.length - 1] = c[c.length - 1]! ^ 0xff; return c; };
  try { await bus.read(2, 'Model_Number'); assert.unreachable(); } catch (e) { assert.instance(e, TimeoutError); }
  assert.is(bus.stats.retries, 3);
});

test('echoing half-duplex adapter: own packets skipped', async () => {
  const { link, bus } = rig();
  await bus.open();
  link.echo = true;
  assert.is(await bus.ping(1), 0);
  assert.is(await bus.read(1, 'Model_Number'), 777);
  await bus.write(1, 'Goal_Position', 2100);
  const pos = new Int32Array(6);
  await bus.syncRead('Present_Position', IDS, pos);
  assert.ok(bus.stats.echoesSkipped >= 3);
  assert.is(bus.stats.retries, 0);
  // without echo handling the echo of PING id 1 (ff ff 01 02 01 fb) would read as a status with the voltage bit
  const raw = new FeetechBus({ transport: link, timeoutMs: 30, retries: 0, echo: 'never' });
  assert.is(await raw.ping(1), 0x01);
});

test('a PING reply byte-identical to the PING (voltage bit) is not lost as an "echo"', async () => {
  const { link, bus } = rig();
  await bus.open();
  link.sim.servo(4)!.faults.voltage = true;
  assert.is(await bus.ping(4), 0x01, 'no echoing adapter: the identical frame was the reply');
  const e = rig();
  await e.bus.open();
  e.link.echo = true;
  assert.is(await e.bus.ping(1), 0);
  assert.is(e.bus.adapterEchoes, true);
  e.link.sim.servo(4)!.faults.voltage = true;
  assert.is(await e.bus.ping(4), 0x01, 'echoing adapter: echo skipped, identical reply kept');
  for (let i = 0; i < 3; i++) await bus.ping(1);
  assert.is(bus.adapterEchoes, false);
});

test('missing servo in a sync read → TimeoutError naming it; error bits → MotorFaultError', async () => {
  const { link, bus } = rig([1, 2, 3, 4, 6]);
  await bus.open();
  const pos = new Int32Array(6);
  try { await bus.syncRead('Present_Position', IDS, pos); assert.unreachable(); } catch (e) {
    assert.instance(e, TimeoutError);
    assert.match((e as Error).message, /servo 5/);
  }
  link.sim.servo(3)!.faults.overload = true;
  link.sim.servo(4)!.faults.overheat = true;
  try { await bus.syncRead('Present_Position', Uint8Array.of(1, 2, 3, 4), pos); assert.unreachable(); } catch (e) {
    assert.instance(e, MotorFaultError);
    const f = (e as MotorFaultError).faults;
    assert.equal(f.map((x) => [x.id, x.bits]), [[3, ['overload']], [4, ['overheat']]]);
    assert.is(pos[0], 2048, 'healthy servos still read');
  }
});

test('REG_WRITE + ACTION, RESET, broadcast ping, ID change', async () => {
  const { link, bus } = rig([1, 2]);
  await bus.open();
  await bus.regWrite(1, 'Acceleration', 77);
  assert.is(link.sim.servo(1)!.get('Acceleration'), 0);
  await bus.action();
  await new Promise((r) => setTimeout(r, 5));
  assert.is(link.sim.servo(1)!.get('Acceleration'), 77);
  await bus.reset(2);
  assert.equal(await bus.broadcastPing(20), [1, 2]);
  await bus.write(2, 'ID', 9);
  assert.equal(await bus.broadcastPing(20), [1, 9]);
  assert.is(await bus.read(9, 'ID'), 9);
});

test('EPROM lock and read-only registers respected by the simulated servo', async () => {
  const { link, bus } = rig([1]);
  await bus.open();
  await bus.write(1, 'Lock', 1);
  await bus.write(1, 'Max_Position_Limit', 3000);
  assert.is(await bus.read(1, 'Max_Position_Limit'), 4095, 'locked EPROM unchanged');
  await bus.write(1, 'Lock', 0);
  await bus.write(1, 'Max_Position_Limit', 3000);
  assert.is(await bus.read(1, 'Max_Position_Limit'), 3000);
  await bus.write(1, 'Present_Position', 5);
  assert.is(await bus.read(1, 'Present_Position'), 2048, 'read-only');
  await bus.write(1, 'Torque_Enable', 1);
  await bus.write(1, 'Goal_Position', 3500);
  assert.is(await bus.read(1, 'Goal_Position'), 3000, 'goal clamped to Max_Position_Limit');
  assert.is(link.writes.length > 0, true);
});

test('one transaction at a time', async () => {
  const { bus } = rig();
  await bus.open();
  const p = bus.ping(1);
  try { await bus.ping(2); assert.unreachable(); } catch (e) { assert.instance(e, TypeError); }
  await p;
});

test.run();
