import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DatasetError, ShapeError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import { checkDims, episodeEndsFromIndex } from './dataset.js';
import type { ExpectedDims, TrajectoryDataset } from './dataset.js';

/**
 * LeRobot datasets, codebase v2.x and v3.0 layouts:
 *   meta/info.json                                    features, fps, data_path template, chunks_size
 *   v2.x: data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet (one episode per file)
 *   v3.0: data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet (episodes located by meta/episodes/…parquet;
 *         written by `LeRobotWriter`, src/data/lerobot-writer.ts)
 * Each parquet row is one frame: `observation.state` (list<float>), `action` (list<float>),
 * `episode_index`, `frame_index`, `index`, `timestamp`, `task_index`; optional goal column.
 */
export interface LeRobotFeature { dtype: string; shape: number[]; names?: string[] | null }
export interface LeRobotInfo {
  codebase_version: string;
  robot_type?: string | null;
  total_episodes: number;
  total_frames: number;
  total_tasks?: number;
  chunks_size: number;
  fps: number;
  data_path: string;
  features: Record<string, LeRobotFeature>;
  [k: string]: unknown;
}

export interface LeRobotKeys {
  stateKey?: string;
  actionKey?: string;
  /** goal column, used when present (default `observation.goal`) */
  goalKey?: string;
}

const DEFAULT_DATA_PATH = 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet';

function formatPath(template: string, vars: Record<string, number>): string {
  return template.replace(/\{(\w+)(?::0?(\d+)d)?\}/g, (_m, key: string, width: string | undefined) => {
    const v = vars[key];
    if (v === undefined) return `{${key}}`;
    return width ? String(v).padStart(Number(width), '0') : String(v);
  });
}

/**
 * v3.0 layout: many episodes per `data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet`; the episodes
 * metadata (meta/episodes/…parquet) says which file holds each episode. Only the first `total_episodes` rows count
 * (info.json is the commit point of an append).
 */
async function dataFilesV3(dir: string, info: LeRobotInfo, template: string): Promise<string[]> {
  const metaFiles: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.parquet')) metaFiles.push(p);
    }
  };
  walk(join(dir, 'meta', 'episodes'));
  if (metaFiles.length === 0) throw new DatasetError(`${dir} is a LeRobot v3 dataset without meta/episodes/*.parquet`, { hint: 'the episodes metadata is missing: re-download or re-record the dataset' });
  const { parquetReadObjects } = await import('hyparquet');
  const files: string[] = [];
  let seen = 0;
  for (const f of metaFiles) {
    const b = readFileSync(f);
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, columns: ['data/chunk_index', 'data/file_index'] });
    } catch (e) {
      throw new DatasetError(`${relative(dir, f)}: not a readable episodes metadata file (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, { hint: 're-download or re-record the dataset', cause: e });
    }
    for (const r of rows) {
      if (Number.isInteger(info.total_episodes) && seen >= info.total_episodes) break;
      seen++;
      const p = join(dir, formatPath(template, { chunk_index: Number(r['data/chunk_index']), file_index: Number(r['data/file_index']) }));
      if (files[files.length - 1] !== p && !files.includes(p)) files.push(p);
    }
  }
  return files;
}

async function dataFiles(dir: string, info: LeRobotInfo): Promise<string[]> {
  const files: string[] = [];
  const template = typeof info.data_path === 'string' ? info.data_path : DEFAULT_DATA_PATH;
  if (template.includes('{file_index')) return dataFilesV3(dir, info, template);
  const chunk = info.chunks_size > 0 ? info.chunks_size : 1000;
  if (Number.isInteger(info.total_episodes) && info.total_episodes > 0) {
    for (let ep = 0; ep < info.total_episodes; ep++) {
      files.push(join(dir, formatPath(template, { episode_chunk: Math.floor(ep / chunk), episode_index: ep })));
    }
    return files;
  }
  // no episode count: take every parquet file under data/, sorted
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.parquet')) files.push(p);
    }
  };
  walk(join(dir, 'data'));
  return files;
}

/** Load a LeRobot dataset folder into a TrajectoryDataset (episode ends from episode_index). */
export async function loadLeRobot(dir: string, opts: LeRobotKeys & { expect?: ExpectedDims } = {}): Promise<TrajectoryDataset> {
  const stateKey = opts.stateKey ?? 'observation.state';
  const actionKey = opts.actionKey ?? 'action';
  const goalKey = opts.goalKey ?? 'observation.goal';
  const infoPath = join(dir, 'meta', 'info.json');
  if (!existsSync(dir)) throw new DatasetError(`dataset folder not found: ${dir}`, { hint: 'check the path of the LeRobot dataset (the folder that holds meta/ and data/)' });
  if (!existsSync(infoPath)) throw new DatasetError(`${dir} is not a LeRobot dataset: ${infoPath} is missing`, { hint: 'a LeRobot dataset folder has meta/info.json and data/chunk-XXX/episode_XXXXXX.parquet' });
  let info: LeRobotInfo;
  try {
    info = JSON.parse(readFileSync(infoPath, 'utf8')) as LeRobotInfo;
  } catch (e) {
    throw new DatasetError(`${infoPath} is not valid JSON`, { hint: 'restore meta/info.json from the original dataset', cause: e });
  }
  const feats = info.features ?? {};
  const sf = feats[stateKey], af = feats[actionKey];
  if (!sf || !af) {
    throw new DatasetError(`${infoPath} lacks the feature(s) ${[!sf ? stateKey : '', !af ? actionKey : ''].filter(Boolean).join(', ')} (has: ${Object.keys(feats).join(', ')})`, {
      hint: 'pass the right stateKey/actionKey, or record the dataset with observation.state and action features',
    });
  }
  const stateDim = sf.shape?.[0] ?? 0, actionDim = af.shape?.[0] ?? 0;
  const gf = feats[goalKey];
  const goalDim = gf ? gf.shape?.[0] ?? 0 : 0;
  const files = await dataFiles(dir, info);
  if (files.length === 0) throw new DatasetError(`${dir} has no episode files under data/`, { hint: 'the data/chunk-XXX/episode_XXXXXX.parquet files are missing' });

  const { parquetReadObjects } = await import('hyparquet');
  const obs: number[] = [], act: number[] = [], goal: number[] = [], epi: number[] = [];
  for (const file of files) {
    if (!existsSync(file)) throw new DatasetError(`missing episode file ${relative(dir, file)} in ${dir}`, { hint: 'meta/info.json lists more episodes than data/ holds: re-download or re-record the dataset' });
    let rows: Array<Record<string, unknown>>;
    try {
      const b = readFileSync(file);
      const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      const columns = [stateKey, actionKey, 'episode_index', ...(gf ? [goalKey] : [])];
      rows = await parquetReadObjects({ file: ab, columns });
    } catch (e) {
      throw new DatasetError(`${file}: not a readable parquet file (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, {
        hint: 'the episode file is corrupt or truncated; re-download or re-record the dataset', cause: e,
      });
    }
    for (const r of rows) {
      const s = r[stateKey], a = r[actionKey];
      if (!isNumArray(s) || s.length !== stateDim) throw new ShapeError(`${relative(dir, file)} ${stateKey} per frame`, stateDim, isNumArray(s) ? s.length : typeof s, 'meta/info.json features and the parquet data disagree');
      if (!isNumArray(a) || a.length !== actionDim) throw new ShapeError(`${relative(dir, file)} ${actionKey} per frame`, actionDim, isNumArray(a) ? a.length : typeof a, 'meta/info.json features and the parquet data disagree');
      for (const v of s) obs.push(Number(v));
      for (const v of a) act.push(Number(v));
      if (gf) {
        const g = r[goalKey];
        if (!isNumArray(g) || g.length !== goalDim) throw new ShapeError(`${relative(dir, file)} ${goalKey} per frame`, goalDim, isNumArray(g) ? g.length : typeof g);
        for (const v of g) goal.push(Number(v));
      }
      epi.push(Number(r['episode_index'] ?? 0));
    }
  }
  const n = epi.length;
  const ds: TrajectoryDataset = {
    source: dir,
    format: 'lerobot',
    stateDim, actionDim, goalDim,
    length: n,
    observations: Float32Array.from(obs),
    actions: Float32Array.from(act),
    episodeEnds: episodeEndsFromIndex(epi),
  };
  if (gf) ds.goals = Float32Array.from(goal);
  if (Array.isArray(sf.names)) ds.stateNames = sf.names.map(String);
  if (Array.isArray(af.names)) ds.actionNames = af.names.map(String);
  checkDims(ds, opts.expect);
  return ds;
}

function isNumArray(x: unknown): x is ArrayLike<number | bigint> & Iterable<number | bigint> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

export interface WriteLeRobotOptions extends LeRobotKeys {
  fps: number;
  robotType?: string;
  task?: string;
}

/**
 * Write a TrajectoryDataset as a LeRobot v2.1 folder (one parquet file per episode, atomic writes).
 * Used by tests and by the simulators' dataset recorders.
 */
export async function writeLeRobot(dir: string, ds: TrajectoryDataset, opts: WriteLeRobotOptions): Promise<void> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const stateKey = opts.stateKey ?? 'observation.state';
  const actionKey = opts.actionKey ?? 'action';
  const goalKey = opts.goalKey ?? 'observation.goal';
  const hasGoal = ds.goals !== undefined && ds.goalDim > 0;
  const chunksSize = 1000;
  const S = ds.stateDim, A = ds.actionDim, G = ds.goalDim;
  const listCol = (name: string): Array<Record<string, unknown>> => [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: 'FLOAT', repetition_type: 'OPTIONAL' },
  ];
  const scalar = ['timestamp', 'frame_index', 'episode_index', 'index', 'task_index'];
  const schema = [
    { name: 'root', num_children: 2 + (hasGoal ? 1 : 0) + scalar.length },
    ...listCol(stateKey), ...listCol(actionKey), ...(hasGoal ? listCol(goalKey) : []),
    { name: 'timestamp', type: 'FLOAT', repetition_type: 'OPTIONAL' },
    { name: 'frame_index', type: 'INT64', repetition_type: 'OPTIONAL' },
    { name: 'episode_index', type: 'INT64', repetition_type: 'OPTIONAL' },
    { name: 'index', type: 'INT64', repetition_type: 'OPTIONAL' },
    { name: 'task_index', type: 'INT64', repetition_type: 'OPTIONAL' },
  ];
  const episodes: Array<{ episode_index: number; tasks: string[]; length: number }> = [];
  let begin = 0;
  for (let ep = 0; ep < ds.episodeEnds.length; ep++) {
    const end = ds.episodeEnds[ep]!;
    const len = end - begin;
    const rows = (src: Float32Array, dim: number): number[][] => Array.from({ length: len }, (_, i) => Array.from(src.subarray((begin + i) * dim, (begin + i + 1) * dim)));
    const columnData = [
      { name: stateKey, data: rows(ds.observations, S) },
      { name: actionKey, data: rows(ds.actions, A) },
      ...(hasGoal ? [{ name: goalKey, data: rows(ds.goals!, G) }] : []),
      { name: 'timestamp', data: Array.from({ length: len }, (_, i) => i / opts.fps) },
      { name: 'frame_index', data: Array.from({ length: len }, (_, i) => BigInt(i)) },
      { name: 'episode_index', data: Array.from({ length: len }, () => BigInt(ep)) },
      { name: 'index', data: Array.from({ length: len }, (_, i) => BigInt(begin + i)) },
      { name: 'task_index', data: Array.from({ length: len }, () => 0n) },
    ];
    const buf = parquetWriteBuffer({ schema: schema as never, columnData: columnData as never });
    const rel = formatPath(DEFAULT_DATA_PATH, { episode_chunk: Math.floor(ep / chunksSize), episode_index: ep });
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileAtomic(join(dir, rel), new Uint8Array(buf));
    episodes.push({ episode_index: ep, tasks: [opts.task ?? 'reach the goal'], length: len });
    begin = end;
  }
  const feat = (dim: number, names: string[] | undefined): LeRobotFeature => ({ dtype: 'float32', shape: [dim], names: names ?? Array.from({ length: dim }, (_, i) => `${i}`) });
  const info: LeRobotInfo = {
    codebase_version: 'v2.1',
    robot_type: opts.robotType ?? null,
    total_episodes: ds.episodeEnds.length,
    total_frames: ds.length,
    total_tasks: 1,
    total_chunks: Math.ceil(ds.episodeEnds.length / chunksSize),
    chunks_size: chunksSize,
    fps: opts.fps,
    splits: { train: `0:${ds.episodeEnds.length}` },
    data_path: DEFAULT_DATA_PATH,
    features: {
      [stateKey]: feat(S, ds.stateNames),
      [actionKey]: feat(A, ds.actionNames),
      ...(hasGoal ? { [goalKey]: feat(G, undefined) } : {}),
      timestamp: { dtype: 'float32', shape: [1], names: null },
      frame_index: { dtype: 'int64', shape: [1], names: null },
      episode_index: { dtype: 'int64', shape: [1], names: null },
      index: { dtype: 'int64', shape: [1], names: null },
      task_index: { dtype: 'int64', shape: [1], names: null },
    },
  };
  mkdirSync(join(dir, 'meta'), { recursive: true });
  writeFileAtomic(join(dir, 'meta', 'episodes.jsonl'), episodes.map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeFileAtomic(join(dir, 'meta', 'tasks.jsonl'), JSON.stringify({ task_index: 0, task: opts.task ?? 'reach the goal' }) + '\n');
  writeJsonAtomic(join(dir, 'meta', 'info.json'), info);
}
