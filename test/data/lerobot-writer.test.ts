import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { loadLeRobot } from '../../src/data/lerobot.js';
import { LeRobotWriter, aggregateStats, featureStats } from '../../src/data/lerobot-writer.js';
import { DatasetError } from '../../src/errors.js';
import { SeededRng } from '../../src/util/rng.js';

const root = mkdtempSync(join(tmpdir(), 'kdp-lerobot-w-'));
const NAMES = ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos'];
const OPTS = { fps: 30, robotType: 'so100_follower', stateNames: NAMES, actionNames: NAMES };

function episode(seed: number, n: number): { states: Float32Array; actions: Float32Array } {
  const rng = new SeededRng(seed);
  return { states: Float32Array.from({ length: n * 6 }, () => rng.range(-90, 90)), actions: Float32Array.from({ length: n * 6 }, () => rng.range(-90, 90)) };
}

async function rows(file: string): Promise<Array<Record<string, unknown>>> {
  const b = readFileSync(file);
  return parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer });
}
function schemaOf(file: string): Record<string, string> {
  const b = readFileSync(file);
  const md = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  const out: Record<string, string> = {};
  for (const c of parquetSchema(md).children) {
    out[c.element.name] = c.element.converted_type === 'LIST' ? `list<${c.children[0]!.children[0]!.element.type}>` : String(c.element.type);
  }
  return out;
}

test('LeRobot v3.0 writer: layout, info.json, stats, tasks, episodes and data schema field by field; our loader reads it back', async () => {
  const dir = join(root, 'ds');
  const w = await LeRobotWriter.open(dir, OPTS);
  assert.is(w.resumed, false);
  const e0 = episode(1, 7), e1 = episode(2, 11);
  assert.is(await w.addEpisode({ ...e0, task: 'pick the cube' }), 0);
  assert.is(await w.addEpisode({ ...e1, task: 'place the cube' }), 1);

  for (const f of ['meta/info.json', 'meta/stats.json', 'meta/tasks.parquet', 'meta/episodes/chunk-000/file-000.parquet', 'data/chunk-000/file-000.parquet', 'data/chunk-000/file-001.parquet']) {
    assert.ok(existsSync(join(dir, f)), f);
  }
  const info = JSON.parse(readFileSync(join(dir, 'meta/info.json'), 'utf8')) as Record<string, unknown>;
  assert.is(info.codebase_version, 'v3.0');
  assert.is(info.robot_type, 'so100_follower');
  assert.is(info.fps, 30);
  assert.is(info.total_episodes, 2);
  assert.is(info.total_frames, 18);
  assert.is(info.total_tasks, 2);
  assert.is(info.chunks_size, 1000);
  assert.is(info.data_path, 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet');
  assert.equal(info.splits, { train: '0:2' });
  const feats = info.features as Record<string, { dtype: string; shape: number[]; names: string[] | null }>;
  assert.equal(Object.keys(feats).sort(), ['action', 'episode_index', 'frame_index', 'index', 'observation.state', 'task_index', 'timestamp']);
  assert.equal(feats['observation.state'], { dtype: 'float32', shape: [6], names: NAMES });
  assert.equal(feats.action, { dtype: 'float32', shape: [6], names: NAMES });
  assert.equal(feats.timestamp, { dtype: 'float32', shape: [1], names: null });
  for (const k of ['frame_index', 'episode_index', 'index', 'task_index']) assert.equal(feats[k], { dtype: 'int64', shape: [1], names: null });

  // data files: column types and values
  const dataFile = join(dir, 'data/chunk-000/file-001.parquet');
  assert.equal(schemaOf(dataFile), {
    'observation.state': 'list<FLOAT>', action: 'list<FLOAT>', timestamp: 'FLOAT', frame_index: 'INT64', episode_index: 'INT64', index: 'INT64', task_index: 'INT64',
  });
  const r1 = await rows(dataFile);
  assert.is(r1.length, 11);
  assert.equal(r1.map((r) => Number(r.index)), Array.from({ length: 11 }, (_, i) => 7 + i));
  assert.equal(r1.map((r) => Number(r.frame_index)), Array.from({ length: 11 }, (_, i) => i));
  assert.ok(r1.every((r) => Number(r.episode_index) === 1 && Number(r.task_index) === 1));
  assert.ok(Math.abs(Number(r1[3]!.timestamp) - 3 / 30) < 1e-6);

  // tasks and episodes metadata
  assert.equal((await rows(join(dir, 'meta/tasks.parquet'))).map((r) => [Number(r.task_index), r.task]), [[0, 'pick the cube'], [1, 'place the cube']]);
  const eps = await rows(join(dir, 'meta/episodes/chunk-000/file-000.parquet'));
  assert.equal(eps.map((e) => [Number(e.episode_index), e.tasks, Number(e.length), Number(e['data/chunk_index']), Number(e['data/file_index']), Number(e.dataset_from_index), Number(e.dataset_to_index)]),
    [[0, ['pick the cube'], 7, 0, 0, 0, 7], [1, ['place the cube'], 11, 0, 1, 7, 18]]);
  const s0 = featureStats(e0.states, 6);
  assert.equal((eps[0]!['stats/observation.state/max'] as number[]).map((v) => Math.fround(v)), s0.max.map((v) => Math.fround(v)));
  assert.equal(eps[1]!['stats/action/count'], [11]);

  // stats.json = stats over all frames
  const stats = JSON.parse(readFileSync(join(dir, 'meta/stats.json'), 'utf8')) as Record<string, { mean: number[]; std: number[]; min: number[]; max: number[]; count: number[] }>;
  const all = new Float32Array([...e0.states, ...e1.states]);
  const direct = featureStats(all, 6);
  assert.equal(stats['observation.state']!.count, [18]);
  for (let d = 0; d < 6; d++) {
    assert.ok(Math.abs(stats['observation.state']!.mean[d]! - direct.mean[d]!) < 1e-9);
    assert.ok(Math.abs(stats['observation.state']!.std[d]! - direct.std[d]!) < 1e-9);
    assert.is(stats['observation.state']!.min[d], direct.min[d]);
  }

  // our loader
  const back = await loadLeRobot(dir);
  assert.is(back.length, 18);
  assert.equal(Array.from(back.episodeEnds), [7, 18]);
  assert.equal(Array.from(back.observations), [...e0.states, ...e1.states]);
  assert.equal(Array.from(back.actions), [...e0.actions, ...e1.actions]);
  assert.equal(back.stateNames, NAMES);
});

test('LeRobot writer resumes: appends with continuous indices, reuses tasks, ignores an uncommitted data file', async () => {
  const dir = join(root, 'ds');
  // a crash after the data file of a third episode but before info.json: an orphan file-002
  writeFileSync(join(dir, 'data/chunk-000/file-002.parquet'), 'garbage from an interrupted append');
  assert.is((await loadLeRobot(dir)).length, 18);
  const w = await LeRobotWriter.open(dir, OPTS);
  assert.is(w.resumed, true);
  assert.is(w.totalEpisodes, 2);
  assert.is(w.totalFrames, 18);
  const e2 = episode(3, 5);
  assert.is(await w.addEpisode({ ...e2, task: 'pick the cube' }), 2);
  const info = JSON.parse(readFileSync(join(dir, 'meta/info.json'), 'utf8')) as { total_episodes: number; total_frames: number; total_tasks: number };
  assert.equal([info.total_episodes, info.total_frames, info.total_tasks], [3, 23, 2]);
  const r = await rows(join(dir, 'data/chunk-000/file-002.parquet'));
  assert.equal(r.map((x) => Number(x.index)), [18, 19, 20, 21, 22]);
  assert.ok(r.every((x) => Number(x.task_index) === 0));
  const back = await loadLeRobot(dir);
  assert.equal(Array.from(back.episodeEnds), [7, 18, 23]);
});

test('LeRobot writer refuses to append to a dataset with other fps, robot or features', async () => {
  const dir = join(root, 'ds');
  for (const [o, re] of [
    [{ ...OPTS, fps: 50 }, /30 fps, not 50/],
    [{ ...OPTS, robotType: 'koch' }, /robot_type/],
    [{ ...OPTS, stateNames: NAMES.slice(0, 5) }, /feature observation.state/],
  ] as const) {
    try { await LeRobotWriter.open(dir, o); assert.unreachable('should refuse'); } catch (e) {
      assert.instance(e, DatasetError);
      assert.match((e as Error).message, re);
      assert.ok((e as DatasetError).hint);
    }
  }
  // never mixes a dataset into a folder or over a file that is something else
  const other = join(root, 'other');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, 'notes.txt'), 'keep me');
  writeFileSync(join(root, 'a-file'), 'keep me too');
  for (const [d, re] of [[other, /not empty and is not a LeRobot dataset/], [join(root, 'a-file'), /is a file/]] as const) {
    try { await LeRobotWriter.open(d, OPTS); assert.unreachable('should refuse'); } catch (e) { assert.instance(e, DatasetError); assert.match((e as Error).message, re); }
  }
  assert.is(readFileSync(join(other, 'notes.txt'), 'utf8'), 'keep me');
  const w = await LeRobotWriter.open(join(root, 'empty'), OPTS);
  try { await w.addEpisode({ states: new Float32Array(0), actions: new Float32Array(0), task: 't' }); assert.unreachable(); } catch (e) { assert.instance(e, DatasetError); }
});

test('aggregateStats of episode stats equals stats of the concatenation', () => {
  const a = episode(5, 9).states, b = episode(6, 4).states;
  const agg = aggregateStats([featureStats(a, 6), featureStats(b, 6)]);
  const direct = featureStats(new Float32Array([...a, ...b]), 6);
  for (let d = 0; d < 6; d++) {
    assert.ok(Math.abs(agg.mean[d]! - direct.mean[d]!) < 1e-9);
    assert.ok(Math.abs(agg.std[d]! - direct.std[d]!) < 1e-9);
  }
  assert.equal(agg.count, [13]);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
