/**
 * Issue 6 §4 acceptance: over a socat pty, `kdp arm` (a child process per target, the shipped int8
 * models/so100-reach) against `kdp sim so100` (a child process: six simulated STS3215 servos + the MuJoCo arm in
 * real time) reaches ≥ 90 % of 50 held-out targets within 2 cm.
 *   npm run bench   (or: node scripts/run-tests.mjs test/perf/so100-arm.test.ts)
 *   KDP_ARM_TARGETS (default 50), KDP_ARM_BUS_TIMEOUT_MS (per-attempt bus timeout of a tick, default 100: the
 *   shared 2-vCPU CI host stalls 30–250 ms at times; a board on an idle core keeps the default 12 ms)
 * Held-out targets: episodes 4242 + i of the so100-reach env (start pose + target; the training data is seed 0's
 * stream). Before each run the limp arm (torque off after the previous run) is moved to the start pose through the
 * simulator's control channel. Each run ends when the grasp point (FK of the measured joints) stays within 2 cm for
 * 5 ticks, or after 10 s. The simulator's own end-effector site (MuJoCo) is checked too.
 * Prints `[figure]` lines: success rate, final error (median, p90), time to reach, plan latency, deadline misses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReachController } from '../../src/arm/reach-controller.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { loadSo100Config } from '../../src/devices/so100/config.js';
import { So100ReachEnv } from '../../src/sim/so100/reach-env.js';
import { startSimChild } from '../sim/so100/harness.js';
import { requireTool } from '../helpers/tools.js';
import { MODEL_DIR, heldOut, runArmCli } from '../arm/harness.js';

const TARGETS = Number(process.env.KDP_ARM_TARGETS ?? 50);
const BUS_TIMEOUT = process.env.KDP_ARM_BUS_TIMEOUT_MS ?? '100';

const q = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN; };

test(`kdp arm reaches ≥ 90 % of ${TARGETS} held-out targets within 2 cm (socat pty, kdp sim so100)`, async () => {
  requireTool('socat');
  const cfg = loadSo100Config();
  const dir = mkdtempSync(join(tmpdir(), 'kdp-arm-bench-'));
  const sim = await startSimChild(join(dir, 'arm'));
  const rows: { i: number; reached: boolean; err: number; simErr: number; s: number; p50: number; p99: number; misses: number; outcome: string; late: number }[] = [];
  const load0 = loadavg()[0]!;
  try {
    for (let i = 0; i < TARGETS; i++) {
      const ep = heldOut(i, cfg);
      await sim.send({ cmd: 'clear' });
      await sim.send({ cmd: 'move', joints: ep.q0 });
      const run = await runArmCli(sim.ready.pty, ep.target, ['--timeout', '10', '--bus-timeout', BUS_TIMEOUT], { timeoutMs: 90_000 });
      const r = run.result;
      assert.ok(r, `target ${i}: no JSON result (exit ${run.code}); stderr: ${run.stderr}`);
      const st = await sim.send({ cmd: 'state' }) as { ee: number[]; servos: { torqueEnable: number }[] };
      assert.ok(st.servos.every((s) => s.torqueEnable === 0), `target ${i}: torque left on after kdp arm exited`);
      const simErr = Math.hypot(st.ee[0]! - ep.target[0], st.ee[1]! - ep.target[1], st.ee[2]! - ep.target[2]);
      rows.push({ i, reached: r.reached === true, err: r.finalErrorM, simErr, s: r.seconds, p50: r.planLatencyUs.p50, p99: r.planLatencyUs.p99, misses: r.deadlineMisses, outcome: r.outcome, late: r.lateTicks });
      if (!r.reached) console.log(`\n[figure] so100 arm miss: target ${i} [${ep.target.map((v) => v.toFixed(3)).join(', ')}]: ${r.outcome}, ${(r.finalErrorM * 100).toFixed(1)} cm${r.fault ? ` (${r.fault.split('\n')[0]})` : ''}`);
    }
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const n = rows.length;
  const ok = rows.filter((r) => r.reached && r.err <= 0.02).length;
  const simOk = rows.filter((r) => r.simErr <= 0.02).length;
  const reachedRows = rows.filter((r) => r.reached);
  console.log(`\n[figure] so100 arm (kdp arm ↔ kdp sim so100 over a socat pty, int8 models/so100-reach, N=32, 50 Hz): ${ok}/${n} held-out targets reached within 2 cm (${((100 * ok) / n).toFixed(0)} %); simulator's MuJoCo end effector within 2 cm after torque off: ${simOk}/${n}`);
  console.log(`[figure] so100 arm final error: median ${(q(rows.map((r) => r.err), 0.5) * 100).toFixed(2)} cm, p90 ${(q(rows.map((r) => r.err), 0.9) * 100).toFixed(2)} cm; time to reach (reached runs): median ${q(reachedRows.map((r) => r.s), 0.5).toFixed(2)} s, max ${Math.max(0, ...reachedRows.map((r) => r.s)).toFixed(2)} s`);
  console.log(`[figure] so100 arm plan latency per run: p50 of p50s ${q(rows.map((r) => r.p50), 0.5)} µs, max p99 ${Math.max(...rows.map((r) => r.p99))} µs; deadline misses ${rows.reduce((a, r) => a + r.misses, 0)} in total; late ticks ${rows.reduce((a, r) => a + r.late, 0)}; outcomes ${JSON.stringify(rows.reduce<Record<string, number>>((a, r) => { a[r.outcome] = (a[r.outcome] ?? 0) + 1; return a; }, {}))}; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
  assert.ok(ok >= Math.ceil(0.9 * n), `${ok}/${n} reached within 2 cm (< 90 %)`);
});

test(`the same controller in-process (So100ReachEnv, no pty): ${TARGETS} held-out targets, 2 cm and 1 cm`, async () => {
  const cfg = loadSo100Config();
  const model = loadModelDir(MODEL_DIR);
  const env = await So100ReachEnv.create({ config: cfg, maxEpisodeSteps: 1_000_000 });
  try {
    for (const tol of [0.02, 0.01]) {
      const ctl = new ReachController(model, { config: cfg });
      const st = new Float32Array(12), qv = new Float64Array(6), g = new Float64Array(6), act = new Float32Array(6);
      let ok = 0; const times: number[] = [];
      for (let i = 0; i < TARGETS; i++) {
        env.reset(4242 + i); // = heldOut(i)
        env.observe(st);
        for (let j = 0; j < 6; j++) qv[j] = st[j]!;
        ctl.reset(env.target, qv);
        let inside = 0;
        for (let k = 0; k < 250; k++) { // 5 s at 50 Hz
          env.observe(st);
          for (let j = 0; j < 6; j++) qv[j] = st[j]!;
          inside = ctl.errorM(qv) < tol ? inside + 1 : 0;
          if (inside >= 5) { ok++; times.push(k / 50); break; }
          ctl.step(qv, g);
          for (let j = 0; j < 6; j++) act[j] = g[j]!;
          env.step(act);
          if (env.overloaded) break;
        }
      }
      console.log(`\n[figure] so100 arm in-process (So100ReachEnv, same controller, int8, N=32, 50 Hz, 5 s): ${ok}/${TARGETS} within ${tol * 100} cm for 5 ticks; time to reach median ${q(times, 0.5).toFixed(2)} s`);
      if (tol === 0.02) assert.ok(ok >= Math.ceil(0.9 * TARGETS), `${ok}/${TARGETS} in-process`);
    }
  } finally { env.close(); }
});

test.run();
