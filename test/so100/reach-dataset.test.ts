// `kdp dataset so100-reach`: the scripted IK expert on the simulated arm, and the D4RL HDF5 it writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadD4rlHdf5, writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { forwardKinematics } from '../../src/sim/so100/kinematics.js';
import { REACH_ACT_DIM, REACH_GOAL_DIM, REACH_OBS_DIM, generateSo100ReachDataset } from '../../src/so100/reach.js';

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

test.run();
