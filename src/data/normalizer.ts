import type { NormalizerJson } from '../model/checkpoint-format.js';
import { columnStats } from './dataset.js';
import type { TrajectoryDataset } from './dataset.js';

/** Scales below this are treated as constant dimensions and get scale 1 (no blow-up). */
export const MIN_SCALE = 1e-6;

export interface AffinePart { shift: number[]; scale: number[] }

function fitPart(x: Float32Array | undefined, dim: number, kind: 'zscore' | 'minmax'): AffinePart {
  if (!x || dim === 0) return { shift: [], scale: [] };
  const st = columnStats(x, dim);
  const shift: number[] = [], scale: number[] = [];
  for (let d = 0; d < dim; d++) {
    let sh: number, sc: number;
    if (kind === 'zscore') { sh = st.mean[d]!; sc = st.std[d]!; } else { sh = (st.max[d]! + st.min[d]!) / 2; sc = (st.max[d]! - st.min[d]!) / 2; }
    if (!Number.isFinite(sh)) sh = 0;
    if (!Number.isFinite(sc) || sc < MIN_SCALE) sc = 1;
    shift.push(sh);
    scale.push(sc);
  }
  return { shift, scale };
}

/**
 * Per-dimension affine normalizer fitted on the whole dataset: z-score (mean/std) or min-max
 * (to [−1, 1]). Zero-spread dimensions get scale 1. Saved with every checkpoint.
 */
export function fitNormalizer(ds: TrajectoryDataset, kind: 'zscore' | 'minmax'): NormalizerJson {
  return {
    kind,
    state: fitPart(ds.observations, ds.stateDim, kind),
    action: fitPart(ds.actions, ds.actionDim, kind),
    goal: fitPart(ds.goals, ds.goals ? ds.goalDim : 0, kind),
  };
}

/** A normalizer in typed arrays (inverse scales precomputed) for the hot paths. */
export interface CompiledNormalizer {
  json: NormalizerJson;
  stateShift: Float64Array; stateInv: Float64Array;
  actionShift: Float64Array; actionInv: Float64Array;
  goalShift: Float64Array; goalInv: Float64Array;
}

const compiledCache = new WeakMap<NormalizerJson, CompiledNormalizer>();

export function compileNormalizer(n: NormalizerJson): CompiledNormalizer {
  const hit = compiledCache.get(n);
  if (hit) return hit;
  const inv = (s: number[]): Float64Array => Float64Array.from(s, (v) => 1 / v);
  const c: CompiledNormalizer = {
    json: n,
    stateShift: Float64Array.from(n.state.shift), stateInv: inv(n.state.scale),
    actionShift: Float64Array.from(n.action.shift), actionInv: inv(n.action.scale),
    goalShift: Float64Array.from(n.goal.shift), goalInv: inv(n.goal.scale),
  };
  compiledCache.set(n, c);
  return c;
}

/** out[offset + d] = (x[xOffset + d] − shift[d]) / scale[d] for d < dim (= shift.length). */
export function normalizeInto(x: ArrayLike<number>, part: AffinePart, out: Float32Array | Float64Array, offset = 0, xOffset = 0): void {
  const dim = part.shift.length;
  for (let d = 0; d < dim; d++) out[offset + d] = (x[xOffset + d]! - part.shift[d]!) / part.scale[d]!;
}

/** out[offset + d] = x[xOffset + d] · scale[d] + shift[d]. */
export function unnormalizeInto(x: ArrayLike<number>, part: AffinePart, out: Float32Array | Float64Array, offset = 0, xOffset = 0): void {
  const dim = part.shift.length;
  for (let d = 0; d < dim; d++) out[offset + d] = x[xOffset + d]! * part.scale[d]! + part.shift[d]!;
}

/**
 * Unnormalize a whole window in place-layout: [s_0, a_0, s_1, a_1, ...] (H steps) from `x` into `out`.
 * Use it on generator outputs (after putting s_0 back in front).
 */
export function unnormalizeWindowInto(x: ArrayLike<number>, horizon: number, n: NormalizerJson, out: Float32Array | Float64Array): void {
  const S = n.state.shift.length, A = n.action.shift.length, W = S + A;
  for (let k = 0; k < horizon; k++) {
    unnormalizeInto(x, n.state, out, k * W, k * W);
    unnormalizeInto(x, n.action, out, k * W + S, k * W + S);
  }
}
