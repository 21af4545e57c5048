import type { Rng } from '../util/rng.js';

/**
 * What the KDP trainer needs from a task. Windows are flat normalized vectors of `windowDim` floats;
 * the first `clampDims` entries of a window equal the first `clampDims` entries of its condition
 * (the current state) and are clamped, not generated.
 */
export interface DriftProblem {
  readonly name: string;
  readonly windowDim: number;
  readonly condDim: number;
  readonly clampDims: number;
  /** values per time step of a window (state + action), when the window is a time series (needed by --arch conv) */
  readonly stepDim?: number;
  /** window dims that form the compact key (besides the weighted condition) */
  readonly keyDims: Int32Array;
  /**
   * Dims whose drift uses their own kernel: distance = d̂_key + w·d̂_block (each normalised by its
   * mean). These are dims the key does not determine (free futures, velocities, actions) that would
   * otherwise collapse toward their mean.
   */
  readonly blocks: ReadonlyArray<{ name: string; dims: Int32Array }>;
  /**
   * Draw `Bc` conditions (rows of `cond`) and, for each, `K` positive windows (rows of `pos`, Bc×K×D)
   * with their own conditions (`posCond`, Bc×K×condDim): the K nearest dataset windows by condition
   * when `knn`, otherwise K uniformly random windows.
   */
  sample(rng: Rng, Bc: number, K: number, knn: boolean, cond: Float32Array, pos: Float32Array, posCond: Float32Array): void;
}
