import type { TrajectoryDataset } from '../../data/dataset.js';
import { compileNormalizer, type CompiledNormalizer } from '../../data/normalizer.js';
import { makeWindowIndex, writeCondition, writeWindow } from '../../data/windows.js';
import { DatasetError } from '../../errors.js';
import type { NormalizerJson, WindowLayout } from '../../model/checkpoint-format.js';
import { conditionDim, windowDim } from '../../model/checkpoint-format.js';
import type { Rng } from '../../util/rng.js';
import { KdTree } from '../knn.js';
import type { DriftProblem } from '../problem.js';

export interface DatasetProblemOptions {
  /** state dims used as plan keys (positions); default: all state dims */
  keyStateDims?: number[];
  /** plan steps sampled into the key */
  keyWaypoints?: number;
  /** distance between window starts */
  windowStride?: number;
  /** cap on windows indexed (subsampled evenly) to bound memory on very large datasets */
  maxWindows?: number;
  /**
   * Let windows run past the end of their episode, padded with the final state at rest (zero
   * velocity dims, zero action). Goal-reaching data (D4RL Maze2D) ends each episode the moment the
   * goal is reached, so without padding no window would show arriving and staying.
   */
  padEnd?: boolean;
  /** state dims zeroed in the padding (velocities) */
  velocityDims?: number[];
}

/**
 * Windows of a trajectory dataset as a drift problem: conditions [s_t, goal] of every window start
 * go into a k-d tree, so positives are the K windows whose start condition is nearest.
 */
export class DatasetProblem implements DriftProblem {
  readonly name: string;
  readonly windowDim: number;
  readonly condDim: number;
  readonly clampDims: number;
  readonly stepDim: number;
  readonly keyDims: Int32Array;
  readonly blocks: Array<{ name: string; dims: Int32Array }>;
  readonly starts: Int32Array;
  /** normalized conditions of every window (starts.length × condDim) */
  readonly conds: Float32Array;
  private readonly tree: KdTree;
  private readonly nbr: Int32Array;
  private readonly padEnd: boolean;
  private readonly velocityDims: number[];
  private readonly norm: CompiledNormalizer;
  /** exclusive end row of the episode each row belongs to */
  private readonly episodeEndOf: Int32Array;

  constructor(readonly ds: TrajectoryDataset, readonly layout: WindowLayout, readonly normalizer: NormalizerJson, opts: DatasetProblemOptions = {}) {
    this.name = ds.source;
    this.windowDim = windowDim(layout);
    this.condDim = conditionDim(layout);
    this.clampDims = layout.stateDim;
    this.stepDim = layout.stateDim + layout.actionDim;
    this.padEnd = opts.padEnd ?? false;
    this.velocityDims = opts.velocityDims ?? [];
    this.norm = compileNormalizer(normalizer);
    this.episodeEndOf = new Int32Array(ds.length);
    for (let k = 0, begin = 0; k < ds.episodeEnds.length; k++) {
      const end = ds.episodeEnds[k]!;
      this.episodeEndOf.fill(end, begin, end);
      begin = end;
    }
    let starts = this.padEnd
      ? makeWindowIndex(ds, { horizon: 1, stride: opts.windowStride ?? 1 })
      : makeWindowIndex(ds, { horizon: layout.horizon, frameSkip: layout.frameSkip, stride: opts.windowStride ?? 1 });
    if (starts.length === 0) {
      throw new DatasetError(`${ds.source} has no complete window of ${layout.horizon} plan steps × frame skip ${layout.frameSkip}`, { hint: 'use a smaller --horizon or --frame-skip, or a dataset with longer episodes' });
    }
    const cap = opts.maxWindows ?? 2_000_000;
    if (starts.length > cap) {
      const step = starts.length / cap;
      starts = Int32Array.from({ length: cap }, (_, i) => starts[Math.floor(i * step)]!);
    }
    this.starts = starts;
    this.conds = new Float32Array(starts.length * this.condDim);
    for (let i = 0; i < starts.length; i++) writeCondition(ds, starts[i]!, layout, normalizer, this.conds, i * this.condDim);
    this.tree = new KdTree(this.conds, this.condDim, 16, 1024);
    this.nbr = new Int32Array(1024);
    const S = layout.stateDim, A = layout.actionDim, H = layout.horizon, step = S + A;
    const keyState = opts.keyStateDims ?? Array.from({ length: S }, (_, i) => i);
    const P = Math.min(opts.keyWaypoints ?? 4, H - 1);
    const ts = Array.from({ length: P }, (_, i) => Math.round(((i + 1) * (H - 1)) / P));
    this.keyDims = Int32Array.from(ts.flatMap((t) => keyState.map((d) => t * step + d)));
    // everything the key does not pin down (other state dims, actions) drifts with its own block kernel
    const keySet = new Set(keyState);
    const free: number[] = [];
    for (let t = 0; t < H; t++) {
      for (let d = 0; d < step; d++) {
        if (t === 0 && d < S) continue; // clamped
        if (d < S && keySet.has(d)) continue; // positions: governed by the key kernel
        free.push(t * step + d);
      }
    }
    this.blocks = free.length > 0 ? [{ name: 'dynamics', dims: Int32Array.from(free) }] : [];
  }

  sample(rng: Rng, Bc: number, K: number, knn: boolean, cond: Float32Array, pos: Float32Array, posCond: Float32Array): void {
    const { ds, layout, normalizer, starts, conds, condDim: dc, windowDim: D } = this;
    const n = starts.length;
    for (let g = 0; g < Bc; g++) {
      const w = rng.int(n);
      for (let j = 0; j < dc; j++) cond[g * dc + j] = conds[w * dc + j]!;
      const got = knn ? this.tree.query(conds, w * dc, K, this.nbr) : K;
      for (let k = 0; k < K; k++) {
        const i = knn ? this.nbr[k % got]! : rng.int(n);
        this.window(starts[i]!, pos, (g * K + k) * D);
        for (let j = 0; j < dc; j++) posCond[(g * K + k) * dc + j] = conds[i * dc + j]!;
      }
    }
  }

  /** Normalized window at dataset row `start` into out[offset…] (padded past the episode end if enabled). */
  window(start: number, out: Float32Array, offset: number): void {
    const { ds, layout } = this;
    const H = layout.horizon, fs = layout.frameSkip;
    const end = this.episodeEndOf[start]!;
    if (!this.padEnd || start + (H - 1) * fs < end) {
      writeWindow(ds, start, layout, this.normalizer, out, offset);
      return;
    }
    const S = ds.stateDim, A = ds.actionDim, c = this.norm;
    let o = offset;
    for (let t = 0; t < H; t++) {
      const row = start + t * fs;
      const padded = row >= end;
      const r = padded ? end - 1 : row;
      for (let d = 0; d < S; d++) {
        const v = padded && this.velocityDims.includes(d) ? 0 : ds.observations[r * S + d]!;
        out[o++] = (v - c.stateShift[d]!) * c.stateInv[d]!;
      }
      for (let d = 0; d < A; d++) out[o++] = ((padded ? 0 : ds.actions[r * A + d]!) - c.actionShift[d]!) * c.actionInv[d]!;
    }
  }

  /** `n` conditions drawn evenly from the dataset (for int8 calibration). */
  calibrationConditions(n: number): Float32Array {
    const dc = this.condDim;
    const out = new Float32Array(n * dc);
    const step = this.starts.length / n;
    for (let i = 0; i < n; i++) out.set(this.conds.subarray(Math.floor(i * step) * dc, (Math.floor(i * step) + 1) * dc), i * dc);
    return out;
  }
}
