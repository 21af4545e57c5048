import { PerformanceObserver } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaze2dEnv, MAZE2D_ENVS, MAZE2D_SPECS, parseLayout, pointInWall, mazeSvg, wallRect, cellToXY, pointMazeXml } from '../../src/envs/maze2d/index.js';
import type { Maze2dEnv } from '../../src/envs/maze2d/index.js';
import { UnknownEnvError } from '../../src/errors.js';

const envs: Record<string, Maze2dEnv> = {};
const get = async (name: string): Promise<Maze2dEnv> => (envs[name] ??= await createMaze2dEnv(name));

test('registration facts match D4RL v1 (episode lengths, reference scores, goal cells)', async () => {
  assert.equal([...MAZE2D_ENVS], ['maze2d-umaze', 'maze2d-medium', 'maze2d-large']);
  const expected = { 'maze2d-umaze': [300, 23.85, 161.86, [1, 1]], 'maze2d-medium': [600, 13.13, 277.39, [6, 6]], 'maze2d-large': [800, 6.7, 273.99, [7, 9]] } as const;
  for (const name of MAZE2D_ENVS) {
    const env = await get(name);
    const [steps, lo, hi, goal] = expected[name];
    assert.is(env.maxEpisodeSteps, steps);
    assert.is(env.normalizedScore(lo), 0);
    assert.ok(Math.abs(env.normalizedScore(hi) - 100) < 1e-9);
    const g = new Float32Array(2);
    env.goal(g);
    assert.equal([g[0], g[1]], [goal[0], goal[1]], `${name} default target is the G cell`);
    assert.is(env.stateDim, 4); assert.is(env.actionDim, 2); assert.is(env.goalDim, 2); assert.is(env.dt, 0.01);
  }
  assert.is(MAZE2D_SPECS['maze2d-large'].rows.length, 9);
  assert.is(parseLayout(MAZE2D_SPECS['maze2d-umaze'].rows).resetCells.length, 7);
});

test('unknown env name → UnknownEnvError listing the known ones', async () => {
  try {
    await createMaze2dEnv('maze2d-huge');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UnknownEnvError);
    assert.match((e as Error).message, /maze2d-umaze/);
  }
});

test('MJCF keeps D4RL\'s physics attributes', () => {
  const xml = pointMazeXml(parseLayout(MAZE2D_SPECS['maze2d-umaze'].rows));
  for (const s of ['timestep="0.01"', 'integrator="Euler"', 'gravity="0 0 0"', 'damping="1"', 'gear="100"', 'pos="1.2 1.2 0"', 'size="0.5 0.5 0.2"', 'type="sphere" size="0.1"']) {
    assert.ok(xml.includes(s), s);
  }
  assert.is((xml.match(/name="wall_/g) ?? []).length, 18);
});

test('reset is deterministic by seed and lands near a free cell with small velocity', async () => {
  const env = await get('maze2d-medium');
  const a = new Float32Array(4), b = new Float32Array(4);
  env.reset(7); env.observe(a);
  env.reset(7); env.observe(b);
  assert.equal(Array.from(a), Array.from(b));
  env.reset(8); env.observe(b);
  assert.not.equal(Array.from(a), Array.from(b));
  // reset(seed) restores the eval goal; resetTarget envs draw one from the seed
  env.setTarget(1, 1);
  env.reset(3);
  const g = new Float32Array(2);
  env.goal(g);
  assert.equal(Array.from(g), [6, 6]);
  const rt = await createMaze2dEnv('maze2d-medium', { resetTarget: true });
  const g2 = new Float32Array(2);
  rt.reset(3); rt.goal(g);
  rt.reset(3); rt.goal(g2);
  assert.equal(Array.from(g), Array.from(g2));
  assert.ok(Math.abs(g[0]! - Math.round(g[0]!)) <= 0.1 + 1e-6);
  rt.close();
  for (let s = 0; s < 50; s++) {
    env.reset(s); env.observe(a);
    const ci = Math.round(a[0]!), cj = Math.round(a[1]!);
    assert.ok(Math.abs(a[0]! - ci) <= 0.1 + 1e-6 && Math.abs(a[1]! - cj) <= 0.1 + 1e-6);
    assert.not.ok(pointInWall(env.layout, a[0]!, a[1]!, 0.1), 'start overlaps a wall');
    assert.ok(Math.abs(a[2]!) < 0.6 && Math.abs(a[3]!) < 0.6);
  }
});

test('step: action clipped, point mass accelerates by gear/mass, sparse reward within 0.5 of the target', async () => {
  const env = await get('maze2d-umaze');
  env.setState(3, 1, 0, 0);
  env.setTarget(3, 3);
  const o = new Float32Array(4);
  const r = env.step(new Float32Array([0, 5])); // clipped to 1
  env.observe(o);
  // a = 100 N / (4/3·π·0.1³·1000 kg) ≈ 23.87 m/s²; Euler: v ≈ 0.2387 after one 0.01 s step (damping 1 is tiny)
  assert.ok(Math.abs(o[3]! - 0.2387) < 0.005, `vy=${o[3]}`);
  assert.is(r, 0);
  env.setState(3, 2.6, 0, 0);
  assert.is(env.step(new Float32Array([0, 0])), 1);
  // NaN action does not throw and applies no force
  env.setState(3, 2, 0, 0);
  env.step(new Float32Array([NaN, NaN]));
  env.observe(o);
  assert.ok(Math.abs(o[2]!) < 1e-9 && Math.abs(o[3]!) < 1e-9);
});

test('velocity is clipped to ±5 before each step, and walls stop the point (offset geometry as in D4RL)', async () => {
  const env = await get('maze2d-umaze');
  const o = new Float32Array(4);
  env.setState(3, 1, 0, 20);
  env.step(new Float32Array([0, 0]));
  env.observe(o);
  assert.ok(o[3]! <= 5.0001, `vy=${o[3]}`);
  // push into the wall at row 4 (cell (4, *)): in qpos its face is at x = 4 − 0.7 = 3.3, the centre stops at 3.2
  env.setState(3, 2, 0, 0);
  for (let i = 0; i < 200; i++) env.step(new Float32Array([1, 0]));
  env.observe(o);
  assert.ok(o[0]! > 3.15 && o[0]! < 3.25, `x=${o[0]}`);
  // and the free corridor towards x = 0 ends at 0.4 (wall row 0 spans [−0.7, 0.3])
  env.setState(1, 1, 0, 0);
  for (let i = 0; i < 200; i++) env.step(new Float32Array([-1, 0]));
  env.observe(o);
  assert.ok(o[0]! > 0.35 && o[0]! < 0.45, `x=${o[0]}`);
  assert.equal(wallRect(0, 0), [-0.7, -0.7, 0.30000000000000004, 0.30000000000000004]);
  assert.equal(cellToXY(2, 3), [2, 3]);
});

test('planCost counts plan states inside walls (stateDim 4 layout)', async () => {
  const env = await get('maze2d-umaze');
  const plan = new Float32Array([1, 1, 0, 0, 1, 2, 0, 0, 2, 2, 0, 0, 2, 1, 0, 0, 3, 3, 0, 0]);
  // (2, 2) and (2, 1) are wall cells of the U (row 2 = "###O#"); the others are free
  assert.is(env.planCost!(plan, 5), 2);
  assert.is(env.planCost!(plan, 1), 0);
});

test('observe/step are allocation-free', async () => {
  const env = await get('maze2d-large');
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'run with --expose-gc');
  const o = new Float32Array(4), a = new Float32Array(2), g = new Float32Array(2);
  env.reset(1);
  const run = (n: number): number => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      a[0] = Math.sin(i * 0.01); a[1] = Math.cos(i * 0.013);
      acc += env.step(a);
      env.observe(o);
      env.goal(g);
    }
    return acc;
  };
  run(30000); // warm up (JIT)
  // 300k steps allocating even one small object each (≥ 16 B) would either grow the heap by ≥ 4.8 MB
  // or trigger a scavenge; a clean trial shows neither. Best of 3 trials (background noise).
  let gcs = 0;
  const obs = new PerformanceObserver((l) => { gcs += l.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  const trials: string[] = [];
  let clean = false;
  for (let t = 0; t < 3 && !clean; t++) {
    gc!();
    await new Promise((r) => setTimeout(r, 20));
    gcs = 0;
    const before = process.memoryUsage().heapUsed;
    run(300000);
    const grown = process.memoryUsage().heapUsed - before;
    await new Promise((r) => setTimeout(r, 20));
    trials.push(`${grown} B / ${gcs} gc`);
    clean = grown < 1_000_000 && gcs === 0;
  }
  obs.disconnect();
  assert.ok(clean, `heap growth per 300k steps: ${trials.join(', ')}`);
});

test('mazeSvg draws walls, paths, goal and start', async () => {
  const env = await get('maze2d-umaze');
  const svg = mazeSvg(env, { paths: [{ points: [[3, 1], [3, 3], [1, 3], [1, 1]], stroke: '#123456', width: 3, opacity: 0.5 }], goal: [1, 1], start: [3, 1] });
  assert.match(svg, /^<svg/);
  assert.is((svg.match(/fill="#b3805a"/g) ?? []).length, 18);
  assert.match(svg, /stroke="#123456"/);
  assert.match(svg, /<circle/);
  const fromRows = mazeSvg(MAZE2D_SPECS['maze2d-large'].rows);
  assert.match(fromRows, /<\/svg>$/);
});

test.after(() => { for (const e of Object.values(envs)) e.close(); });
test.run();
