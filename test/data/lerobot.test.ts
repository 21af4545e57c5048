import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadLeRobot, writeLeRobot } from '../../src/data/lerobot.js';
import { loadDataset } from '../../src/data/load.js';
import type { TrajectoryDataset } from '../../src/data/dataset.js';
import { SeededRng } from '../../src/util/rng.js';
import { DatasetError, ShapeError } from '../../src/errors.js';
import { makeWindowIndex } from '../../src/data/windows.js';

const root = mkdtempSync(join(tmpdir(), 'kdp-lerobot-'));

function sample(withGoal: boolean): TrajectoryDataset {
  const rng = new SeededRng(9);
  const lens = [5, 12, 1, 30];
  const n = lens.reduce((a, b) => a + b, 0);
  const ds: TrajectoryDataset = {
    source: 'mem', format: 'memory', stateDim: 6, actionDim: 3, goalDim: withGoal ? 3 : 0, length: n,
    observations: Float32Array.from({ length: n * 6 }, () => rng.normal()),
    actions: Float32Array.from({ length: n * 3 }, () => rng.range(-1, 1)),
    episodeEnds: Int32Array.from(lens.map((_, k) => lens.slice(0, k + 1).reduce((a, b) => a + b, 0))),
    stateNames: ['j0', 'j1', 'j2', 'j3', 'j4', 'gripper'],
  };
  if (withGoal) ds.goals = Float32Array.from({ length: n * 3 }, () => rng.normal());
  return ds;
}

test('LeRobot round trip: write v2.1 folder, load it back (states, actions, goals, episodes, names)', async () => {
  for (const withGoal of [false, true]) {
    const dir = join(root, withGoal ? 'goal' : 'plain');
    const ds = sample(withGoal);
    await writeLeRobot(dir, ds, { fps: 30, robotType: 'so100' });
    assert.ok(existsSync(join(dir, 'meta', 'info.json')));
    assert.ok(existsSync(join(dir, 'data', 'chunk-000', 'episode_000003.parquet')));
    const info = JSON.parse(readFileSync(join(dir, 'meta', 'info.json'), 'utf8')) as { total_episodes: number; total_frames: number; features: Record<string, { shape: number[] }> };
    assert.is(info.total_episodes, 4);
    assert.is(info.total_frames, 48);
    assert.equal(info.features['observation.state']!.shape, [6]);
    const back = await loadLeRobot(dir);
    assert.is(back.format, 'lerobot');
    assert.is(back.length, ds.length);
    assert.is(back.stateDim, 6); assert.is(back.actionDim, 3); assert.is(back.goalDim, withGoal ? 3 : 0);
    assert.equal(Array.from(back.observations), Array.from(ds.observations));
    assert.equal(Array.from(back.actions), Array.from(ds.actions));
    assert.equal(Array.from(back.episodeEnds), Array.from(ds.episodeEnds));
    if (withGoal) assert.equal(Array.from(back.goals!), Array.from(ds.goals!));
    assert.equal(back.stateNames, ds.stateNames);
    // windows respect LeRobot episode boundaries too
    for (const s of makeWindowIndex(back, { horizon: 5 })) {
      const ep = back.episodeEnds.findIndex((e) => e > s);
      assert.ok(s + 4 < back.episodeEnds[ep]!);
    }
    // loadDataset dispatches folders to LeRobot
    assert.is((await loadDataset(dir)).format, 'lerobot');
  }
});

test('a hand-made LeRobot folder (hyparquet-writer) with gaps in episode order loads', async () => {
  const dir = join(root, 'hand');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'meta'), { recursive: true });
  mkdirSync(join(dir, 'data', 'chunk-000'), { recursive: true });
  const list = (name: string) => [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'FLOAT', repetition_type: 'OPTIONAL' },
  ];
  const schema = [{ name: 'root', num_children: 3 }, ...list('observation.state'), ...list('action'), { name: 'episode_index', type: 'INT64', repetition_type: 'OPTIONAL' }];
  for (const ep of [0, 1]) {
    const rows = ep === 0 ? 3 : 2;
    const buf = parquetWriteBuffer({
      schema: schema as never,
      columnData: [
        { name: 'observation.state', data: Array.from({ length: rows }, (_, i) => [ep, i]) },
        { name: 'action', data: Array.from({ length: rows }, (_, i) => [i * 0.5]) },
        { name: 'episode_index', data: Array.from({ length: rows }, () => BigInt(ep)) },
      ] as never,
    });
    writeFileSync(join(dir, 'data', 'chunk-000', `episode_00000${ep}.parquet`), new Uint8Array(buf));
  }
  writeFileSync(join(dir, 'meta', 'info.json'), JSON.stringify({
    codebase_version: 'v2.0', total_episodes: 2, total_frames: 5, chunks_size: 1000, fps: 10,
    data_path: 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet',
    features: { 'observation.state': { dtype: 'float32', shape: [2], names: ['x', 'y'] }, action: { dtype: 'float32', shape: [1], names: ['u'] } },
  }));
  const ds = await loadLeRobot(dir);
  assert.is(ds.length, 5);
  assert.equal(Array.from(ds.episodeEnds), [3, 5]);
  assert.equal(Array.from(ds.observations), [0, 0, 0, 1, 0, 2, 1, 0, 1, 1]);
  assert.equal(ds.actionNames, ['u']);
});

test('kdp dataset info summarises a LeRobot folder (in-process, --json)', async () => {
  const { command } = await import('../../src/cli/commands/dataset-info.js');
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = (c: string): boolean => { chunks.push(String(c)); return true; };
  try {
    await command.run({ values: {}, positionals: [join(root, 'goal')], json: true, signal: new AbortController().signal });
  } finally {
    (process.stdout as { write: unknown }).write = orig;
  }
  const info = JSON.parse(chunks.join('').trim()) as { format: string; steps: number; episodes: number; stateDim: number; goalDim: number; observations: { std: number[] } };
  assert.is(info.format, 'lerobot');
  assert.is(info.steps, 48);
  assert.is(info.episodes, 4);
  assert.is(info.stateDim, 6);
  assert.is(info.goalDim, 3);
  assert.is(info.observations.std.length, 6);
});

async function rejects(p: Promise<unknown>, cls: new (...a: never[]) => Error, re: RegExp): Promise<void> {
  try { await p; } catch (e) {
    assert.instance(e, cls);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable('should have thrown');
}

test('bad LeRobot folders → DatasetError / ShapeError that say what to fix', async () => {
  await rejects(loadLeRobot(join(root, 'nothing')), DatasetError, /not found/);
  const empty = join(root, 'empty');
  (await import('node:fs')).mkdirSync(empty, { recursive: true });
  await rejects(loadLeRobot(empty), DatasetError, /meta\/info\.json is missing[\s\S]*chunk-XXX/);
  const dir = join(root, 'plain');
  await rejects(loadLeRobot(dir, { expect: { stateDim: 4 } }), ShapeError, /state dimension: expected 4, got 6/);
  await rejects(loadLeRobot(dir, { stateKey: 'observation.joints' }), DatasetError, /lacks the feature\(s\) observation\.joints/);
  // info.json claims 3-dim states but the data has 6
  const lying = join(root, 'lying');
  await writeLeRobot(lying, sample(false), { fps: 30 });
  const infoPath = join(lying, 'meta', 'info.json');
  const info = JSON.parse(readFileSync(infoPath, 'utf8')) as { features: Record<string, { shape: number[] }> };
  info.features['observation.state']!.shape = [3];
  writeFileSync(infoPath, JSON.stringify(info));
  await rejects(loadLeRobot(lying), ShapeError, /observation\.state per frame: expected 3, got 6/);
  // a truncated episode file
  const trunc = join(root, 'trunc');
  await writeLeRobot(trunc, sample(false), { fps: 30 });
  const f = join(trunc, 'data', 'chunk-000', 'episode_000001.parquet');
  writeFileSync(f, readFileSync(f).subarray(0, 40));
  await rejects(loadLeRobot(trunc), DatasetError, /episode_000001\.parquet: not a readable parquet file[\s\S]*corrupt or truncated/);
  // a missing episode file
  rmSync(f);
  await rejects(loadLeRobot(trunc), DatasetError, /missing episode file/);
  // corrupt info.json
  writeFileSync(join(trunc, 'meta', 'info.json'), '{ not json');
  await rejects(loadLeRobot(trunc), DatasetError, /not valid JSON/);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
