/**
 * LeRobot dataset writer, codebase v3.0 layout (what LeRobot's `record` writes today):
 *   meta/info.json                                   codebase_version, fps, features (dtype/shape/names), path templates
 *   meta/stats.json                                  per feature: min, max, mean, std, count (over all frames)
 *   meta/tasks.parquet                               task_index, task
 *   meta/episodes/chunk-000/file-000.parquet         per episode: episode_index, tasks, length, data/chunk_index,
 *                                                    data/file_index, dataset_from_index, dataset_to_index, stats/…
 *   data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet
 *                                                    frames: observation.state, action, timestamp, frame_index,
 *                                                    episode_index, index, task_index
 * v3.0 packs many episodes per data file; we close a data file after every episode (each episode its own
 * file-NNN), which the format allows (the episodes metadata says where each episode lives) and which makes an
 * append a single atomic file write instead of a rewrite.
 *
 * Crash safety / resume: every file is written atomically; info.json is written last, so it is the commit
 * point. A data file past `total_episodes` (a crash between the two) is simply overwritten by the next episode.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import type { LeRobotFeature, LeRobotInfo } from './lerobot.js';

export const LEROBOT_CODEBASE_VERSION = 'v3.0';
export const LEROBOT_DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
export const LEROBOT_EPISODES_PATH = 'meta/episodes/chunk-000/file-000.parquet';
export const LEROBOT_TASKS_PATH = 'meta/tasks.parquet';
const CHUNKS_SIZE = 1000;

export interface LeRobotWriterOptions {
  fps: number;
  robotType: string;
  /** Names of the observation.state entries (also the shape). */
  stateNames: readonly string[];
  /** Names of the action entries (also the shape). */
  actionNames: readonly string[];
}

export interface EpisodeMeta {
  episode_index: number;
  tasks: string[];
  length: number;
  chunk: number;
  file: number;
  from: number;
  to: number;
  stats: Record<string, FeatureStats>;
}

/** Per-feature statistics as LeRobot stores them (arrays per dimension; count = [frames]). */
export interface FeatureStats { min: number[]; max: number[]; mean: number[]; std: number[]; count: number[] }

export interface EpisodeFrames {
  /** frames × stateDim, row-major. */
  states: Float32Array;
  /** frames × actionDim, row-major. */
  actions: Float32Array;
  task: string;
}

const fmt = (template: string, vars: Record<string, number>): string =>
  template.replace(/\{(\w+):03d\}/g, (_m, k: string) => String(vars[k] ?? 0).padStart(3, '0'));

/** Stats of a row-major matrix (float64 accumulation). */
export function featureStats(x: ArrayLike<number>, dim: number): FeatureStats {
  const n = Math.floor(x.length / dim);
  const min = new Array<number>(dim).fill(Infinity), max = new Array<number>(dim).fill(-Infinity);
  const sum = new Array<number>(dim).fill(0), sq = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      const v = x[i * dim + d]!;
      if (v < min[d]!) min[d] = v;
      if (v > max[d]!) max[d] = v;
      sum[d]! += v; sq[d]! += v * v;
    }
  }
  const mean = sum.map((s) => s / Math.max(1, n));
  const std = sq.map((s, d) => Math.sqrt(Math.max(0, s / Math.max(1, n) - mean[d]! * mean[d]!)));
  return { min, max, mean, std, count: [n] };
}

/** Combine per-episode stats (weighted means, pooled variance), as LeRobot aggregates episode stats. */
export function aggregateStats(parts: readonly FeatureStats[]): FeatureStats {
  const dim = parts[0]!.mean.length;
  const total = parts.reduce((a, p) => a + p.count[0]!, 0);
  const mean = new Array<number>(dim).fill(0), min = new Array<number>(dim).fill(Infinity), max = new Array<number>(dim).fill(-Infinity);
  for (const p of parts) for (let d = 0; d < dim; d++) {
    mean[d]! += (p.mean[d]! * p.count[0]!) / total;
    min[d] = Math.min(min[d]!, p.min[d]!); max[d] = Math.max(max[d]!, p.max[d]!);
  }
  const std = mean.map((m, d) => {
    let v = 0;
    for (const p of parts) v += p.count[0]! * (p.std[d]! ** 2 + (p.mean[d]! - m) ** 2);
    return Math.sqrt(v / total);
  });
  return { min, max, mean, std, count: [total] };
}

const list = (name: string, type: 'FLOAT' | 'DOUBLE' | 'BYTE_ARRAY' | 'INT64'): Array<Record<string, unknown>> => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type, repetition_type: 'OPTIONAL', ...(type === 'BYTE_ARRAY' ? { converted_type: 'UTF8' } : {}) },
];
const scalar = (name: string, type: 'FLOAT' | 'DOUBLE' | 'INT64' | 'BYTE_ARRAY'): Record<string, unknown> =>
  ({ name, type, repetition_type: 'OPTIONAL', ...(type === 'BYTE_ARRAY' ? { converted_type: 'UTF8' } : {}) });

async function parquet(schemaCols: Array<Record<string, unknown>>, nCols: number, columnData: Array<{ name: string; data: unknown[] }>): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const schema = [{ name: 'root', num_children: nCols }, ...schemaCols];
  return new Uint8Array(parquetWriteBuffer({ schema: schema as never, columnData: columnData as never }));
}

async function readRows(file: string): Promise<Array<Record<string, unknown>>> {
  const { parquetReadObjects } = await import('hyparquet');
  const b = readFileSync(file);
  return parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer });
}

const STAT_KEYS = ['min', 'max', 'mean', 'std', 'count'] as const;
const nums = (v: unknown): number[] => Array.from(v as ArrayLike<number | bigint>, Number);

/**
 * Appends episodes to a LeRobot v3.0 dataset folder. `open()` creates the folder or resumes an existing one
 * whose fps, robot type and features match (anything else is refused with a DatasetError saying what differs).
 */
export class LeRobotWriter {
  readonly dir: string;
  readonly info: LeRobotInfo;
  readonly episodes: EpisodeMeta[];
  readonly tasks: string[];
  /** True when open() found an existing dataset. */
  readonly resumed: boolean;

  private constructor(dir: string, info: LeRobotInfo, episodes: EpisodeMeta[], tasks: string[], resumed: boolean) {
    this.dir = dir; this.info = info; this.episodes = episodes; this.tasks = tasks; this.resumed = resumed;
  }

  get totalEpisodes(): number { return this.episodes.length; }
  get totalFrames(): number { return this.episodes.reduce((a, e) => a + e.length, 0); }

  static async open(dir: string, o: LeRobotWriterOptions): Promise<LeRobotWriter> {
    if (!Number.isFinite(o.fps) || o.fps <= 0) throw new DatasetError(`fps must be positive, got ${o.fps}`);
    const features: Record<string, LeRobotFeature> = {
      'observation.state': { dtype: 'float32', shape: [o.stateNames.length], names: [...o.stateNames] },
      action: { dtype: 'float32', shape: [o.actionNames.length], names: [...o.actionNames] },
      timestamp: { dtype: 'float32', shape: [1], names: null },
      frame_index: { dtype: 'int64', shape: [1], names: null },
      episode_index: { dtype: 'int64', shape: [1], names: null },
      index: { dtype: 'int64', shape: [1], names: null },
      task_index: { dtype: 'int64', shape: [1], names: null },
    };
    const infoPath = join(dir, 'meta', 'info.json');
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new DatasetError(`${dir} is a file, not a dataset folder`, { hint: 'give --out a new folder or an existing LeRobot dataset folder' });
    if (!existsSync(infoPath) && existsSync(dir) && readdirSync(dir).length > 0) {
      throw new DatasetError(`${dir} is not empty and is not a LeRobot dataset (no meta/info.json)`, { hint: 'give --out a new or empty folder, or an existing LeRobot dataset folder to append to' });
    }
    if (!existsSync(infoPath)) {
      const info: LeRobotInfo = {
        codebase_version: LEROBOT_CODEBASE_VERSION, robot_type: o.robotType,
        total_episodes: 0, total_frames: 0, total_tasks: 0, chunks_size: CHUNKS_SIZE,
        data_files_size_in_mb: 100, video_files_size_in_mb: 500, fps: o.fps, splits: {},
        data_path: LEROBOT_DATA_PATH, video_path: null, features,
      };
      return new LeRobotWriter(dir, info, [], [], false);
    }
    let info: LeRobotInfo;
    try { info = JSON.parse(readFileSync(infoPath, 'utf8')) as LeRobotInfo; } catch (e) {
      throw new DatasetError(`${infoPath} is not valid JSON`, { hint: 'restore meta/info.json or record into a new --out folder', cause: e });
    }
    const refuse = (what: string): never => {
      throw new DatasetError(`cannot append to ${dir}: ${what}`, { hint: 'record into a new --out folder, or use the settings the dataset was recorded with' });
    };
    if (info.codebase_version !== LEROBOT_CODEBASE_VERSION) refuse(`it is a LeRobot ${String(info.codebase_version)} dataset (this writer appends to ${LEROBOT_CODEBASE_VERSION})`);
    if (info.fps !== o.fps) refuse(`it was recorded at ${info.fps} fps, not ${o.fps}`);
    if ((info.robot_type ?? null) !== o.robotType) refuse(`its robot_type is ${JSON.stringify(info.robot_type)}, not "${o.robotType}"`);
    for (const [k, f] of Object.entries(features)) {
      const g = info.features?.[k];
      if (!g || g.dtype !== f.dtype || JSON.stringify(g.shape) !== JSON.stringify(f.shape) || JSON.stringify(g.names ?? null) !== JSON.stringify(f.names ?? null)) {
        refuse(`feature ${k} is ${JSON.stringify(g ?? 'missing')}, expected ${JSON.stringify(f)}`);
      }
    }
    const episodes: EpisodeMeta[] = [];
    const epFile = join(dir, LEROBOT_EPISODES_PATH);
    if (info.total_episodes > 0) {
      if (!existsSync(epFile)) refuse(`${LEROBOT_EPISODES_PATH} is missing`);
      for (const r of await readRows(epFile)) {
        const stats: Record<string, FeatureStats> = {};
        for (const k of ['observation.state', 'action']) {
          stats[k] = Object.fromEntries(STAT_KEYS.map((s) => [s, nums(r[`stats/${k}/${s}`])])) as unknown as FeatureStats;
        }
        episodes.push({
          episode_index: Number(r.episode_index), tasks: (r.tasks as string[]).map(String), length: Number(r.length),
          chunk: Number(r['data/chunk_index']), file: Number(r['data/file_index']),
          from: Number(r.dataset_from_index), to: Number(r.dataset_to_index), stats,
        });
      }
      // rows past total_episodes belong to an append that never reached its commit point (info.json)
      episodes.length = Math.min(episodes.length, info.total_episodes);
      if (episodes.length !== info.total_episodes) refuse(`meta/info.json says ${info.total_episodes} episodes but ${LEROBOT_EPISODES_PATH} lists ${episodes.length}`);
    }
    const tasks: string[] = [];
    const tasksFile = join(dir, LEROBOT_TASKS_PATH);
    if (existsSync(tasksFile)) {
      for (const r of await readRows(tasksFile)) tasks[Number(r.task_index)] = String(r.task);
    }
    return new LeRobotWriter(dir, info, episodes, tasks, true);
  }

  /** Write one episode (data file, episodes metadata, tasks, stats, then info.json). Returns its index. */
  async addEpisode(ep: EpisodeFrames): Promise<number> {
    const S = this.info.features['observation.state']!.shape[0]!, A = this.info.features.action!.shape[0]!;
    const n = ep.states.length / S;
    if (!Number.isInteger(n) || n < 1 || ep.actions.length !== n * A) {
      throw new DatasetError(`an episode needs ≥ 1 frame with ${S} state and ${A} action values per frame (got ${ep.states.length} and ${ep.actions.length} values)`);
    }
    const epIndex = this.episodes.length;
    let taskIndex = this.tasks.indexOf(ep.task);
    if (taskIndex < 0) { taskIndex = this.tasks.length; this.tasks.push(ep.task); }
    const from = this.totalFrames;
    const chunk = Math.floor(epIndex / CHUNKS_SIZE), file = epIndex % CHUNKS_SIZE;
    const rows = (src: Float32Array, d: number): number[][] => Array.from({ length: n }, (_, i) => Array.from(src.subarray(i * d, (i + 1) * d)));
    const fps = this.info.fps;
    const data = await parquet([
      ...list('observation.state', 'FLOAT'), ...list('action', 'FLOAT'),
      scalar('timestamp', 'FLOAT'), scalar('frame_index', 'INT64'), scalar('episode_index', 'INT64'), scalar('index', 'INT64'), scalar('task_index', 'INT64'),
    ], 7, [
      { name: 'observation.state', data: rows(ep.states, S) },
      { name: 'action', data: rows(ep.actions, A) },
      { name: 'timestamp', data: Array.from({ length: n }, (_, i) => i / fps) },
      { name: 'frame_index', data: Array.from({ length: n }, (_, i) => BigInt(i)) },
      { name: 'episode_index', data: Array.from({ length: n }, () => BigInt(epIndex)) },
      { name: 'index', data: Array.from({ length: n }, (_, i) => BigInt(from + i)) },
      { name: 'task_index', data: Array.from({ length: n }, () => BigInt(taskIndex)) },
    ]);
    const rel = fmt(LEROBOT_DATA_PATH, { chunk_index: chunk, file_index: file });
    mkdirSync(join(this.dir, rel, '..'), { recursive: true });
    writeFileAtomic(join(this.dir, rel), data);

    this.episodes.push({
      episode_index: epIndex, tasks: [ep.task], length: n, chunk, file, from, to: from + n,
      stats: { 'observation.state': featureStats(ep.states, S), action: featureStats(ep.actions, A) },
    });
    await this.writeMeta();
    return epIndex;
  }

  private async writeMeta(): Promise<void> {
    const E = this.episodes;
    const statCols = ['observation.state', 'action'].flatMap((k) => STAT_KEYS.map((s) => `stats/${k}/${s}`));
    const episodesPq = await parquet([
      scalar('episode_index', 'INT64'), ...list('tasks', 'BYTE_ARRAY'), scalar('length', 'INT64'),
      scalar('data/chunk_index', 'INT64'), scalar('data/file_index', 'INT64'),
      scalar('dataset_from_index', 'INT64'), scalar('dataset_to_index', 'INT64'),
      scalar('meta/episodes/chunk_index', 'INT64'), scalar('meta/episodes/file_index', 'INT64'),
      ...statCols.flatMap((c) => list(c, 'DOUBLE')),
    ], 9 + statCols.length, [
      { name: 'episode_index', data: E.map((e) => BigInt(e.episode_index)) },
      { name: 'tasks', data: E.map((e) => e.tasks) },
      { name: 'length', data: E.map((e) => BigInt(e.length)) },
      { name: 'data/chunk_index', data: E.map((e) => BigInt(e.chunk)) },
      { name: 'data/file_index', data: E.map((e) => BigInt(e.file)) },
      { name: 'dataset_from_index', data: E.map((e) => BigInt(e.from)) },
      { name: 'dataset_to_index', data: E.map((e) => BigInt(e.to)) },
      { name: 'meta/episodes/chunk_index', data: E.map(() => 0n) },
      { name: 'meta/episodes/file_index', data: E.map(() => 0n) },
      ...statCols.map((c) => {
        const [, k, s] = c.split('/') as [string, string, (typeof STAT_KEYS)[number]];
        return { name: c, data: E.map((e) => e.stats[k]![s]) };
      }),
    ]);
    const tasksPq = await parquet([scalar('task_index', 'INT64'), scalar('task', 'BYTE_ARRAY')], 2, [
      { name: 'task_index', data: this.tasks.map((_, i) => BigInt(i)) },
      { name: 'task', data: this.tasks },
    ]);
    const stats = Object.fromEntries(['observation.state', 'action'].map((k) => [k, aggregateStats(E.map((e) => e.stats[k]!))]));
    mkdirSync(join(this.dir, 'meta', 'episodes', 'chunk-000'), { recursive: true });
    writeFileAtomic(join(this.dir, LEROBOT_EPISODES_PATH), episodesPq);
    writeFileAtomic(join(this.dir, LEROBOT_TASKS_PATH), tasksPq);
    writeJsonAtomic(join(this.dir, 'meta', 'stats.json'), stats);
    const info = this.info;
    info.total_episodes = E.length;
    info.total_frames = this.totalFrames;
    info.total_tasks = this.tasks.length;
    info.splits = { train: `0:${E.length}` };
    // the commit point: written last
    writeJsonAtomic(join(this.dir, 'meta', 'info.json'), info);
  }
}
