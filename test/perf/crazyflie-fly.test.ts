/**
 * Acceptance: `kdp fly` against `kdp sim crazyflie` reaches the goal in ≥ 95 % of 50 obstacle layouts it never trained
 * on, with 0 collisions — with the model alone (selection 'learned': the model's clearance scorer over its candidates,
 * the observation as the only obstacle knowledge, no shield: `oracle: false`). The known-obstacle safety layer
 * (selection 'oracle': every candidate checked against the layout's obstacle list, setpoints shielded) is flown on the
 * same layouts in the same run and reported beside it. Each flight: a `kdp sim crazyflie` child process (UDP
 * loopback, real time) loaded with the layout's obstacles and start, and the same flight runner `kdp fly` calls
 * (src/fly/flight.ts). Layouts: seeds 100000 + i (the dataset draws its layouts from one stream seeded 0; the test
 * also checks none equals a training layout when data/crazyflie-nav.hdf5.layouts.json is present).
 *
 * Env: KDP_FLY_LAYOUTS (default 50), KDP_FLY_FROM (first layout index, default 0), KDP_FLY_SELECT (comma list of
 * selections, default `learned,oracle`; `goal` = closest to the goal, the ablation), KDP_FLY_CANDIDATES (default 64),
 * KDP_FLY_MODEL (default models/cf-nav). Prints `[figure]` lines; asserts the ≥ 95 % / 0-collision bar for both: the
 * model alone and the safety layer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFlight, type FlightResult, type FlightSelection } from '../../src/fly/flight.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { HELD_OUT_SEED_BASE, NAV_FENCE_OBJ, heldOutLayout, spawnSim, writeLayoutFile } from '../fly/harness.js';

const N = Number(process.env.KDP_FLY_LAYOUTS ?? 50);
const FROM = Number(process.env.KDP_FLY_FROM ?? 0);
const SELECT = (process.env.KDP_FLY_SELECT ?? 'learned,oracle').split(',') as FlightSelection[];
const CANDIDATES = Number(process.env.KDP_FLY_CANDIDATES ?? 64);
const MODEL = process.env.KDP_FLY_MODEL ?? 'models/cf-nav';

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN; };

test(`kdp fly vs kdp sim crazyflie: ${N} held-out layouts, selections ${SELECT.join(' + ')}`, async () => {
  const model = loadModelDir(MODEL);
  const trainFile = 'data/crazyflie-nav.hdf5.layouts.json';
  const trained = existsSync(trainFile) ? new Set((JSON.parse(readFileSync(trainFile, 'utf8')) as { episodes: { obstacles: unknown }[] }).episodes.map((e) => JSON.stringify(e.obstacles))) : undefined;
  const results = new Map<FlightSelection, (FlightResult & { i: number; simCollisions: number })[]>(SELECT.map((s) => [s, []]));
  const t0 = performance.now();
  const loadAtStart = loadavg().map((x) => x.toFixed(1)).join(', ');
  for (let i = FROM; i < FROM + N; i++) {
    const layout = heldOutLayout(i);
    if (trained) assert.not.ok(trained.has(JSON.stringify(layout.obstacles)), `layout ${i} is a training layout`);
    const file = writeLayoutFile(layout);
    for (const selection of SELECT) {
      const sim = await spawnSim(file, layout.start);
      let r: FlightResult;
      let summary: Record<string, unknown> | undefined;
      try {
        r = await runFlight({
          uri: sim.uri, model, goal: layout.goal, obstacles: layout.obstacles, fence: NAV_FENCE_OBJ,
          limits: { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 }, candidates: CANDIDATES, timeoutS: 30, cacheDir: null, selection, seed: i,
        });
      } finally {
        summary = await sim.stop();
      }
      const simCollisions = Number(summary?.collisions ?? NaN);
      results.get(selection)!.push({ ...r, i, simCollisions });
      console.log(`layout ${i} (seed ${HELD_OUT_SEED_BASE + i}, ${layout.obstacles.length} cylinders, goal ${layout.goal.map((v) => v.toFixed(2)).join(',')}) [${selection}, oracle ${r.oracle}]: ${r.outcome} in ${r.seconds} s, ${r.collisions} collisions (sim total ${simCollisions}), min clearance ${r.minClearanceM} m, infeasible ${r.infeasibleTicks}/${r.ticks}, hover ${r.hoverTicks}, shield ${r.limits.shieldScalings}, p50 ${r.planLatencyUs.p50} µs, p99 ${r.planLatencyUs.p99} µs`);
    }
  }
  const wall = ((performance.now() - t0) / 1000).toFixed(0);
  const bars: string[] = [];
  for (const selection of SELECT) {
    const rs = results.get(selection)!;
    const reached = rs.filter((r) => r.reached).length;
    const collisions = rs.reduce((a, r) => a + Math.max(r.collisions, Number.isFinite(r.simCollisions) ? r.simCollisions : 0), 0);
    const secs = rs.filter((r) => r.reached).map((r) => r.seconds);
    const ticks = rs.reduce((a, r) => a + r.ticks, 0);
    const shielded = rs.reduce((a, r) => a + r.limits.shieldScalings, 0);
    const infeasible = rs.reduce((a, r) => a + r.infeasibleTicks, 0);
    const hover = rs.reduce((a, r) => a + r.hoverTicks, 0);
    const misses = rs.reduce((a, r) => a + r.deadlineMisses, 0);
    const minClear = Math.min(...rs.map((r) => r.minClearanceM));
    const p50s = rs.map((r) => r.planLatencyUs.p50), p99s = rs.map((r) => r.planLatencyUs.p99);
    const failures = rs.filter((r) => !r.reached || r.collisions > 0).map((r) => `${r.i}:${r.outcome}@${r.finalDistanceM}m/${r.collisions}c`);
    const oracle = rs.some((r) => r.oracle);
    const what = selection === 'learned' ? 'model only: learned clearance scorer, no obstacle list' : selection === 'oracle' ? 'known-obstacle safety layer: candidate check + shield' : 'model alone, closest to the goal';
    const cfg = `${what}, oracle ${oracle}, ${CANDIDATES} candidates, 10 Hz, model ${model.manifest.model.sha256.slice(0, 12)}`;
    console.log(`\n[figure] kdp fly vs kdp sim crazyflie [${selection}] (${cfg}): reached ${reached}/${N} held-out layouts (${((100 * reached) / N).toFixed(1)} %), ${collisions} collisions, min clearance ${minClear.toFixed(3)} m; failures: ${failures.join(', ') || 'none'}`);
    console.log(`[figure] [${selection}] time to goal (planning start → 0.5 s after arrival): median ${pct(secs, 0.5).toFixed(2)} s, max ${Math.max(...secs).toFixed(2)} s`);
    console.log(`[figure] [${selection}] plan latency per flight (generator + scorer + selection, ${CANDIDATES} candidates, int8): p50 median ${pct(p50s, 0.5).toFixed(0)} µs, p99 median ${pct(p99s, 0.5).toFixed(0)} µs, worst p99 ${Math.max(...p99s).toFixed(0)} µs; ${misses} deadline misses (100 ms budget) in ${ticks} ticks`);
    console.log(`[figure] [${selection}] selected plan not clear on ${infeasible}/${ticks} ticks (${hover} hover ticks), shield scaled ${shielded}/${ticks} setpoints`);
    if (selection === 'oracle' || selection === 'learned') {
      // the bar, for the model alone and for the safety layer: ≥ 95 % reached, 0 collisions. (The model of the
      // 4-obstacle observation reached 49–50/50 alone but touched a cylinder in 1–3 flights; docs/benchmarks.md)
      if (collisions !== 0) bars.push(`[${selection}] ${collisions} collisions`);
      if (reached / N < 0.95) bars.push(`[${selection}] reached ${reached}/${N}`);
    }
    if (selection !== 'goal') assert.is(oracle, selection === 'oracle', `[${selection}] labelled oracle ${oracle}`);
  }
  console.log(`[figure] total wall ${wall} s; load average at start ${loadAtStart}, at the end ${loadavg().map((x) => x.toFixed(1)).join(', ')}`);
  assert.equal(bars, [], 'model only and safety layer: ≥ 95 % reached, 0 collisions');
});

test('simulator killed mid-flight: runFlight returns within 1.5 s of the kill (link watchdog latency)', async () => {
  const layout = heldOutLayout(3);
  const sim = await spawnSim(writeLayoutFile(layout), layout.start);
  let killedAt = 0;
  const r = await runFlight({
    uri: sim.uri, model: loadModelDir('models/cf-nav'), goal: layout.goal, obstacles: layout.obstacles, fence: NAV_FENCE_OBJ,
    limits: { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 }, timeoutS: 40, cacheDir: null,
    onEvent: (e) => { if (e.event === 'planning') setTimeout(() => { killedAt = performance.now(); sim.child.kill('SIGKILL'); }, 500); },
  });
  const endedAfter = performance.now() - killedAt;
  await sim.stop();
  assert.is(r.outcome, 'linkLost');
  console.log(`\n[figure] fly: runFlight returned ${endedAfter.toFixed(0)} ms after the simulator was killed`);
  assert.ok(endedAfter < 1500, `runFlight returned ${endedAfter.toFixed(0)} ms after the kill`);
});

test.run();
