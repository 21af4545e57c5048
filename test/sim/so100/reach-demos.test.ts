// `kdp dataset so100-reach`: the scripted IK expert on the simulated arm, and the D4RL HDF5 it writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadD4rlHdf5, writeD4rlHdf5 } from '../../../src/data/d4rl-hdf5.js';
import { forwardKinematics, inverseKinematics } from '../../../src/devices/so100/kinematics.js';
import { So100ReachEnv } from '../../../src/sim/so100/reach-env.js';
import { generateSo100ReachDataset } from '../../../src/sim/so100/reach-demos.js';
import { REACH_ACT_DIM, REACH_GOAL_DIM, REACH_OBS_DIM } from '../../../src/envs/so100/reach-task.js';

test('expert reaches ≥ 90% of 50 held-out targets within 2 cm; layout round-trips through HDF5', async () => {
  const t0 = Date.now();
  const { arrays, stats } = await generateSo100ReachDataset({ episodes: 50, seed: 4242 });
  const ends: number[] = [];
  for (let i = 0; i < arrays.rewards.length; i++) if (arrays.terminals[i] || arrays.timeouts[i]) ends.push(i + 1);
  assert.is(ends.length, 50, 'one terminal or timeout per episode');
  let within2cm = 0;
  for (const e of ends) if (-arrays.rewards[e - 1]! < 0.02) within2cm++;
  console.log(`\n[figure] so100 reach expert (sim, 50 held-out targets, seed 4242): ${within2cm}/50 within 2 cm, ${stats.reached}/50 within 1 cm for 5 steps, mean final error ${(stats.meanFinalErrorM * 100).toFixed(2)} cm, mean time to reach ${stats.meanSecondsToReach.toFixed(2)} s, ${stats.rejected} rejected, ${Date.now() - t0} ms`);
  assert.ok(within2cm >= 45, `${within2cm}/50`);
  // observation layout: q, ee = FK(q), target; action = goal joint angles
  const o = arrays.observations;
  const ee = forwardKinematics(o.subarray(0, 6));
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(o[6 + i]! - ee[i]!) < 1e-5);
  assert.ok(Math.abs(o[9]! - arrays.goals![0]!) < 1e-6);
  const dir = mkdtempSync(join(tmpdir(), 'kdp-reach-'));
  try {
    const file = join(dir, 'reach.hdf5');
    await writeD4rlHdf5(file, arrays, { stateDim: REACH_OBS_DIM, actionDim: REACH_ACT_DIM, goalDim: REACH_GOAL_DIM, qposDim: 6, qvelDim: 6, gzip: 1 });
    const ds = await loadD4rlHdf5(file, { expect: { stateDim: 12, actionDim: 6 } });
    assert.is(ds.length, arrays.rewards.length);
    assert.is(ds.episodeEnds.length, 50);
    assert.is(ds.goalDim, 3);
    assert.equal(Array.from(ds.actions.subarray(0, 6)), Array.from(arrays.actions.subarray(0, 6)));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('same seed → identical data', async () => {
  const a = await generateSo100ReachDataset({ episodes: 3, seed: 7 });
  const b = await generateSo100ReachDataset({ episodes: 3, seed: 7 });
  assert.equal(Array.from(a.arrays.actions), Array.from(b.arrays.actions));
});

test('So100ReachEnv (PlanningEnv): layout, holding still scores ≈ 0, the IK goal reaches, bounded heap', async () => {
  const env = await So100ReachEnv.create();
  try {
    assert.is(env.stateDim, 12); assert.is(env.actionDim, 6); assert.is(env.goalDim, 3);
    const obs = new Float32Array(12); const act = new Float32Array(6); const g = new Float32Array(3);
    env.reset(3);
    env.observe(obs); env.goal(g);
    assert.equal(Array.from(obs.subarray(9)), Array.from(g));
    const fk = forwardKinematics(obs.subarray(0, 6));
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(obs[6 + i]! - fk[i]!) < 1e-5);
    // hold the start pose
    for (let i = 0; i < 6; i++) act[i] = obs[i]!;
    let ret = 0;
    for (let k = 0; k < env.maxEpisodeSteps && !env.done; k++) ret += env.step(act);
    assert.ok(Math.abs(env.normalizedScore(ret)) < 60, `still arm score ${env.normalizedScore(ret)}`);
    // the IK solution as a constant goal reaches the target
    env.reset(3);
    const q = inverseKinematics(env.target[0]!, env.target[1]!, env.target[2]!, Math.PI)
      ?? inverseKinematics(env.target[0]!, env.target[1]!, env.target[2]!, 0.75 * Math.PI)!;
    for (let i = 0; i < 4; i++) act[i] = q[i]!;
    act[4] = 0; act[5] = 0.3;
    for (let k = 0; k < 20; k++) env.step(act); // warm the JIT before measuring the heap
    (globalThis as { gc?: () => void }).gc?.();
    const h0 = process.memoryUsage().heapUsed;
    for (let k = 0; k < 100 && !env.done; k++) env.step(act);
    const grow = process.memoryUsage().heapUsed - h0;
    assert.ok(env.lastDistanceM < 0.02, `final distance ${env.lastDistanceM}`);
    // our code allocates nothing per step; mujoco-js's mj_step binding itself shows ~190 B per call
    assert.ok(grow < 1024 * 1024, `step allocated ${grow} bytes`);
  } finally { env.close(); }
});

test.run();
