import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKdp } from '../helpers/cli.js';
import { loadD4rlHdf5, writeD4rlHdf5, hdf5Dtypes } from '../../src/data/d4rl-hdf5.js';
import { loadDataset } from '../../src/data/load.js';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { DatasetError, ShapeError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-d4rl-'));
const file = join(dir, 'umaze.hdf5');

test('kdp dataset maze2d writes D4RL keys and dtypes (h5py-style bool terminals/timeouts)', () => {
  const r = runKdp(['dataset', 'maze2d', '--maze', 'umaze', '--steps', '3000', '--seed', '3', '--out', file, '--json']);
  assert.is(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim()) as { out: string; steps: number; episodes: number; goalsReached: number; seconds: number };
  assert.is(summary.out, file);
  assert.is(summary.steps, 3000);
  assert.ok(summary.episodes > 10 && summary.goalsReached >= summary.episodes - 1, JSON.stringify(summary));
  assert.ok(typeof summary.seconds === 'number');
  assert.match(r.stderr, /"progress"/);
  // no temp files left behind; the provenance sidecar records the exact command
  assert.equal(readdirSync(dir).sort(), ['umaze.hdf5', 'umaze.hdf5.provenance.json']);
  const prov = JSON.parse(readFileSync(join(dir, 'umaze.hdf5.provenance.json'), 'utf8')) as { command: string; seed: number };
  assert.match(prov.command, /kdp dataset maze2d --maze maze2d-umaze --steps 3000 --seed 3/);
  assert.is(prov.seed, 3);
});

test('dtypes and shapes', async () => {
  const t = await hdf5Dtypes(file);
  assert.equal(Object.keys(t).sort(), ['actions', 'infos/goal', 'infos/qpos', 'infos/qvel', 'observations', 'rewards', 'terminals', 'timeouts']);
  assert.equal(t['observations'], { dtype: '<f', shape: [3000, 4] });
  assert.equal(t['actions'], { dtype: '<f', shape: [3000, 2] });
  assert.equal(t['rewards'], { dtype: '<f', shape: [3000] });
  assert.equal(t['terminals'], { dtype: 'bool', shape: [3000] });
  assert.equal(t['timeouts'], { dtype: 'bool', shape: [3000] });
  for (const k of ['infos/goal', 'infos/qpos', 'infos/qvel']) assert.equal(t[k], { dtype: '<f', shape: [3000, 2] });
});

test('loads back: episodes end at terminals|timeouts, goals from infos/goal, values in range', async () => {
  const ds = await loadD4rlHdf5(file);
  assert.is(ds.format, 'd4rl-hdf5');
  assert.is(ds.length, 3000);
  assert.is(ds.stateDim, 4); assert.is(ds.actionDim, 2); assert.is(ds.goalDim, 2);
  assert.ok(ds.goals && ds.goals.length === 6000);
  assert.is(ds.episodeEnds[ds.episodeEnds.length - 1], 3000);
  for (let k = 1; k < ds.episodeEnds.length; k++) assert.ok(ds.episodeEnds[k]! > ds.episodeEnds[k - 1]!);
  for (const v of ds.actions) assert.ok(v >= -1 && v <= 1);
  // the goal is constant within an episode
  let begin = 0;
  for (const end of ds.episodeEnds) {
    for (let i = begin + 1; i < end; i++) assert.is(ds.goals![i * 2], ds.goals![begin * 2]);
    begin = end;
  }
  // umaze qpos stays inside the free space [0.4, 3.2]
  for (let i = 0; i < ds.length; i++) {
    const x = ds.observations[i * 4]!, y = ds.observations[i * 4 + 1]!;
    assert.ok(x > 0.35 && x < 3.25 && y > 0.35 && y < 3.25, `${x},${y}`);
  }
});

test('generation is deterministic for a seed and differs across seeds', async () => {
  const a = await generateMaze2dDataset({ maze: 'maze2d-medium', steps: 2000, seed: 5 });
  const b = await generateMaze2dDataset({ maze: 'maze2d-medium', steps: 2000, seed: 5 });
  const c = await generateMaze2dDataset({ maze: 'maze2d-medium', steps: 2000, seed: 6 });
  assert.equal(Buffer.from(a.arrays.observations.buffer).equals(Buffer.from(b.arrays.observations.buffer)), true);
  assert.equal(Buffer.from(a.arrays.actions.buffer).equals(Buffer.from(b.arrays.actions.buffer)), true);
  assert.equal(Buffer.from(a.arrays.terminals.buffer).equals(Buffer.from(b.arrays.terminals.buffer)), true);
  assert.equal(Buffer.from(a.arrays.observations.buffer).equals(Buffer.from(c.arrays.observations.buffer)), false);
  // and the file written from the same arrays is identical where it matters
  const f1 = join(dir, 'a.hdf5'), f2 = join(dir, 'b.hdf5');
  await writeD4rlHdf5(f1, a.arrays, { stateDim: 4, actionDim: 2 });
  await writeD4rlHdf5(f2, b.arrays, { stateDim: 4, actionDim: 2 });
  const l1 = await loadD4rlHdf5(f1), l2 = await loadD4rlHdf5(f2);
  assert.equal(Array.from(l1.observations), Array.from(l2.observations));
  assert.equal(Array.from(l1.episodeEnds), Array.from(l2.episodeEnds));
});

async function rejects(p: Promise<unknown>, cls: new (...a: never[]) => Error, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, cls);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable('should have thrown');
}

test('missing / not HDF5 / truncated / missing keys → DatasetError saying what to do', async () => {
  await rejects(loadD4rlHdf5(join(dir, 'nope.hdf5')), DatasetError, /not found[\s\S]*kdp dataset maze2d/);
  const txt = join(dir, 'x.hdf5');
  writeFileSync(txt, 'hello, I am not an HDF5 file');
  await rejects(loadD4rlHdf5(txt), DatasetError, /not an HDF5 file/);
  const bytes = readFileSync(file);
  for (const frac of [0.5, 0.05]) {
    const trunc = join(dir, `trunc-${frac}.hdf5`);
    writeFileSync(trunc, bytes.subarray(0, Math.floor(bytes.length * frac)));
    await rejects(loadD4rlHdf5(trunc), DatasetError, /corrupt or truncated[\s\S]*regenerate/);
  }
  // a valid HDF5 file without D4RL keys
  const other = join(dir, 'other.hdf5');
  const h5 = await import('h5wasm/node');
  await h5.ready;
  const f = new h5.File(other, 'w');
  f.create_dataset({ name: 'something', data: new Float32Array([1, 2, 3]) });
  f.close();
  await rejects(loadD4rlHdf5(other), DatasetError, /lacks the D4RL key\(s\) observations, actions/);
  await rejects(loadDataset(join(dir, 'missing-dir')), DatasetError, /not found/);
});

test('wrong dimensions → ShapeError', async () => {
  await rejects(loadD4rlHdf5(file, { expect: { stateDim: 6 } }), ShapeError, /state dimension: expected 6, got 4/);
  await rejects(loadD4rlHdf5(file, { expect: { actionDim: 3 } }), ShapeError, /action dimension/);
  const h5 = await import('h5wasm/node');
  await h5.ready;
  const bad = join(dir, 'bad-rows.hdf5');
  const f = new h5.File(bad, 'w');
  f.create_dataset({ name: 'observations', data: new Float32Array(40), shape: [10, 4], dtype: '<f' });
  f.create_dataset({ name: 'actions', data: new Float32Array(18), shape: [9, 2], dtype: '<f' });
  f.close();
  await rejects(loadD4rlHdf5(bad), ShapeError, /actions rows: expected 10, got 9/);
  // writer checks too
  try {
    await writeD4rlHdf5(join(dir, 'w.hdf5'), { observations: new Float32Array(8), actions: new Float32Array(4), rewards: new Float32Array(3), terminals: new Uint8Array(3), timeouts: new Uint8Array(3) }, { stateDim: 4, actionDim: 2 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ShapeError);
  }
});

async function infoInProcess(path: string, json: boolean): Promise<string> {
  const { command } = await import('../../src/cli/commands/dataset-info.js');
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = (c: string): boolean => { chunks.push(String(c)); return true; };
  try {
    await command.run({ values: {}, positionals: [path], json, signal: new AbortController().signal });
  } finally {
    (process.stdout as { write: unknown }).write = orig;
  }
  return chunks.join('');
}

test('kdp dataset info: format, steps, episodes, dims, per-dim stats (--json and human), bad file', async () => {
  const info = JSON.parse((await infoInProcess(file, true)).trim()) as { format: string; steps: number; episodes: number; stateDim: number; observations: { mean: number[]; std: number[] }; keys: Record<string, { dtype: string }> };
  assert.is(info.format, 'd4rl-hdf5');
  assert.is(info.steps, 3000);
  assert.is(info.stateDim, 4);
  assert.is(info.observations.mean.length, 4);
  assert.is(info.keys['terminals']!.dtype, 'bool');
  const out = await infoInProcess(file, false);
  assert.match(out, /steps 3000, episodes \d+/);
  assert.match(out, /terminals bool\[3000\]/);
  await rejects(infoInProcess(join(dir, 'x.hdf5'), false), DatasetError, /not an HDF5 file/);
});

test('corrupted bytes inside the data → DatasetError', async () => {
  const bytes = Buffer.from(readFileSync(file));
  // scribble over the second half (compressed chunks), keep the size and the superblock
  for (let i = Math.floor(bytes.length / 2); i < bytes.length - 64; i += 7) bytes[i] = (bytes[i]! * 31 + 17) & 255;
  const bad = join(dir, 'scribbled.hdf5');
  writeFileSync(bad, bytes);
  await rejects(loadD4rlHdf5(bad), DatasetError, /corrupt or truncated/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
