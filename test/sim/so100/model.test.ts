// The simulated arm itself: forward kinematics vs MuJoCo, IK, servo semantics (torque enable, limits,
// velocity profile, return delay) and collision with the table → overload.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePing } from '../../../src/protocols/feetech/packet.js';
import { forwardKinematics, inverseKinematics } from '../../../src/devices/so100/kinematics.js';
import { So100Physics } from '../../../src/sim/so100/physics.js';
import { SimServo, TICKS_PER_RAD } from '../../../src/sim/so100/servo.js';
import { SimFeetechBus } from '../../../src/sim/so100/sim-bus.js';

async function arm(): Promise<{ servos: SimServo[]; p: So100Physics }> {
  const servos = [1, 2, 3, 4, 5, 6].map((i) => new SimServo(i));
  const p = await So100Physics.create(servos);
  p.setJoints([0, 0, 0, 0, 0, 0]);
  return { servos, p };
}
const w16 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
const secs = (p: So100Physics, s: number): void => p.step(Math.round(s / p.dt));

test('forward kinematics matches the MuJoCo end-effector site', async () => {
  const { p } = await arm();
  let seed = 7;
  const rnd = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  for (let k = 0; k < 25; k++) {
    const q = [rnd() * 3 - 1.5, rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 4 - 2, rnd()];
    p.setJoints(q);
    const mj = p.state().ee;
    const fk = forwardKinematics(q);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(mj[i]! - fk[i]!) < 1e-9, `pose ${k} axis ${i}: ${mj[i]} vs ${fk[i]}`);
  }
  p.dispose();
});

test('inverse kinematics round trip', () => {
  for (const [x, y, z, phi] of [[0.2, 0, 0.1, 2.3], [0.15, 0.1, 0.05, Math.PI], [0.25, -0.05, 0.15, Math.PI / 2]] as const) {
    const q = inverseKinematics(x, y, z, phi);
    assert.ok(q, `reachable ${x},${y},${z}`);
    const e = forwardKinematics(q!);
    assert.ok(Math.hypot(e[0]! - x, e[1]! - y, e[2]! - z) < 1e-9);
  }
  assert.is(inverseKinematics(1, 0, 0, Math.PI / 2), undefined);
});

test('torque off: goals are not followed and the arm stays put; torque on: moves to the goal', async () => {
  const { servos, p } = await arm();
  const pan = servos[0]!;
  pan.write(42, w16(2548));
  secs(p, 0.5);
  assert.ok(Math.abs(pan.get('Present_Position') - 2048) < 5, 'limp: no motion');
  assert.ok(Math.abs(pan.get('Goal_Position') - pan.get('Present_Position')) < 5, 'goal tracks present while limp');
  pan.write(40, Uint8Array.of(1));
  pan.write(42, w16(2548));
  secs(p, 1.0);
  assert.ok(Math.abs(pan.get('Present_Position') - 2548) < 15, `moved: ${pan.get('Present_Position')}`);
  p.dispose();
});

test('velocity limit: Goal_Velocity caps the joint speed', async () => {
  const { servos, p } = await arm();
  const pan = servos[0]!;
  pan.write(40, Uint8Array.of(1));
  pan.write(46, w16(400)); // 400 ticks/s
  pan.write(42, w16(2048 + 800));
  let vmax = 0;
  for (let k = 0; k < 50; k++) { secs(p, 0.02); vmax = Math.max(vmax, pan.get('Present_Velocity')); }
  assert.ok(pan.get('Present_Position') < 2048 + 500, `after 1 s at 400 ticks/s: ${pan.get('Present_Position')}`);
  assert.ok(vmax < 600, `peak velocity ${vmax} (profile 400 + tracking transient)`);
  secs(p, 1.5);
  assert.ok(Math.abs(pan.get('Present_Position') - 2848) < 15);
  p.dispose();
});

test('collision with the table: the hand stops on it and the blocked servo overloads (torque off)', async () => {
  const { servos, p } = await arm();
  for (const s of servos) s.write(40, Uint8Array.of(1));
  // lean far forward with the forearm pointing down: the hand would go ~10 cm into the table
  servos[1]!.write(42, w16(Math.round(2048 + 1.2 * TICKS_PER_RAD)));
  secs(p, 0.8);
  const st = p.state();
  assert.ok(st.contacts > 0, 'touching the table');
  assert.ok(st.ee[2]! > -0.015, `hand z ${st.ee[2]}`);
  assert.ok(forwardKinematics([0, 1.2, 0, 0])[2]! < -0.05, 'the goal pose is under the table');
  secs(p, 1.5);
  assert.ok(servos[1]!.faults.overload, 'overload latched');
  assert.is(servos[1]!.get('Torque_Enable'), 0);
  assert.is(servos[1]!.errorByte() & 0x20, 0x20);
  p.dispose();
});

test('Return_Delay_Time delays the reply; Response_Status_Level 0 silences WRITE replies', async () => {
  const bus = new SimFeetechBus({ ids: [1] });
  const got: number[] = [];
  bus.output = () => got.push(performance.now());
  const f = new Uint8Array(16);
  const n = encodePing(f, 0, 1);
  let t = performance.now();
  bus.receive(f.subarray(0, n));
  assert.is(got.length, 1, 'delay 0: at once');
  bus.servo(1)!.reg('Return_Delay_Time', 250);
  t = performance.now();
  bus.receive(f.subarray(0, n));
  assert.is(got.length, 1);
  await new Promise((r) => setTimeout(r, 10));
  assert.is(got.length, 2);
  assert.ok(got[1]! - t >= 0.5, `replied after ${got[1]! - t} ms, the register asks for 0.5 ms`);
  bus.servo(1)!.reg('Return_Delay_Time', 0);
  bus.servo(1)!.reg('Response_Status_Level', 0);
  const w = Uint8Array.of(0xff, 0xff, 0x01, 0x04, 0x03, 0x29, 0x10, 0);
  w[7] = ~(1 + 4 + 3 + 0x29 + 0x10) & 0xff;
  bus.receive(w);
  assert.is(got.length, 2, 'no status for WRITE at level 0');
  assert.is(bus.servo(1)!.get('Acceleration'), 0x10);
});

test.run();
