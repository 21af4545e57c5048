/**
 * Maze2D bench: the waypoint expert's success rate on the three mazes (≥ 100 episodes each, with and
 * without D4RL's action noise), its D4RL normalized score on the evaluation task, and dataset
 * generation speed (1M steps + HDF5 write). Prints `[figure]` lines; asserts the acceptance bars.
 *   npm run bench   (or: node scripts/run-tests.mjs test/perf/maze2d.test.ts)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMaze2dEnv, MAZE2D_ENVS, WaypointController, generateMaze2dDataset } from '../../src/envs/maze2d/index.js';
import type { Maze2dEnv } from '../../src/envs/maze2d/index.js';
import { SeededRng } from '../../src/util/rng.js';
import { writeD4rlHdf5, loadD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';

const EPISODES = Number(process.env.KDP_BENCH_EPISODES ?? 300);

/** Random start (D4RL reset) and random target (set_target); success = the controller's "solved". */
function successRate(env: Maze2dEnv, noise: number, seed: number): { rate: number; meanSteps: number; within05: number } {
  const rng = new SeededRng(seed);
  const ctrl = new WaypointController(env.layout, rng);
  const s = new Float64Array(4), act = new Float64Array(2), a = new Float32Array(2);
  let ok = 0, steps = 0, near = 0;
  for (let ep = 0; ep < EPISODES; ep++) {
    env.resetWith(rng);
    env.sampleTarget(rng);
    ctrl.reset();
    for (let t = 0; t < env.maxEpisodeSteps; t++) {
      env.observe(s);
      if (ctrl.getAction(s[0]!, s[1]!, s[2]!, s[3]!, env.targetX, env.targetY, act)) {
        ok++; steps += t;
        if (Math.hypot(s[0]! - env.targetX, s[1]! - env.targetY) <= 0.5) near++;
        break;
      }
      a[0] = act[0]! + (noise > 0 ? rng.normal() * noise : 0);
      a[1] = act[1]! + (noise > 0 ? rng.normal() * noise : 0);
      env.step(a);
    }
  }
  return { rate: ok / EPISODES, meanSteps: steps / Math.max(1, ok), within05: near / Math.max(1, ok) };
}

/** D4RL evaluation task (fixed goal cell, random start, full-length episodes, sparse reward). */
function expertScore(env: Maze2dEnv, noise: number, seed: number, episodes: number, replan: boolean): { score: number; ret: number } {
  const rng = new SeededRng(seed);
  const ctrl = new WaypointController(env.layout, rng);
  const s = new Float64Array(4), act = new Float64Array(2), a = new Float32Array(2);
  let total = 0;
  for (let ep = 0; ep < episodes; ep++) {
    env.resetWith(rng);
    env.setTarget(env.layout.goalCell[0], env.layout.goalCell[1]);
    if (replan) ctrl.reset();
    let ret = 0;
    for (let t = 0; t < env.maxEpisodeSteps; t++) {
      env.observe(s);
      ctrl.getAction(s[0]!, s[1]!, s[2]!, s[3]!, env.targetX, env.targetY, act);
      a[0] = act[0]! + (noise > 0 ? rng.normal() * noise : 0);
      a[1] = act[1]! + (noise > 0 ? rng.normal() * noise : 0);
      ret += env.step(a);
    }
    total += ret;
  }
  const ret = total / episodes;
  return { ret, score: env.normalizedScore(ret) };
}

for (const name of MAZE2D_ENVS) {
  test(`${name}: waypoint controller success ≥ 95% over ${EPISODES} random start/goal episodes`, async () => {
    const env = await createMaze2dEnv(name);
    try {
      for (const noise of [0.5, 0]) {
        const r = successRate(env, noise, 100 + (noise > 0 ? 1 : 0));
        console.log(`\n[figure] ${name} controller success (noise ${noise}): ${(r.rate * 100).toFixed(1)}% of ${EPISODES} episodes, mean ${r.meanSteps.toFixed(0)} steps to goal, ${(r.within05 * 100).toFixed(1)}% of successes within 0.5 of the exact target`);
        assert.ok(r.rate >= 0.95, `${name} noise ${noise}: ${r.rate}`);
      }
      // D4RL's controller replans only when the target cell changes: with the fixed eval goal, one
      // controller object keeps its first plan across episodes ("persistent"); "replan" resets it.
      for (const replan of [false, true]) {
        for (const noise of [0, 0.5]) {
          const e = expertScore(env, noise, 7, 100, replan);
          console.log(`\n[figure] ${name} expert on the D4RL eval task (${replan ? 'replan per episode' : 'persistent controller, as D4RL'}, noise ${noise}, 100 episodes): return ${e.ret.toFixed(1)}, normalized score ${e.score.toFixed(1)}`);
        }
      }
    } finally {
      env.close();
    }
  });
}

test('dataset generation speed: 1M steps (umaze) + D4RL HDF5 write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-maze2d-'));
  try {
    const t0 = performance.now();
    const r = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 1_000_000, seed: 0 });
    const t1 = performance.now();
    const out = join(dir, 'maze2d-umaze.hdf5');
    await writeD4rlHdf5(out, r.arrays, { stateDim: 4, actionDim: 2 });
    const t2 = performance.now();
    const ds = await loadD4rlHdf5(out);
    const t3 = performance.now();
    const genS = (t1 - t0) / 1000, writeS = (t2 - t1) / 1000, loadS = (t3 - t2) / 1000;
    console.log(`\n[figure] maze2d-umaze 1M steps: generate ${genS.toFixed(1)} s (${Math.round(1e6 / genS)} steps/s), write HDF5 (gzip 4) ${writeS.toFixed(1)} s, ${(statSync(out).size / 1e6).toFixed(1)} MB, load ${loadS.toFixed(1)} s; ${r.episodes} episodes, ${r.goalsReached} goals reached`);
    assert.is(ds.length, 1_000_000);
    assert.ok(genS + writeS < 120, `${genS + writeS} s`);
    assert.ok(r.goalsReached >= 0.95 * (r.episodes - 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
