import { ShapeError, DatasetError } from '../errors.js';
import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import { compileNormalizer } from './normalizer.js';
import type { TrajectoryDataset } from './dataset.js';

export interface WindowOptions {
  /** plan steps per window */
  horizon: number;
  /** env steps between consecutive plan steps (default 1) */
  frameSkip?: number;
  /** distance between consecutive window starts (default 1) */
  stride?: number;
}

/**
 * Start rows of all windows. A window covers rows start, start + frameSkip, …,
 * start + (horizon − 1)·frameSkip, and never crosses an episode boundary (episodes shorter than the
 * span contribute no window).
 */
export function makeWindowIndex(ds: TrajectoryDataset, opts: WindowOptions): Int32Array {
  const h = opts.horizon, fs = opts.frameSkip ?? 1, stride = opts.stride ?? 1;
  if (!(Number.isInteger(h) && h >= 1)) throw new ShapeError('window horizon', 'an integer ≥ 1', h);
  if (!(Number.isInteger(fs) && fs >= 1)) throw new ShapeError('window frameSkip', 'an integer ≥ 1', fs);
  if (!(Number.isInteger(stride) && stride >= 1)) throw new ShapeError('window stride', 'an integer ≥ 1', stride);
  const span = (h - 1) * fs; // last row = start + span
  let count = 0;
  let begin = 0;
  for (let k = 0; k < ds.episodeEnds.length; k++) {
    const end = ds.episodeEnds[k]!;
    const last = end - 1 - span; // largest valid start
    if (last >= begin) count += Math.floor((last - begin) / stride) + 1;
    begin = end;
  }
  const out = new Int32Array(count);
  let w = 0;
  begin = 0;
  for (let k = 0; k < ds.episodeEnds.length; k++) {
    const end = ds.episodeEnds[k]!;
    for (let s = begin; s + span < end; s += stride) out[w++] = s;
    begin = end;
  }
  return out;
}

/** Throw when a window layout does not fit the dataset (call once before the hot loop). */
export function checkLayout(ds: TrajectoryDataset, layout: WindowLayout, normalizer?: NormalizerJson): void {
  const hint = 'the checkpoint/trainer layout must match the dataset; pick the matching --env or regenerate the dataset';
  if (layout.stateDim !== ds.stateDim) throw new ShapeError('layout stateDim vs dataset', ds.stateDim, layout.stateDim, hint);
  if (layout.actionDim !== ds.actionDim) throw new ShapeError('layout actionDim vs dataset', ds.actionDim, layout.actionDim, hint);
  if (layout.goalDim > 0 && (!ds.goals || ds.goalDim !== layout.goalDim)) {
    throw new ShapeError('layout goalDim vs dataset', ds.goals ? ds.goalDim : 0, layout.goalDim, hint);
  }
  if (normalizer) {
    if (normalizer.state.shift.length !== ds.stateDim) throw new ShapeError('normalizer state dims', ds.stateDim, normalizer.state.shift.length);
    if (normalizer.action.shift.length !== ds.actionDim) throw new ShapeError('normalizer action dims', ds.actionDim, normalizer.action.shift.length);
    if (layout.goalDim > 0 && normalizer.goal.shift.length !== layout.goalDim) throw new ShapeError('normalizer goal dims', layout.goalDim, normalizer.goal.shift.length);
  }
  if (ds.length === 0) throw new DatasetError(`${ds.source} is empty`, { hint: 'generate a dataset with at least one full window' });
}

/**
 * Write the normalized window starting at row `start` in checkpoint-format layout
 * [s_0, a_0, s_1, a_1, …, s_{H−1}, a_{H−1}] into out[offset …]. Allocation-free; no validation
 * (see checkLayout); `start` must come from makeWindowIndex with the same horizon/frameSkip.
 */
export function writeWindow(ds: TrajectoryDataset, start: number, layout: WindowLayout, normalizer: NormalizerJson, out: Float32Array, offset = 0): void {
  const c = compileNormalizer(normalizer);
  const S = ds.stateDim, A = ds.actionDim, H = layout.horizon, fs = layout.frameSkip;
  const obs = ds.observations, act = ds.actions;
  const ss = c.stateShift, si = c.stateInv, as = c.actionShift, ai = c.actionInv;
  let o = offset;
  for (let k = 0; k < H; k++) {
    const row = start + k * fs;
    const ob = row * S, ab = row * A;
    for (let d = 0; d < S; d++) out[o++] = (obs[ob + d]! - ss[d]!) * si[d]!;
    for (let d = 0; d < A; d++) out[o++] = (act[ab + d]! - as[d]!) * ai[d]!;
  }
}

/**
 * Write the normalized condition [s_row, goal_row] (goal only when layout.goalDim > 0) into
 * out[offset …]. Allocation-free.
 */
export function writeCondition(ds: TrajectoryDataset, row: number, layout: WindowLayout, normalizer: NormalizerJson, out: Float32Array, offset = 0): void {
  const c = compileNormalizer(normalizer);
  const S = ds.stateDim;
  const obs = ds.observations;
  const ss = c.stateShift, si = c.stateInv;
  let o = offset;
  const ob = row * S;
  for (let d = 0; d < S; d++) out[o++] = (obs[ob + d]! - ss[d]!) * si[d]!;
  const G = layout.goalDim;
  if (G > 0 && ds.goals) {
    const g = ds.goals, gs = c.goalShift, gi = c.goalInv, gb = row * G;
    for (let d = 0; d < G; d++) out[o++] = (g[gb + d]! - gs[d]!) * gi[d]!;
  }
}

/** A WindowLayout for a dataset (names default to s0…, a0…). */
export function layoutFor(ds: TrajectoryDataset, opts: { horizon: number; frameSkip?: number; dt: number; useGoal?: boolean }): WindowLayout {
  return {
    horizon: opts.horizon,
    frameSkip: opts.frameSkip ?? 1,
    stateDim: ds.stateDim,
    actionDim: ds.actionDim,
    goalDim: opts.useGoal === false || !ds.goals ? 0 : ds.goalDim,
    dt: opts.dt,
    stateNames: ds.stateNames ?? Array.from({ length: ds.stateDim }, (_, i) => `s${i}`),
    actionNames: ds.actionNames ?? Array.from({ length: ds.actionDim }, (_, i) => `a${i}`),
  };
}
