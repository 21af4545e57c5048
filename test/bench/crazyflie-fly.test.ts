/**
 * Acceptance (issue 5 §5): `kdp fly` against `kdp sim crazyflie` reaches the goal in ≥ 95 % of 50 obstacle layouts it
 * never trained on, with 0 collisions. Each layout: a `kdp sim crazyflie` child process (UDP loopback, real time)
 * loaded with the layout's obstacles and start, and the same flight runner `kdp fly` calls (src/fly/flight.ts) with
 * the shipped models/cf-nav. Layouts: seeds 100000 + i (the dataset draws its layouts from one stream seeded 0; the
 * test also checks none equals a training layout when data/crazyflie-nav.hdf5.layouts.json is present).
 *
 * Env: KDP_FLY_LAYOUTS (default 50), KDP_FLY_FROM (first layout index, default 0), KDP_FLY_SHIELD=0 (fly without the straight-line shield: the model + candidate
 * selection alone), KDP_FLY_CHECK=0 (also no candidate feasibility check: the model alone, closest-to-goal
 * selection; an ablation, the bar is not expected to hold), KDP_FLY_CANDIDATES (default 64). Prints `[figure]` lines; asserts the acceptance bar.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFlight, type FlightResult } from '../../src/fly/flight.js';
import { loadModelDir } from '../../src/loop/model-loader.js';
import { HELD_OUT_SEED_BASE, NAV_FENCE_OBJ, heldOutLayout, spawnSim, writeLayoutFile } from '../fly/harness.js';

const N = Number(process.env.KDP_FLY_LAYOUTS ?? 50);
const FROM = Number(process.env.KDP_FLY_FROM ?? 0);
const SHIELD = process.env.KDP_FLY_SHIELD !== '0';
const CHECK = process.env.KDP_FLY_CHECK !== '0';
const CANDIDATES = Number(process.env.KDP_FLY_CANDIDATES ?? 64);

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN; };

test(`kdp fly vs kdp sim crazyflie: ${N} held-out layouts`, async () => {
  const model = loadModelDir('models/cf-nav');
  const trainFile = 'data/crazyflie-nav.hdf5.layouts.json';
  const trained = existsSync(trainFile) ? new Set((JSON.parse(readFileSync(trainFile, 'utf8')) as { episodes: { obstacles: unknown }[] }).episodes.map((e) => JSON.stringify(e.obstacles))) : undefined;
  const results: (FlightResult & { i: number; simCollisions: number })[] = [];
  const t0 = performance.now();
  for (let i = FROM; i < FROM + N; i++) {
    const layout = heldOutLayout(i);
    if (trained) assert.not.ok(trained.has(JSON.stringify(layout.obstacles)), `layout ${i} is a training layout`);
    const sim = await spawnSim(writeLayoutFile(layout), layout.start);
    let r: FlightResult;
    let summary: Record<string, unknown> | undefined;
    try {
      r = await runFlight({
        uri: sim.uri, model, goal: layout.goal, obstacles: layout.obstacles, fence: NAV_FENCE_OBJ,
        limits: { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 }, candidates: CANDIDATES, timeoutS: 30, cacheDir: null, shield: SHIELD, checkPlans: CHECK, seed: i,
      });
    } finally {
      summary = await sim.stop();
    }
    const simCollisions = Number(summary?.collisions ?? NaN);
    results.push({ ...r, i, simCollisions });
    console.log(`layout ${i} (seed ${HELD_OUT_SEED_BASE + i}, ${layout.obstacles.length} cylinders, goal ${layout.goal.map((v) => v.toFixed(2)).join(',')}): ${r.outcome} in ${r.seconds} s, ${r.collisions} collisions (sim total ${simCollisions}), min clearance ${r.minClearanceM} m, infeasible ${r.infeasibleTicks}/${r.ticks}, hover ${r.hoverTicks}, shield ${r.limits.shieldScalings}, p99 ${r.planLatencyUs.p99} µs`);
  }
  const reached = results.filter((r) => r.reached).length;
  const collisions = results.reduce((a, r) => a + Math.max(r.collisions, Number.isFinite(r.simCollisions) ? r.simCollisions : 0), 0);
  const secs = results.filter((r) => r.reached).map((r) => r.seconds);
  const ticks = results.reduce((a, r) => a + r.ticks, 0);
  const shielded = results.reduce((a, r) => a + r.limits.shieldScalings, 0);
  const infeasible = results.reduce((a, r) => a + r.infeasibleTicks, 0);
  const hover = results.reduce((a, r) => a + r.hoverTicks, 0);
  const misses = results.reduce((a, r) => a + r.deadlineMisses, 0);
  const p50s = results.map((r) => r.planLatencyUs.p50), p99s = results.map((r) => r.planLatencyUs.p99);
  const failures = results.filter((r) => !r.reached).map((r) => `${r.i}:${r.outcome}@${r.finalDistanceM}m`);
  const cfg = `${CANDIDATES} candidates, 10 Hz, shield ${SHIELD ? 'on' : 'off'}, candidate check ${CHECK ? 'on' : 'off (model alone, closest-to-goal)'}, model ${model.manifest.model.sha256.slice(0, 12)}`;
  console.log(`\n[figure] kdp fly vs kdp sim crazyflie (${cfg}): reached ${reached}/${N} held-out layouts (${((100 * reached) / N).toFixed(1)} %), ${collisions} collisions; failures: ${failures.join(', ') || 'none'}`);
  console.log(`[figure] time to goal (planning start → 0.5 s after arrival): median ${pct(secs, 0.5).toFixed(2)} s, max ${Math.max(...secs).toFixed(2)} s; total wall ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`[figure] plan latency per flight (${CANDIDATES} candidates, int8, wasm): p50 median ${pct(p50s, 0.5).toFixed(0)} µs, p99 median ${pct(p99s, 0.5).toFixed(0)} µs, worst p99 ${Math.max(...p99s).toFixed(0)} µs; ${misses} deadline misses (100 ms budget) in ${ticks} ticks`);
  console.log(`[figure] safety layers: selected plan infeasible on ${infeasible}/${ticks} ticks (${hover} hover ticks), shield scaled ${shielded}/${ticks} setpoints; load average ${loadavg().map((x) => x.toFixed(1)).join(', ')}`);
  assert.is(collisions, 0, 'no collisions');
  assert.ok(reached / N >= 0.95, `reached ${reached}/${N}`);
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
