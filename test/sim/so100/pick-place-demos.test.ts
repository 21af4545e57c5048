// `kdp dataset so100-pick-place`: scripted pick-and-place demonstrations on the simulated arm with the cube, written
// as a LeRobot v3.0 folder, and the pieces behind it (the expert succeeds in the physics; same seed → same data;
// the folder trains with `kdp train --env so100-pick-place`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLeRobot } from '../../../src/data/lerobot.js';
import { PickPlaceExpert, PickPlaceSim, generatePickPlaceDemos } from '../../../src/sim/so100/pick-place-demos.js';
import { PickPlaceController } from '../../../src/arm/pick-place-controller.js';
import { loadModelDir } from '../../../src/planner/model-loader.js';
import { VirtualClock } from '../../../src/control/clock.js';
import { GRIP_OPEN, PP_STATE_DIM, PP_STATE_NAMES, samplePickPlace, scorePickPlace } from '../../../src/envs/so100/pick-place-task.js';
import { sampleStart } from '../../../src/envs/so100/reach-task.js';
import { Rng } from '../../../src/util/rng.js';

const BIN = fileURLToPath(new URL('../../../dist/cli/bin.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kdp-pp-ds-'));

function kdp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`kdp ${args.join(' ')} did not finish; stderr: ${stderr}`)); }, 120_000);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('the scripted expert picks and places (physics ground truth) for most of 20 held-out draws', async () => {
  const sim = await PickPlaceSim.create();
  const goal = new Float64Array(6), c = new Float64Array(3);
  let planned = 0, placed = 0;
  try {
    for (let i = 0; i < 20; i++) {
      const rng = new Rng(4242 + i);
      const { cube, place } = samplePickPlace(rng);
      const q0 = sampleStart(rng); q0[5] = rng.range(0.2, 0.8);
      const ex = PickPlaceExpert.plan(q0, cube, place);
      if (!ex) continue;
      planned++;
      sim.reset(q0, cube, place);
      for (let k = 0; k < 1000 && !ex.done && !sim.overloaded; k++) { ex.act(sim.q, goal); sim.apply(goal); sim.step(); }
      sim.cube(c);
      if (scorePickPlace(c, place, sim.maxCubeZ).placed) placed++;
    }
  } finally { sim.close(); }
  console.log(`\n[figure] so100 pick-place expert (sim, 20 held-out draws, no noise): ${placed}/${planned} placed within 2 cm`);
  assert.ok(planned >= 18, `${planned}/20 reachable`);
  assert.ok(placed >= Math.ceil(0.85 * planned), `${placed}/${planned}`);
});

test('same seed → identical demonstrations', async () => {
  const grab = async (): Promise<number[]> => {
    const rows: number[] = [];
    await generatePickPlaceDemos({ episodes: 2, seed: 11, noiseRad: 0.02, onEpisode: async (s, a) => { rows.push(s.length, a.length, ...s.subarray(0, 40), ...a.subarray(a.length - 12)); } });
    return rows;
  };
  assert.equal(await grab(), await grab());
});

test('kdp dataset so100-pick-place writes a LeRobot folder that appends, loads and trains (small sizes)', async () => {
  const out = join(dir, 'pp');
  const r = await kdp(['dataset', 'so100-pick-place', '--episodes', '3', '--seed', '5', '--out', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { episodes: number; frames: number; meanFinalErrorM: number };
  assert.is(res.episodes, 3);
  assert.ok(res.meanFinalErrorM < 0.02, `mean place error ${res.meanFinalErrorM}`);
  const info = JSON.parse(readFileSync(join(out, 'meta', 'info.json'), 'utf8')) as { codebase_version: string; robot_type: string; fps: number; features: Record<string, { shape: number[]; names: string[] }> };
  assert.is(info.codebase_version, 'v3.0');
  assert.is(info.robot_type, 'so100_follower');
  assert.is(info.fps, 50);
  assert.equal(info.features['observation.state']!.names, [...PP_STATE_NAMES]);
  assert.equal(info.features['action']!.names, ['g_grip']);
  // a second run appends (resume), like kdp record
  const r2 = await kdp(['dataset', 'so100-pick-place', '--episodes', '1', '--seed', '6', '--out', out, '--json']);
  assert.is(r2.code, 0, r2.stderr);
  const ds = await loadLeRobot(out);
  assert.is(ds.stateDim, PP_STATE_DIM);
  assert.is(ds.actionDim, 1);
  assert.is(ds.episodeEnds.length, 4);
  // layout (task frame): the two relative grasp points differ by the constant spot-to-spot vector; the first
  // episode starts unpicked and ends with the jaw open, picked, near the place's spot and up
  const S = PP_STATE_DIM, o = ds.observations;
  const end0 = ds.episodeEnds[0]! - 1;
  for (const r of [0, 17, end0]) {
    assert.ok(Math.abs((o[r * S]! - o[r * S + 3]!) - (o[0]! - o[3]!)) < 1e-5, `row ${r}: spot-to-spot x changes`);
    assert.ok(Math.abs((o[r * S + 1]! - o[r * S + 4]!) - (o[1]! - o[4]!)) < 1e-5, `row ${r}: spot-to-spot y changes`);
  }
  assert.is(o[6], 0);
  assert.is(o[end0 * S + 6], 1, 'picked at the end');
  assert.ok(o[end0 * S + 5]! > GRIP_OPEN - 0.1, `jaw open at the end (${o[end0 * S + 5]})`);
  assert.ok(o[end0 * S + 2]! > 0.07, `grasp point up at the end (${o[end0 * S + 2]})`);
  assert.ok(Math.hypot(o[end0 * S + 3]!, o[end0 * S + 4]!) < 0.02, `grasp point over the place's spot at the end (${o[end0 * S + 3]}, ${o[end0 * S + 4]})`);
  // the folder trains and exports with the so100-pick-place env (condition = the 8-d state)
  const run = join(dir, 'run'), model = join(dir, 'model');
  const t = await kdp(['train', '--dataset', out, '--env', 'so100-pick-place', '--out', run, '--steps', '20', '--hidden', '32,32', '--conditions', '8', '--samples', '4', '--positives', '4', '--json']);
  assert.is(t.code, 0, t.stderr);
  const e = await kdp(['export', '--checkpoint', run, '--out', model, '--json']);
  assert.is(e.code, 0, e.stderr);
  const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8')) as { env: string; inputs: Array<{ shape: number[] }> };
  assert.is(manifest.env, 'so100-pick-place');
  assert.is(manifest.inputs[1]!.shape[1], PP_STATE_DIM);
  // the learned progress scorer trains on the same folder and ships into the model: the controller then selects with it
  const sc = await kdp(['train-scorer', '--model', model, '--out', join(dir, 'progress'), '--attach', '--steps', '30', '--hidden', '16,16', '--batch', '64', '--json']);
  assert.is(sc.code, 0, sc.stderr);
  const res2 = JSON.parse(sc.stdout.trim().split('\n').pop()!) as { steps: number; holdout: { ctgRmse: number }; attached: { rows: number } };
  assert.is(res2.steps, 30);
  assert.ok(Number.isFinite(res2.holdout.ctgRmse));
  const m2 = loadModelDir(model);
  assert.is((m2.manifest as unknown as { progress: { rowsPerPlan: number } }).progress.rowsPerPlan, 15);
  assert.is(res2.attached.rows, m2.manifest.candidates * 15);
  const ctl = new PickPlaceController(m2, { candidates: 4, clock: new VirtualClock() });
  assert.is(ctl.select, 'learned');
  const q = [0, 0.3, 0.3, 1.2, 0, 0.5], goal = new Float64Array(6);
  ctl.reset([0.2, 0.05], [0.18, -0.1], q);
  ctl.step(q, goal);
  assert.ok(goal.every(Number.isFinite), `goals ${Array.from(goal)}`);
});

test('usage errors are typed, exit 2, and write nothing', async () => {
  const out = join(dir, 'bad');
  const r = await kdp(['dataset', 'so100-pick-place', '--episodes', '0', '--out', out]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /episodes/);
  assert.not.match(r.stderr, /\n\s+at /);
  const h = await kdp(['dataset', 'so100-pick-place', '--help']);
  assert.is(h.code, 0);
  assert.match(h.stdout, /--episodes/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
