import { DatasetError, ShapeError } from '../errors.js';

/**
 * One in-memory trajectory dataset, whatever its source (D4RL HDF5, LeRobot parquet, a simulator).
 * Arrays are row-major float32: observations N×stateDim, actions N×actionDim, goals N×goalDim.
 * Episodes are contiguous: episode k covers rows [episodeEnds[k−1] (or 0), episodeEnds[k]).
 */
export interface TrajectoryDataset {
  /** where it came from: a path, plus the format */
  source: string;
  format: 'd4rl-hdf5' | 'lerobot' | 'memory';
  stateDim: number;
  actionDim: number;
  /** 0 when the dataset has no goals */
  goalDim: number;
  /** number of rows (steps) N */
  length: number;
  observations: Float32Array;
  actions: Float32Array;
  goals?: Float32Array;
  rewards?: Float32Array;
  /** exclusive end row of each episode, strictly increasing, last = length */
  episodeEnds: Int32Array;
  /** names of the state / action dims when the source has them */
  stateNames?: string[];
  actionNames?: string[];
}

export interface ExpectedDims {
  stateDim?: number;
  actionDim?: number;
  goalDim?: number;
}

/** Throw ShapeError when the dataset's dims differ from what the env/model expects. */
export function checkDims(ds: TrajectoryDataset, expect: ExpectedDims | undefined): void {
  if (!expect) return;
  const hint = `the dataset ${ds.source} does not match the environment; regenerate it for this env or pick the matching --env`;
  if (expect.stateDim !== undefined && expect.stateDim !== ds.stateDim) throw new ShapeError('dataset state dimension', expect.stateDim, ds.stateDim, hint);
  if (expect.actionDim !== undefined && expect.actionDim !== ds.actionDim) throw new ShapeError('dataset action dimension', expect.actionDim, ds.actionDim, hint);
  if (expect.goalDim !== undefined && expect.goalDim !== ds.goalDim) throw new ShapeError('dataset goal dimension', expect.goalDim, ds.goalDim, hint);
}

/** Episode ends from per-row end flags (terminals | timeouts); a trailing unfinished episode ends at N. */
export function episodeEndsFromFlags(n: number, ...flags: Array<ArrayLike<number | boolean> | undefined>): Int32Array {
  const ends: number[] = [];
  for (let i = 0; i < n; i++) {
    let end = false;
    for (const f of flags) if (f && f[i]) { end = true; break; }
    if (end) ends.push(i + 1);
  }
  if (n > 0 && ends[ends.length - 1] !== n) ends.push(n);
  return Int32Array.from(ends);
}

/** Episode ends from a per-row episode index (LeRobot): a new episode wherever the index changes. */
export function episodeEndsFromIndex(episodeIndex: ArrayLike<number | bigint>): Int32Array {
  const n = episodeIndex.length;
  const ends: number[] = [];
  for (let i = 1; i < n; i++) if (episodeIndex[i] !== episodeIndex[i - 1]) ends.push(i);
  if (n > 0) ends.push(n);
  return Int32Array.from(ends);
}

/** Number of rows of episode k. */
export function episodeLength(ds: TrajectoryDataset, k: number): number {
  const start = k === 0 ? 0 : ds.episodeEnds[k - 1]!;
  return ds.episodeEnds[k]! - start;
}

/** Per-dimension mean and std of a row-major matrix. */
export function columnStats(x: Float32Array, dim: number): { mean: number[]; std: number[]; min: number[]; max: number[] } {
  const n = dim > 0 ? x.length / dim : 0;
  const mean = new Float64Array(dim), m2 = new Float64Array(dim);
  const min = new Array<number>(dim).fill(Infinity), max = new Array<number>(dim).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      const v = x[i * dim + d]!;
      const delta = v - mean[d]!;
      mean[d] = mean[d]! + delta / (i + 1);
      m2[d] = m2[d]! + delta * (v - mean[d]!);
      if (v < min[d]!) min[d] = v;
      if (v > max[d]!) max[d] = v;
    }
  }
  return {
    mean: Array.from(mean),
    std: Array.from(m2, (v) => (n > 0 ? Math.sqrt(v / n) : 0)),
    min, max,
  };
}

/**
 * Reject what would train silently into garbage: every array has one row per step (rewards too), the
 * episode ends are consistent, and every value is finite. The error names the key and the first bad
 * row/column, so the file can be fixed.
 */
export function validateDataset(ds: TrajectoryDataset): void {
  const n = ds.length;
  const hint = `fix or regenerate ${ds.source}: training on it would produce non-finite or misaligned plans`;
  if (!Number.isInteger(n) || n < 1) throw new DatasetError(`${ds.source}: the dataset has no rows`, { hint });
  const arrays: Array<[string, Float32Array | undefined, number]> = [
    ['observations', ds.observations, ds.stateDim], ['actions', ds.actions, ds.actionDim],
    ['goals', ds.goals, ds.goalDim], ['rewards', ds.rewards, 1],
  ];
  for (const [key, a, dim] of arrays) {
    if (!a) continue;
    if (a.length !== n * dim) throw new ShapeError(`${ds.source}: ${key} length`, `${n} rows × ${dim} = ${n * dim}`, a.length, `every key needs one row per step; ${hint}`);
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) {
        const row = Math.floor(i / dim), col = i % dim;
        throw new DatasetError(`${ds.source}: ${key} has a non-finite value (${a[i]}) at row ${row}${dim > 1 ? `, column ${col}` : ''} (first bad index ${i})`, { hint });
      }
    }
  }
  const ends = ds.episodeEnds;
  let prev = 0;
  for (let k = 0; k < ends.length; k++) {
    if (ends[k]! <= prev || ends[k]! > n) throw new DatasetError(`${ds.source}: episode ${k} ends at row ${ends[k]} (previous end ${prev}, ${n} rows)`, { hint });
    prev = ends[k]!;
  }
  if (prev !== n) throw new DatasetError(`${ds.source}: episodes cover ${prev} of ${n} rows`, { hint });
}
