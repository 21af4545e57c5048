// The cube of the pick-and-place task in the MuJoCo SO-100: contact and friction between the jaws and a cube on
// the table decide whether a grasp holds. A jaw closed on the cube lifts it; an open jaw, or one closed beside the
// cube, leaves it on the table. The simulator reports the cube pose (ground truth) in its state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inverseKinematics } from '../../../src/devices/so100/kinematics.js';
import { CUBE, jawGapAt } from '../../../src/sim/so100/physics.js';
import { SimSo100 } from '../../../src/sim/so100/sim-so100.js';
import { PickPlaceSim } from '../../../src/sim/so100/pick-place-demos.js';
import { GRASP_Z, GRIP_CLOSE, GRIP_OPEN, limitSqueeze } from '../../../src/envs/so100/pick-place-task.js';

const CUBE_XY: [number, number] = [0.2, 0.04];

/**
 * Move to the grasp point (`sideM` m sideways — across the jaws' closing direction — off the cube's mid-gap spot),
 * close (or not), lift 12 cm, hold 1 s.
 */
async function tryGrasp(sim: PickPlaceSim, o: { close: boolean; sideM: number }): Promise<{ liftedZ: number; grip: number; overloaded: boolean }> {
  const r = Math.hypot(CUBE_XY[0], CUBE_XY[1]);
  const k = (r - 0.005) / r; // 0.005: the cube sits mid-gap of the open jaws (CUBE_OFFSET_OPEN_M)
  const tx = -CUBE_XY[1] / r, ty = CUBE_XY[0] / r;
  const ik = (z: number): number[] => [...inverseKinematics(CUBE_XY[0] * k + o.sideM * tx, CUBE_XY[1] * k + o.sideM * ty, z, Math.PI)!, 0];
  const above = ik(0.08), grasp = ik(GRASP_Z);
  sim.reset([...above, GRIP_OPEN], CUBE_XY, [0.2, -0.1]);
  const goal = new Float64Array(6);
  const run = (q: number[], grip: number, ticks: number): void => {
    for (let t = 0; t < ticks; t++) {
      for (let i = 0; i < 5; i++) goal[i] = q[i]!;
      goal[5] = grip;
      sim.apply(goal); // the gripper goes through the squeeze limit
      sim.step();
    }
  };
  run(grasp, GRIP_OPEN, 60);
  run(grasp, o.close ? GRIP_CLOSE : GRIP_OPEN, 70);
  run(ik(0.14), o.close ? GRIP_CLOSE : GRIP_OPEN, 60);
  run(ik(0.14), o.close ? GRIP_CLOSE : GRIP_OPEN, 50);
  const c = new Float64Array(3);
  sim.cube(c);
  return { liftedZ: c[2]!, grip: sim.q[5]!, overloaded: sim.overloaded };
}

test('a jaw closed on the cube lifts it (friction holds it for 1 s); the squeeze stays under the overload threshold', async () => {
  const sim = await PickPlaceSim.create();
  try {
    const r = await tryGrasp(sim, { close: true, sideM: 0 });
    assert.ok(r.liftedZ > 0.07, `cube centre at ${r.liftedZ} m after the lift`);
    // the jaw stopped on the cube: open about the cube's width
    assert.ok(Math.abs(jawGapAt(r.grip) - 2 * CUBE.half) < 0.006, `jaw gap ${jawGapAt(r.grip)} m at ${r.grip} rad`);
    assert.not.ok(r.overloaded, 'no servo overload while squeezing');
    assert.ok(sim.maxCubeZ > 0.07);
  } finally { sim.close(); }
});

test('an open jaw does not lift the cube', async () => {
  const sim = await PickPlaceSim.create();
  try {
    const r = await tryGrasp(sim, { close: false, sideM: 0 });
    assert.ok(r.liftedZ < CUBE.half + 0.003, `cube centre at ${r.liftedZ} m`);
  } finally { sim.close(); }
});

test('a grasp 4 cm to the side of the cube closes on nothing and leaves it on the table', async () => {
  const sim = await PickPlaceSim.create();
  try {
    const r = await tryGrasp(sim, { close: true, sideM: 0.04 });
    assert.ok(r.liftedZ < CUBE.half + 0.003, `cube centre at ${r.liftedZ} m`);
    assert.ok(r.grip < 0.12, `the jaw closed fully (${r.grip} rad)`);
  } finally { sim.close(); }
});

test('a squeeze with no limit would overload the gripper servo (why limitSqueeze exists)', async () => {
  assert.is(limitSqueeze(0.05, 0.3), 0.3 - 0.016);
  assert.is(limitSqueeze(0.5, 0.3), 0.5);
  const sim = await PickPlaceSim.create();
  try {
    const r = Math.hypot(CUBE_XY[0], CUBE_XY[1]), k = (r - 0.005) / r;
    const grasp = [...inverseKinematics(CUBE_XY[0] * k, CUBE_XY[1] * k, GRASP_Z, Math.PI)!, 0];
    sim.reset([...grasp, GRIP_OPEN], CUBE_XY, [0.2, -0.1]);
    const w16 = new Uint8Array(2);
    const ticks = Math.round(2048 + GRIP_CLOSE * (4096 / (2 * Math.PI)));
    w16[0] = ticks & 0xff; w16[1] = ticks >> 8;
    sim.servos[5]!.write(42, w16); // the close goal straight to the servo
    for (let t = 0; t < 150 && !sim.overloaded; t++) sim.step();
    assert.ok(sim.servos[5]!.faults.overload, 'the gripper servo tripped its overload protection');
  } finally { sim.close(); }
});

test('SimSo100 with a cube: ground-truth pose in its state, the cube command puts it back', async () => {
  const sim = await SimSo100.create({ cube: [0.21, -0.05], warmup: false });
  try {
    const st = sim.state();
    assert.ok(st.cube, 'state has the cube');
    assert.ok(Math.abs(st.cube!.pos[0]! - 0.21) < 1e-4 && Math.abs(st.cube!.pos[1]! + 0.05) < 1e-4 && Math.abs(st.cube!.pos[2]! - CUBE.half) < 1e-3);
    assert.equal(sim.command({ cmd: 'cube', x: 0.18, y: 0.1 }), { ok: true });
    assert.ok(Math.abs(sim.state().cube!.pos[1]! - 0.1) < 1e-4);
    assert.throws(() => sim.command({ cmd: 'cube', x: 2, y: 0 }), /within 0.45 m/);
  } finally { await sim.close(); }
  const plain = await SimSo100.create({ warmup: false });
  try {
    assert.is(plain.state().cube, undefined);
    assert.throws(() => plain.command({ cmd: 'cube', x: 0.2, y: 0 }), /--cube/);
  } finally { await plain.close(); }
});

test.run();
