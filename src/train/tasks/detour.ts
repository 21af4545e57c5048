import { KdTree } from '../knn.js';
import type { DriftProblem } from '../problem.js';
import { Rng } from '../../util/rng.js';

/**
 * The built-in multimodal conditional task of the mode benchmark: starts in a region left of a disc
 * obstacle, a goal to its right, and demonstrations that detour above or below it (50/50). Each
 * window is H xy waypoints (waypoint 0 = the start = the condition) followed by U "nuisance" future
 * dims — a random walk independent of the condition — where the naive objective's failure shows.
 */
export interface DetourOptions {
  horizon: number;
  nuisance: number;
  trajectories: number;
  seed: number;
}

export const DETOUR_GOAL = [1, 0] as const;
export const DETOUR_OBSTACLE = { x: 0, y: 0, r: 0.3 } as const;

export function sampleStart(rng: Rng, out: Float32Array, off: number): void {
  out[off] = rng.range(-1, -0.6);
  out[off + 1] = rng.range(-0.4, 0.4);
}

/** Dataset windows (N × (2H + U)). */
export function makeDetourData(o: DetourOptions): Float32Array {
  const D = 2 * o.horizon + o.nuisance;
  const rng = new Rng(o.seed);
  const out = new Float32Array(o.trajectories * D);
  const start = new Float32Array(2);
  let n = 0;
  while (n < o.trajectories) {
    sampleStart(rng, start, 0);
    const sx = start[0]!, sy = start[1]!;
    const up = rng.uniform() < 0.5 ? 1 : -1;
    const vx = rng.range(-0.15, 0.15), vy = up * rng.range(0.45, 0.65);
    // quadratic Bézier through the via point at t = ½
    const cx = 2 * vx - 0.5 * (sx + DETOUR_GOAL[0]), cy = 2 * vy - 0.5 * (sy + DETOUR_GOAL[1]);
    const amp = [1, 2, 3].map((k) => [rng.range(-1, 1) * 0.02 / k, rng.range(-1, 1) * 0.02 / k]);
    const row = n * D;
    let hit = false;
    for (let t = 0; t < o.horizon; t++) {
      const u = t / (o.horizon - 1);
      let x = (1 - u) ** 2 * sx + 2 * u * (1 - u) * cx + u * u * DETOUR_GOAL[0];
      let y = (1 - u) ** 2 * sy + 2 * u * (1 - u) * cy + u * u * DETOUR_GOAL[1];
      if (t > 0 && t < o.horizon - 1) {
        for (let k = 0; k < 3; k++) { const s = Math.sin((k + 1) * Math.PI * u); x += amp[k]![0]! * s; y += amp[k]![1]! * s; }
        x += 0.005 * rng.normal(); y += 0.005 * rng.normal();
      }
      out[row + 2 * t] = x; out[row + 2 * t + 1] = y;
    }
    if (polylineHitsDisc(out, row, o.horizon)) hit = true;
    if (hit) continue;
    let walk = 0;
    for (let u = 0; u < o.nuisance; u++) { walk += 0.15 * rng.normal(); out[row + 2 * o.horizon + u] = walk; }
    n++;
  }
  return out;
}

/** Does the densified xy polyline (H waypoints at `row`) enter the obstacle disc? */
export function polylineHitsDisc(w: ArrayLike<number>, row: number, horizon: number, steps = 8): boolean {
  const { x: ox, y: oy, r } = DETOUR_OBSTACLE;
  for (let t = 0; t + 1 < horizon; t++) {
    const x0 = w[row + 2 * t]!, y0 = w[row + 2 * t + 1]!, x1 = w[row + 2 * t + 2]!, y1 = w[row + 2 * t + 3]!;
    for (let s = 0; s <= steps; s++) {
      const a = s / steps;
      const x = x0 + a * (x1 - x0), y = y0 + a * (y1 - y0);
      if ((x - ox) ** 2 + (y - oy) ** 2 < r * r) return true;
    }
  }
  return false;
}

export class DetourProblem implements DriftProblem {
  readonly name = 'detour';
  readonly windowDim: number;
  readonly condDim = 2;
  readonly clampDims = 2;
  readonly keyDims: Int32Array;
  readonly blocks: Array<{ name: string; dims: Int32Array }>;
  readonly data: Float32Array;
  readonly count: number;
  private readonly starts: Float32Array;
  private readonly tree: KdTree;
  private readonly nbr = new Int32Array(1024);

  constructor(readonly opts: DetourOptions, keyWaypoints = 4) {
    const H = opts.horizon;
    this.windowDim = 2 * H + opts.nuisance;
    this.data = makeDetourData(opts);
    this.count = opts.trajectories;
    this.starts = new Float32Array(this.count * 2);
    for (let i = 0; i < this.count; i++) { this.starts[2 * i] = this.data[i * this.windowDim]!; this.starts[2 * i + 1] = this.data[i * this.windowDim + 1]!; }
    this.tree = new KdTree(this.starts, 2, 16, 1024);
    // key: P evenly spaced future waypoints (xy), e.g. t = 4, 8, 12, 15 for H = 16
    const ts = Array.from({ length: keyWaypoints }, (_, i) => Math.round(((i + 1) * (H - 1)) / keyWaypoints));
    this.keyDims = Int32Array.from(ts.flatMap((t) => [2 * t, 2 * t + 1]));
    this.blocks = opts.nuisance > 0 ? [{ name: 'nuisance', dims: Int32Array.from({ length: opts.nuisance }, (_, u) => 2 * H + u) }] : [];
  }

  sample(rng: Rng, Bc: number, K: number, knn: boolean, cond: Float32Array, pos: Float32Array, posCond: Float32Array): void {
    const D = this.windowDim;
    for (let g = 0; g < Bc; g++) {
      const src = rng.int(this.count);
      cond[2 * g] = this.starts[2 * src]!; cond[2 * g + 1] = this.starts[2 * src + 1]!;
      if (knn) this.tree.query(cond, 2 * g, K, this.nbr);
      for (let k = 0; k < K; k++) {
        const i = knn ? this.nbr[k]! : rng.int(this.count);
        pos.set(this.data.subarray(i * D, (i + 1) * D), (g * K + k) * D);
        posCond[(g * K + k) * 2] = this.starts[2 * i]!; posCond[(g * K + k) * 2 + 1] = this.starts[2 * i + 1]!;
      }
    }
  }
}
