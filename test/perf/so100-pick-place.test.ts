/** @timeout-s 2400
 * SO-100 pick-and-place acceptance: over a socat pty, `kdp arm --task pick-place` (a child process per episode, the
 * shipped int8 models/so100-pick-place, model-only: the cube position is the task input, the arm never senses
 * the cube) against `kdp sim so100 --cube` (a child process: the simulated servos + the MuJoCo arm and cube in
 * real time). 50 held-out episodes (start pose, cube, place: draws 4242 + i; the dataset is seed 0's stream).
 * Scored on the simulator's ground truth: picked = the cube's centre rose ≥ 4 cm; placed = picked and the cube
 * resting within 2 cm of the place after the run.
 *   npm run bench   (or: node scripts/run-tests.mjs test/perf/so100-pick-place.test.ts)
 *   KDP_PP_EPISODES (default 50), KDP_ARM_BUS_TIMEOUT_MS (default 100, as the reach bench)
 * Prints `[figure]` lines: success rate, ground-truth final error (median, p99), plan latency, deadline misses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PickPlaceController } from '../../src/arm/pick-place-controller.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { loadSo100Config } from '../../src/devices/so100/config.js';
import { PickPlaceSim } from '../../src/sim/so100/pick-place-demos.js';
import { scorePickPlace } from '../../src/envs/so100/pick-place-task.js';
import { VirtualClock } from '../../src/control/clock.js';
import { startSimChild } from '../sim/so100/harness.js';
import { requireTool } from '../helpers/tools.js';
import { PP_MODEL_DIR, heldOutPickPlace, runPickPlaceCli } from '../arm/harness.js';

const EPISODES = Number(process.env.KDP_PP_EPISODES ?? 50);
const BUS_TIMEOUT = process.env.KDP_ARM_BUS_TIMEOUT_MS ?? '100';
/**
 * The target: ≥ 80 % of the 50 held-out episodes picked and placed within 2 cm over the pty (measured 84 %,
 * docs/benchmarks.md). Real-time runs differ run to run (a late tick acts from the previous plan and the episode
 * diverges), so the pty run asserts a regression floor and prints whether the target was met; the in-process run
 * is on a virtual clock — the same episodes give the same result on every run — and asserts the target.
 */
const MIN_PTY_RATE = Number(process.env.KDP_PP_MIN_RATE ?? 0.76);
const TARGET_RATE = 0.8;
const MIN_INPROC_RATE = Number(process.env.KDP_PP_MIN_INPROC_RATE ?? TARGET_RATE);
/** time (ms) the cube gets to come to rest after the run before it is scored */
const SETTLE_MS = 500;

const q = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN; };

test(`kdp arm --task pick-place: ${EPISODES} held-out episodes over a socat pty against kdp sim so100 --cube`, async () => {
  requireTool('socat');
  const cfg = loadSo100Config();
  const dir = mkdtempSync(join(tmpdir(), 'kdp-pp-bench-'));
  const first = heldOutPickPlace(0, cfg);
  const sim = await startSimChild(join(dir, 'arm'), ['--cube', first.cube.join(',')]);
  const rows: { placed: boolean; picked: boolean; armPlaced: boolean; armPicked: boolean; err: number; s: number; p50: number; p99: number; misses: number; outcome: string }[] = [];
  const load0 = loadavg()[0]!;
  try {
    for (let i = 0; i < EPISODES; i++) {
      const ep = heldOutPickPlace(i, cfg);
      await sim.send({ cmd: 'clear' });
      await sim.send({ cmd: 'move', joints: ep.q0 }); // the limp arm to the start pose, then the cube (so they never overlap)
      await sim.send({ cmd: 'cube', x: ep.cube[0], y: ep.cube[1] });
      const run = await runPickPlaceCli(sim.ready.pty, ep.cube, ep.place, ['--timeout', '15', '--bus-timeout', BUS_TIMEOUT], { timeoutMs: 120_000 });
      const r = run.result;
      assert.ok(r, `episode ${i}: no JSON result (exit ${run.code}); stderr: ${run.stderr}`);
      await new Promise((r) => setTimeout(r, SETTLE_MS)); // a released cube still falling is not yet resting
      const st = await sim.send({ cmd: 'state' }) as { servos: { torqueEnable: number }[]; cube: { pos: number[]; maxZ: number } };
      assert.ok(st.servos.every((s) => s.torqueEnable === 0), `episode ${i}: torque left on after kdp arm exited`);
      const truth = scorePickPlace(st.cube.pos, ep.place, st.cube.maxZ);
      rows.push({ placed: truth.placed, picked: truth.picked, armPlaced: r.placed === true, armPicked: r.picked === true, err: truth.finalErrorM, s: r.seconds, p50: r.planLatencyUs.p50, p99: r.planLatencyUs.p99, misses: r.deadlineMisses, outcome: r.outcome });
      if (!truth.placed) console.log(`\n[figure] so100 pick-place miss: episode ${i}: ${r.outcome}, picked ${truth.picked} (arm says ${r.picked}), cube ${(truth.finalErrorM * 100).toFixed(1)} cm from the place${r.fault ? ` (${r.fault.split('\n')[0]})` : ''}`);
    }
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const n = rows.length;
  const ok = rows.filter((r) => r.placed).length, picked = rows.filter((r) => r.picked).length;
  const agree = rows.filter((r) => r.placed === r.armPlaced).length;
  const lat50 = q(rows.map((r) => r.p50), 0.5), lat99 = q(rows.map((r) => r.p99), 0.99);
  console.log(`\n[figure] so100 pick-place (kdp arm ↔ kdp sim so100 --cube over a socat pty, int8 models/so100-pick-place, N=32, 50 Hz, model-only, learned progress selection): ${ok}/${n} placed within 2 cm (${((100 * ok) / n).toFixed(0)} %), ${picked}/${n} picked (simulator ground truth); the arm's own placed verdict agrees in ${agree}/${n}`);
  console.log(`[figure] so100 pick-place cube-to-place distance after the run (ground truth): median ${(q(rows.map((r) => r.err), 0.5) * 100).toFixed(2)} cm, p99 ${(q(rows.map((r) => r.err), 0.99) * 100).toFixed(2)} cm; seconds per episode median ${q(rows.map((r) => r.s), 0.5).toFixed(1)}`);
  console.log(`[figure] so100 pick-place plan latency: p50 of per-run p50s ${lat50} µs, p99 of per-run p99s ${lat99} µs; deadline misses ${rows.reduce((a, r) => a + r.misses, 0)} in total; outcomes ${JSON.stringify(rows.reduce<Record<string, number>>((a, r) => { a[r.outcome] = (a[r.outcome] ?? 0) + 1; return a; }, {}))}; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
  console.log(`[figure] so100 pick-place target (≥ ${TARGET_RATE * 100} % over the pty): ${ok >= Math.ceil(TARGET_RATE * n) ? 'met' : 'NOT met'} (${ok}/${n})`);
  assert.ok(ok >= Math.ceil(MIN_PTY_RATE * n), `${ok}/${n} placed (< ${MIN_PTY_RATE * 100} %)`);
});

test(`the same controller in-process (PickPlaceSim, no pty): ${EPISODES} held-out episodes`, async () => {
  const cfg = loadSo100Config();
  const model = loadModelDir(PP_MODEL_DIR);
  const sim = await PickPlaceSim.create(cfg);
  const ctl = new PickPlaceController(model, { config: cfg, clock: new VirtualClock() });
  const g = new Float64Array(6), c = new Float64Array(3);
  let ok = 0, picked = 0;
  const errs: number[] = [];
  try {
    for (let i = 0; i < EPISODES; i++) {
      const ep = heldOutPickPlace(i, cfg);
      sim.reset(ep.q0, ep.cube, ep.place);
      ctl.reset(ep.cube, ep.place, sim.q);
      for (let k = 0; k < 750 && !ctl.progress.done && !sim.overloaded; k++) { ctl.step(sim.q, g); sim.apply(g); sim.step(); } // 15 s at 50 Hz
      for (let k = 0; k < SETTLE_MS / 20; k++) { sim.apply(g); sim.step(); } // the arm holds still while the cube comes to rest
      sim.cube(c);
      const s = scorePickPlace(c, ep.place, sim.maxCubeZ);
      if (s.placed) ok++;
      if (s.picked) picked++;
      errs.push(s.finalErrorM);
    }
  } finally { sim.close(); }
  console.log(`\n[figure] so100 pick-place in-process (PickPlaceSim, same controller on a virtual clock, int8, N=32, 50 Hz, 15 s): ${ok}/${EPISODES} placed within 2 cm, ${picked}/${EPISODES} picked; cube-to-place median ${(q(errs, 0.5) * 100).toFixed(2)} cm`);
  assert.ok(ok >= Math.ceil(MIN_INPROC_RATE * EPISODES), `${ok}/${EPISODES} in-process`);
});

test.run();
