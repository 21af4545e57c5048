/**
 * The learned clearance scorer of crazyflie-nav (src/train/nav-clearance-*.ts, src/fly/nav-clearance.ts): its label
 * is the geometry of the observation, the shipped int8 scorer agrees with the true obstacles on held-out layouts,
 * the selector prefers a clear candidate and allocates nothing per plan, a small training run writes a scorer the
 * flight loads, and a model without one is refused with a typed error.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededRng } from '../../src/util/rng.js';
import { ModelError } from '../../src/errors.js';
import { runFlight } from '../../src/fly/flight.js';
import { LearnedNavSelector, NavClearanceScorer, NAV_ROWS_PER_PLAN } from '../../src/fly/nav-clearance.js';
import { NavObserver } from '../../src/fly/nav-geometry.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import type { Obstacle } from '../../src/devices/crazyflie/vehicle.js';
import { clearance } from '../../src/envs/cf-nav/obstacles.js';
import { contextClearance } from '../../src/train/nav-clearance-trainer.js';
import { NAV_K_NEAREST, NAV_OBSTACLE_DIMS, NAV_OBSTACLE_OFFSET, NAV_OBS_DIM } from '../../src/envs/cf-nav/observation.js';
import { trainNavClearanceRun } from '../../src/train/nav-clearance-run.js';
import { measureAllocations } from '../../src/util/alloc-meter.js';
import { CLI, NAV_FENCE_OBJ, heldOutLayout } from './harness.js';

const BODY = 0.06, MARGIN = 0.06;

/** the NAV_K_NEAREST nearest obstacles' clearance at pos + w, straight from the layout (what the observation summarises) */
function nearestClearance(obstacles: readonly Obstacle[], pos: number[], wx: number, wy: number): number {
  const near = [...obstacles].sort((a, b) => Math.hypot(a.x - pos[0]!, a.y - pos[1]!) - Math.hypot(b.x - pos[0]!, b.y - pos[1]!)).slice(0, NAV_K_NEAREST);
  return Math.min(...near.map((o) => clearance(o, pos[0]! + wx, pos[1]! + wy, pos[2]!, BODY)));
}

test('the training label (clearance from the observation\'s obstacles) equals the geometric clearance', () => {
  const rng = new SeededRng(7);
  const ob = new Float32Array(NAV_OBS_DIM);
  let n = 0;
  for (let i = 0; i < 20; i++) {
    const L = heldOutLayout(i);
    const obs = new NavObserver(L.obstacles);
    for (let k = 0; k < 50; k++) {
      const pos = [rng.range(0, 2.5), rng.range(-0.9, 0.9), 0.5];
      obs.observe(pos, [0, 0, 0], L.goal, ob);
      const wx = rng.range(-2, 2), wy = rng.range(-2, 2);
      const want = nearestClearance(L.obstacles, pos, wx, wy);
      const got = contextClearance(ob, NAV_OBSTACLE_OFFSET, wx, wy, BODY);
      // inside a cylinder the simulator's clearance stops at −body radius (depth 0); the label keeps going down
      if (want > -BODY + 1e-9) assert.ok(Math.abs(got - want) < 1e-5, `layout ${i}: ${got} vs ${want}`);
      else assert.ok(got <= -BODY + 1e-6, `layout ${i}: inside, ${got}`);
      n++;
    }
  }
  assert.is(n, 1000);
});

test('the shipped int8 clearance scorer agrees with the true obstacles on held-out layouts (fixed arena)', () => {
  const model = loadModelDir('models/cf-nav');
  const sc = NavClearanceScorer.load(model, 64);
  assert.ok(sc, 'models/cf-nav ships clearance.tflite');
  assert.is(sc!.rows, 64 * NAV_ROWS_PER_PLAN);
  const rng = new SeededRng(11);
  const ob = new Float32Array(NAV_OBS_DIM);
  let n = 0, correct = 0, contact = 0, contactFree = 0, clear = 0, clearBlocked = 0;
  const truth = new Float64Array(sc!.rows);
  for (let i = 0; i < 10; i++) {
    const L = heldOutLayout(i);
    const obs = new NavObserver(L.obstacles);
    const pos = [rng.range(0, 1.5), rng.range(-0.6, 0.6), 0.5];
    obs.observe(pos, [0, 0, 0], L.goal, ob);
    for (let r = 0; r < sc!.rows; r++) {
      let wx: number, wy: number;
      if (r % 2 === 0) { const o = L.obstacles[rng.int(L.obstacles.length)]!; const a = rng.range(0, 2 * Math.PI), d = rng.range(0, 0.5); wx = o.x + d * Math.cos(a) - pos[0]!; wy = o.y + d * Math.sin(a) - pos[1]!; }
      else { wx = rng.range(-1.5, 1.5); wy = rng.range(-1.5, 1.5); }
      sc!.offset[r * 2] = wx / 0.5; sc!.offset[r * 2 + 1] = wy / 0.5;
      for (let j = 0; j < NAV_OBSTACLE_DIMS; j++) sc!.context[r * NAV_OBSTACLE_DIMS + j] = ob[NAV_OBSTACLE_OFFSET + j]! / 0.5;
      truth[r] = nearestClearance(L.obstacles, pos, wx, wy);
    }
    sc!.interpreter.invoke();
    for (let r = 0; r < sc!.rows; r++) {
      const free = sc!.out[r * 2]! > sc!.freeThreshold, c = truth[r]!;
      n++;
      if (free === c > MARGIN) correct++;
      if (c < 0) { contact++; if (free) contactFree++; }
      if (c > MARGIN + 0.05) { clear++; if (!free) clearBlocked++; }
    }
  }
  assert.ok(sc!.freeThreshold > 0, `calibrated threshold ${sc!.freeThreshold}`);
  console.log(`\n[figure] shipped clearance scorer (free: logit > ${sc!.freeThreshold}) on ${n} points of 10 held-out layouts: accuracy ${(100 * correct / n).toFixed(1)} %, contact points called free ${(100 * contactFree / contact).toFixed(2)} % (${contactFree}/${contact}), clear points called blocked ${(100 * clearBlocked / clear).toFixed(2)} %`);
  // the dangerous error stays ~0; the price is caution: with 8 obstacles in the context the int8 boundary is wider, and
  // the calibrated threshold calls 18 % of these clear points blocked (82 % accuracy; the 4-obstacle scorer passed
  // ≥ 90 % and ≤ 5 % here). Flown, that caution costs no reach (docs/benchmarks.md, "Crazyflie")
  assert.ok(contactFree / contact <= 0.002, `contact called free ${contactFree}/${contact}`);
  assert.ok(correct / n >= 0.8, `accuracy ${correct / n}`);
  assert.ok(clearBlocked / clear <= 0.2, `clear called blocked ${clearBlocked}/${clear}`);
});

test('selector: a plan through an obstacle loses to a detour; scoring allocates nothing', async () => {
  const model = loadModelDir('models/cf-nav');
  const sc = NavClearanceScorer.load(model, 2)!;
  const H = 16, S = NAV_OBS_DIM, step = S + 3;
  // a field like the dataset's (3–7 cylinders): one on the straight line, the others well off both plans
  const obstacles: Obstacle[] = [
    { type: 'cylinder', x: 0.8, y: 0, radius: 0.15, height: 2 }, { type: 'cylinder', x: 0.5, y: -0.8, radius: 0.12, height: 2 },
    { type: 'cylinder', x: 1.4, y: -0.8, radius: 0.1, height: 2 }, { type: 'cylinder', x: 1.2, y: 0.95, radius: 0.1, height: 2 },
  ];
  const goal = [1.6, 0, 0.5];
  const ob = new Float32Array(S);
  new NavObserver(obstacles).observe([0, 0, 0.5], [0, 0, 0], goal, ob);
  const plans = new Float32Array(2 * H * step);
  for (let t = 0; t < H; t++) {
    const x = (1.6 * t) / (H - 1);
    plans[t * step] = x; plans[t * step + 2] = 0.5; // straight through the cylinder
    plans[(H + t) * step] = x; plans[(H + t) * step + 1] = 0.45 * Math.sin((Math.PI * t) / (H - 1)); plans[(H + t) * step + 2] = 0.5; // around it
  }
  const sel = new LearnedNavSelector(sc, ob, goal, H, step, 6);
  const v = sel.value(plans, 2);
  assert.ok(sel.nearBad[0]! + sel.farBad[0]! > 0, 'the straight plan is called blocked');
  assert.is(sel.nearBad[1]! + sel.farBad[1]!, 0, 'the detour is called clear');
  assert.ok(v[1]! > v[0]!, `detour preferred: ${v[1]} vs ${v[0]}`);
  const sink = new Float64Array(1); // a captured `let` number would box a heap number per addition
  const rep = await measureAllocations((n) => { for (let i = 0; i < n; i++) sink[0] = sink[0]! + sel.value(plans, 2)[0]!; }, 20_000);
  assert.ok(Number.isFinite(sink[0]!));
  assert.is(rep.gcCount, 0, `GCs while scoring: ${rep.gcCount}`);
  assert.ok(rep.heapGrowthBytes < 64 * 1024, `young-generation growth ${rep.heapGrowthBytes} B over 20,000 plans`);
});

test('a short training run writes the scorer; --attach ships clearance.tflite the flight loads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-clearance-'));
  const data = join(dir, 'nav.hdf5');
  const g = spawnSync(process.execPath, [CLI, 'dataset', 'crazyflie-nav', '--episodes', '40', '--seed', '3', '--out', data, '--json'], { encoding: 'utf8' });
  assert.is(g.status, 0, g.stderr);
  const model = join(dir, 'model');
  spawnSync('mkdir', ['-p', model]);
  for (const f of ['manifest.json', 'model.tflite']) copyFileSync(join('models/cf-nav', f), join(model, f));
  const bce: number[] = [];
  const r = await trainNavClearanceRun({ model, out: join(dir, 'run'), dataset: data, attach: true, config: { steps: 400, hidden: [32, 32], batch: 256 }, onStep: (s) => bce.push(s.bce) });
  const first = bce.slice(0, 20).reduce((a, b) => a + b) / 20, last = bce.slice(-20).reduce((a, b) => a + b) / 20;
  assert.ok(last < 0.7 * first, `the loss falls: ${first.toFixed(3)} → ${last.toFixed(3)}`);
  assert.ok(existsSync(join(dir, 'run', 'clearance.json')) && existsSync(join(dir, 'run', 'clearance-weights.bin')));
  assert.ok(r.attached && r.attached.rows === 64 * NAV_ROWS_PER_PLAN);
  const m = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8')) as { clearance: { provenance: { dataset: string }; holdout: Record<string, number> } };
  assert.is(m.clearance.provenance.dataset, data);
  assert.ok((m.clearance.holdout.accuracy ?? 0) > 0.5);
  const sc = NavClearanceScorer.load(loadModelDir(model), 8);
  assert.is(sc!.rows, 8 * NAV_ROWS_PER_PLAN);
});

test('a model of the earlier 21-value observation (4 obstacles) is refused with a typed error before connecting', async () => {
  // test/fly/fixtures/cf-nav-obs21: the cf-nav model shipped before the observation held 8 obstacles, byte for byte
  const old = loadModelDir('test/fly/fixtures/cf-nav-obs21');
  assert.is(old.manifest.layout.stateDim, 21);
  for (const selection of ['learned', 'oracle', 'goal'] as const) {
    try {
      await runFlight({ uri: 'udp://127.0.0.1:9', model: old, goal: [1.5, 0, 0.5], obstacles: [], fence: NAV_FENCE_OBJ, limits: { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 }, selection, cacheDir: null });
      assert.unreachable('should refuse');
    } catch (e) {
      assert.instance(e, ModelError);
      assert.is((e as ModelError).code, 'E_MODEL_MISMATCH');
      assert.match((e as Error).message, /stateDim: model 21, env 33/);
      assert.ok((e as ModelError).hint?.includes('crazyflie-nav'));
    }
  }
  // its clearance scorer alone is refused too (context of 12 values, this version reads 24)
  try { NavClearanceScorer.load(old, 4); assert.unreachable('should refuse'); } catch (e) {
    assert.instance(e, ModelError);
    assert.is((e as ModelError).code, 'E_MODEL_MISMATCH');
    assert.match((e as Error).message, /context dims 9,.*,20; this kdp reads 30 rows and dims 9\.\.32/);
  }
  // and the CLI says so without a stack trace
  const r = spawnSync(process.execPath, [CLI, 'fly', '--uri', 'udp://127.0.0.1:9', '--model', 'test/fly/fixtures/cf-nav-obs21', '--goal', '1.5,0,0.5', '--geofence=-0.5,-1.5,0,3,1.5,1.5', '--json'], { encoding: 'utf8' });
  assert.ok(r.status !== 0 && r.status !== null, `exit ${r.status}`);
  assert.match(r.stderr, /E_MODEL_MISMATCH/);
  assert.match(r.stderr, /stateDim: model 21, env 33/);
  assert.not.match(r.stderr, /\n\s+at /);
});

test('selection learned with a model that ships no clearance scorer: a typed error before connecting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-noclearance-'));
  const m = JSON.parse(readFileSync('models/cf-nav/manifest.json', 'utf8')) as Record<string, unknown>;
  delete m.clearance;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  copyFileSync('models/cf-nav/model.tflite', join(dir, 'model.tflite'));
  try {
    await runFlight({ uri: 'udp://127.0.0.1:9', model: loadModelDir(dir), goal: [1.5, 0, 0.5], obstacles: [], fence: NAV_FENCE_OBJ, limits: { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 }, selection: 'learned', cacheDir: null });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, ModelError);
    assert.is((e as ModelError).code, 'E_MODEL_MISMATCH');
    assert.match((e as Error).message, /no clearance scorer/);
    assert.ok((e as ModelError).hint?.includes('kdp train-scorer'));
  }
});

test.run();
