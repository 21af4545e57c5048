import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DatasetError, ShapeError } from '../errors.js';
import { ensureDir, writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import { checkDims, episodeEndsFromIndex, validateDataset } from './dataset.js';
import { checkContainedFile, readRegularFile, SafeReadError } from '../util/safe-read.js';
import { decodeParquetColumns, type ParquetLimits } from './parquet-decode.js';
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

/** caps on what an info.json can make the loader do before the data itself says otherwise */
export const LEROBOT_LIMITS = { maxEpisodes: 100_000, maxTotalRows: 20_000_000, maxEpisodeFileBytes: 256 * 1024 * 1024, maxTotalBytes: 2 * 1024 * 1024 * 1024, maxInfoBytes: 4 * 1024 * 1024 };

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
    const rel = relative(dir, f);
    let b: Uint8Array;
    try {
      b = readRegularFile(checkContainedFile(dir, rel, { maxBytes: LEROBOT_LIMITS.maxEpisodeFileBytes }).real, LEROBOT_LIMITS.maxEpisodeFileBytes);
    } catch (e) {
      if (e instanceof SafeReadError) throw new DatasetError(`${rel}: ${e.message}`, { hint: 'episodes metadata must be regular files inside the dataset folder' });
      throw e;
    }
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, columns: ['data/chunk_index', 'data/file_index'] });
    } catch (e) {
      throw new DatasetError(`${relative(dir, f)}: not a readable episodes metadata file (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, { hint: 're-download or re-record the dataset', cause: e });
    }
    for (const r of rows) {
      if (Number.isInteger(info.total_episodes) && seen >= info.total_episodes) break;
      if (seen >= LEROBOT_LIMITS.maxEpisodes) throw new DatasetError(`${dir}: more than ${LEROBOT_LIMITS.maxEpisodes} episodes in meta/episodes`);
      seen++;
      // relative to the dataset folder: checked for containment when read, like v2 episode files
      const p = formatPath(template, { chunk_index: Number(r['data/chunk_index']), file_index: Number(r['data/file_index']) });
      if (files[files.length - 1] !== p && !files.includes(p)) files.push(p);
    }
  }
  return files;
}

/** Episode files as paths relative to `dir` (checked for containment when read). */
async function dataFiles(dir: string, info: LeRobotInfo): Promise<string[]> {
  const files: string[] = [];
  const template = typeof info.data_path === 'string' ? info.data_path : DEFAULT_DATA_PATH;
  if (template.includes('{file_index')) return dataFilesV3(dir, info, template);
  const chunk = Number.isInteger(info.chunks_size) && info.chunks_size > 0 ? info.chunks_size : 1000;
  if (info.total_episodes !== undefined && info.total_episodes !== null) {
    if (!Number.isInteger(info.total_episodes) || info.total_episodes < 1 || info.total_episodes > LEROBOT_LIMITS.maxEpisodes) {
      throw new DatasetError(`${join(dir, 'meta', 'info.json')}: total_episodes ${JSON.stringify(info.total_episodes)} is not an integer in 1…${LEROBOT_LIMITS.maxEpisodes}`,
        { hint: 'restore meta/info.json from the original dataset' });
    }
    for (let ep = 0; ep < info.total_episodes; ep++) {
      files.push(formatPath(template, { episode_chunk: Math.floor(ep / chunk), episode_index: ep }));
    }
    return files;
  }
  // no episode count: take every parquet file under data/, sorted
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.parquet')) files.push(relative(dir, p));
      if (files.length > LEROBOT_LIMITS.maxEpisodes) throw new DatasetError(`${dir}: more than ${LEROBOT_LIMITS.maxEpisodes} episode files under data/`);
    }
  };
  walk(join(dir, 'data'));
  return files;
}

/** Load a LeRobot dataset folder into a TrajectoryDataset (episode ends from episode_index). */
export async function loadLeRobot(dir: string, opts: LeRobotKeys & { expect?: ExpectedDims; parquet?: ParquetLimits } = {}): Promise<TrajectoryDataset> {
  const stateKey = opts.stateKey ?? 'observation.state';
  const actionKey = opts.actionKey ?? 'action';
  const goalKey = opts.goalKey ?? 'observation.goal';
  const infoPath = join(dir, 'meta', 'info.json');
  if (!existsSync(dir)) throw new DatasetError(`dataset folder not found: ${dir}`, { hint: 'check the path of the LeRobot dataset (the folder that holds meta/ and data/)' });
  if (!existsSync(infoPath)) throw new DatasetError(`${dir} is not a LeRobot dataset: ${infoPath} is missing`, { hint: 'a LeRobot dataset folder has meta/info.json and data/chunk-XXX/episode_XXXXXX.parquet' });
  let info: LeRobotInfo;
  try {
    const c = checkContainedFile(dir, 'meta/info.json', { maxBytes: LEROBOT_LIMITS.maxInfoBytes });
    info = JSON.parse(Buffer.from(readRegularFile(c.real, LEROBOT_LIMITS.maxInfoBytes)).toString('utf8')) as LeRobotInfo;
  } catch (e) {
    if (e instanceof SafeReadError) throw new DatasetError(`${infoPath}: ${e.message}`, { hint: 'meta/info.json must be a regular JSON file inside the dataset folder' });
    throw new DatasetError(`${infoPath} is not valid JSON`, { hint: 'restore meta/info.json from the original dataset', cause: e });
  }
  if (info === null || typeof info !== 'object' || Array.isArray(info)) {
    throw new DatasetError(`${infoPath} is ${info === null ? 'null' : Array.isArray(info) ? 'an array' : typeof info}, not a JSON object`, { hint: 'restore meta/info.json from the original dataset' });
  }
  if (info.features !== undefined && (info.features === null || typeof info.features !== 'object')) {
    throw new DatasetError(`${infoPath}: "features" is not an object`, { hint: 'restore meta/info.json from the original dataset' });
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

  const parts: Array<{ n: number; flat: Float32Array[]; episodeIndex: Float64Array }> = [];
  let totalRows = 0;
  let totalBytes = 0;
  for (const rel of files) {
    const file = join(dir, rel);
    let b: Uint8Array;
    try {
      b = readRegularFile(checkContainedFile(dir, rel, { maxBytes: LEROBOT_LIMITS.maxEpisodeFileBytes }).real, LEROBOT_LIMITS.maxEpisodeFileBytes);
    } catch (e) {
      if (!(e instanceof SafeReadError)) throw e;
      if (e.problem === 'missing') throw new DatasetError(`missing episode file ${rel} in ${dir}`, { hint: 'meta/info.json lists more episodes than data/ holds: re-download or re-record the dataset' });
      throw new DatasetError(`episode file ${JSON.stringify(rel)} of ${dir}: ${e.message}`, { hint: 'data_path in meta/info.json must name regular files inside the dataset folder' });
    }
    totalBytes += b.length;
    if (totalBytes > LEROBOT_LIMITS.maxTotalBytes) throw new DatasetError(`${dir}: episode files exceed ${LEROBOT_LIMITS.maxTotalBytes} bytes`, { hint: 'split the dataset' });
    const columns = [stateKey, actionKey, ...(gf ? [goalKey] : [])];
    const dims = [stateDim, actionDim, ...(gf ? [goalDim] : [])];
    const part = await decodeParquetColumns(b, columns, dims, relative(dir, file), opts.parquet);
    totalRows += part.n;
    if (totalRows > LEROBOT_LIMITS.maxTotalRows) throw new DatasetError(`${dir}: more than ${LEROBOT_LIMITS.maxTotalRows} frames`, { hint: 'split the dataset' });
    parts.push(part);
  }
  const cat = (c: number, d: number): Float32Array => {
    const out = new Float32Array(totalRows * d);
    let at = 0;
    for (const p of parts) { out.set(p.flat[c]!, at); at += p.n * d; }
    return out;
  };
  const epi = new Float64Array(totalRows);
  { let at = 0; for (const p of parts) { epi.set(p.episodeIndex, at); at += p.n; } }
  const obs = cat(0, stateDim), act = cat(1, actionDim), goal = gf ? cat(2, goalDim) : undefined;
  const n = epi.length;
  const ds: TrajectoryDataset = {
    source: dir,
    format: 'lerobot',
    stateDim, actionDim, goalDim,
    length: n,
    observations: obs,
    actions: act,
    episodeEnds: episodeEndsFromIndex(epi),
  };
  if (goal) ds.goals = goal;
  if (Array.isArray(sf.names)) ds.stateNames = sf.names.map(String);
  if (Array.isArray(af.names)) ds.actionNames = af.names.map(String);
  checkDims(ds, opts.expect);
  validateDataset(ds);
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
    ensureDir(join(dir, rel, '..'));
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
  ensureDir(join(dir, 'meta'));
  writeFileAtomic(join(dir, 'meta', 'episodes.jsonl'), episodes.map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeFileAtomic(join(dir, 'meta', 'tasks.jsonl'), JSON.stringify({ task_index: 0, task: opts.task ?? 'reach the goal' }) + '\n');
  writeJsonAtomic(join(dir, 'meta', 'info.json'), info);
}
