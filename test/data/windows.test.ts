import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeWindowIndex, writeWindow, writeCondition, checkLayout, layoutFor } from '../../src/data/windows.js';
import { fitNormalizer, normalizeInto, unnormalizeInto, unnormalizeWindowInto, MIN_SCALE } from '../../src/data/normalizer.js';
import { episodeEndsFromFlags, episodeEndsFromIndex, columnStats } from '../../src/data/dataset.js';
import type { TrajectoryDataset } from '../../src/data/dataset.js';
import { SeededRng } from '../../src/util/rng.js';
import { ShapeError } from '../../src/errors.js';

/** A synthetic dataset: obs = [episode, t, noise, const], actions = [t, −episode]. */
function synth(rng: SeededRng, episodes: number, maxLen: number, goal = true): TrajectoryDataset {
  const lens = Array.from({ length: episodes }, () => 1 + rng.int(maxLen));
  const n = lens.reduce((a, b) => a + b, 0);
  const obs = new Float32Array(n * 4), act = new Float32Array(n * 2), goals = new Float32Array(n * 2);
  const ends: number[] = [];
  let r = 0;
  lens.forEach((len, e) => {
    for (let t = 0; t < len; t++, r++) {
      obs.set([e, t, rng.normal(), 7], r * 4);
      act.set([t, -e], r * 2);
      goals.set([e * 10, 1], r * 2);
    }
    ends.push(r);
  });
  const ds: TrajectoryDataset = { source: 'synthetic', format: 'memory', stateDim: 4, actionDim: 2, goalDim: goal ? 2 : 0, length: n, observations: obs, actions: act, episodeEnds: Int32Array.from(ends) };
  if (goal) ds.goals = goals;
  return ds;
}

test('episode ends from flags and from an episode index', () => {
  assert.equal(Array.from(episodeEndsFromFlags(6, [0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0])), [2, 4, 6]);
  assert.equal(Array.from(episodeEndsFromFlags(3, [0, 0, 1])), [3]);
  assert.equal(Array.from(episodeEndsFromIndex([0, 0, 1, 1, 1, 5])), [2, 5, 6]);
});

test('windows never cross an episode boundary and cover every valid start (property test)', () => {
  const rng = new SeededRng(42);
  for (let trial = 0; trial < 60; trial++) {
    const ds = synth(rng, 1 + rng.int(12), 40);
    const horizon = 1 + rng.int(12), frameSkip = 1 + rng.int(4), stride = 1 + rng.int(5);
    const idx = makeWindowIndex(ds, { horizon, frameSkip, stride });
    const span = (horizon - 1) * frameSkip;
    // brute force: the expected starts
    const expected: number[] = [];
    let begin = 0;
    for (const end of ds.episodeEnds) {
      for (let s = begin; s + span < end; s += stride) expected.push(s);
      begin = end;
    }
    assert.equal(Array.from(idx), expected);
    for (const s of idx) {
      // same episode id (obs[0]) at the first and the last row, and time increases by frameSkip
      const e0 = ds.observations[s * 4]!, eLast = ds.observations[(s + span) * 4]!;
      assert.is(e0, eLast, `window ${s} crosses an episode (h=${horizon}, fs=${frameSkip})`);
      assert.is(ds.observations[(s + span) * 4 + 1]! - ds.observations[s * 4 + 1]!, span);
    }
  }
});

test('bad window options → ShapeError', () => {
  const ds = synth(new SeededRng(1), 2, 10);
  assert.throws(() => makeWindowIndex(ds, { horizon: 0 }), (e: unknown) => e instanceof ShapeError);
  assert.throws(() => makeWindowIndex(ds, { horizon: 4, frameSkip: 1.5 }), (e: unknown) => e instanceof ShapeError);
});

test('normalizer: z-score and min-max round trip, zero-spread dims guarded', () => {
  const ds = synth(new SeededRng(3), 8, 50);
  for (const kind of ['zscore', 'minmax'] as const) {
    const n = fitNormalizer(ds, kind);
    assert.is(n.kind, kind);
    assert.is(n.state.scale[3], 1, 'constant dim gets scale 1');
    assert.ok(n.state.scale.every((v) => v >= MIN_SCALE));
    assert.is(n.goal.shift.length, 2);
    const z = new Float32Array(4), back = new Float32Array(4);
    for (let i = 0; i < ds.length; i += 7) {
      normalizeInto(ds.observations, n.state, z, 0, i * 4);
      unnormalizeInto(z, n.state, back);
      for (let d = 0; d < 4; d++) assert.ok(Math.abs(back[d]! - ds.observations[i * 4 + d]!) < 1e-4);
    }
    // normalized data statistics
    const all = new Float32Array(ds.length * 4);
    for (let i = 0; i < ds.length; i++) normalizeInto(ds.observations, n.state, all, i * 4, i * 4);
    const st = columnStats(all, 4);
    if (kind === 'zscore') { for (const d of [0, 1, 2]) { assert.ok(Math.abs(st.mean[d]!) < 1e-3); assert.ok(Math.abs(st.std[d]! - 1) < 1e-3); } }
    else { for (const d of [0, 1, 2]) { assert.ok(Math.abs(st.min[d]! + 1) < 1e-5 && Math.abs(st.max[d]! - 1) < 1e-5); } }
    // survives JSON (it is saved in checkpoints)
    assert.equal(JSON.parse(JSON.stringify(n)), n);
  }
  const noGoal = fitNormalizer(synth(new SeededRng(4), 3, 10, false), 'zscore');
  assert.equal(noGoal.goal, { shift: [], scale: [] });
});

test('writeWindow: [s_0, a_0, s_1, a_1, …] normalized, with frameSkip; writeCondition: [s, goal]', () => {
  const ds = synth(new SeededRng(5), 5, 60);
  const norm = fitNormalizer(ds, 'zscore');
  const layout = { ...layoutFor(ds, { horizon: 4, frameSkip: 2, dt: 0.01 }) };
  checkLayout(ds, layout, norm);
  const idx = makeWindowIndex(ds, { horizon: 4, frameSkip: 2 });
  const W = 4 * 6;
  const out = new Float32Array(W + 3);
  const s = idx[Math.floor(idx.length / 2)]!;
  writeWindow(ds, s, layout, norm, out, 3);
  const raw = new Float32Array(W);
  unnormalizeWindowInto(out.subarray(3), 4, norm, raw);
  for (let k = 0; k < 4; k++) {
    const row = s + k * 2;
    for (let d = 0; d < 4; d++) assert.ok(Math.abs(raw[k * 6 + d]! - ds.observations[row * 4 + d]!) < 1e-3);
    for (let d = 0; d < 2; d++) assert.ok(Math.abs(raw[k * 6 + 4 + d]! - ds.actions[row * 2 + d]!) < 1e-3);
  }
  const cond = new Float32Array(6);
  writeCondition(ds, s, layout, norm, cond);
  const back = new Float32Array(6);
  unnormalizeInto(cond, norm.state, back, 0, 0);
  unnormalizeInto(cond, norm.goal, back, 4, 4);
  for (let d = 0; d < 4; d++) assert.ok(Math.abs(back[d]! - ds.observations[s * 4 + d]!) < 1e-3);
  for (let d = 0; d < 2; d++) assert.ok(Math.abs(back[4 + d]! - ds.goals![s * 2 + d]!) < 1e-3);
});

test('checkLayout: mismatched dims → ShapeError', () => {
  const ds = synth(new SeededRng(6), 3, 20);
  const layout = layoutFor(ds, { horizon: 4, dt: 0.01 });
  assert.throws(() => checkLayout(ds, { ...layout, stateDim: 6 }), (e: unknown) => e instanceof ShapeError && /stateDim/.test((e as Error).message));
  assert.throws(() => checkLayout(ds, { ...layout, actionDim: 3 }), (e: unknown) => e instanceof ShapeError);
  assert.throws(() => checkLayout(synth(new SeededRng(6), 3, 20, false), { ...layout, goalDim: 2 }), (e: unknown) => e instanceof ShapeError);
});

test('writeWindow/writeCondition are allocation-free and fast', () => {
  const ds = synth(new SeededRng(7), 200, 300);
  const norm = fitNormalizer(ds, 'zscore');
  const layout = layoutFor(ds, { horizon: 32, frameSkip: 1, dt: 0.01 });
  const idx = makeWindowIndex(ds, { horizon: 32 });
  const out = new Float32Array(32 * 6), cond = new Float32Array(6);
  const rng = new SeededRng(1);
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const s = idx[rng.int(idx.length)]!;
      writeWindow(ds, s, layout, norm, out);
      writeCondition(ds, s, layout, norm, cond);
    }
  };
  run(20000);
  const t0 = performance.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  run(200000);
  const grown = process.memoryUsage().heapUsed - before;
  const perSec = 200000 / ((performance.now() - t0) / 1000);
  assert.ok(grown < 1_000_000, `heap grew ${grown} B over 200k windows`);
  // H=32 windows: well above the trainer's ~1e5/s need even on a loaded 2-core box
  assert.ok(perSec > 100_000, `${Math.round(perSec)} windows/s`);
});

test.run();
