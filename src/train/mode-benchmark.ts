import { EventLoopYield } from '../util/yield.js';
import { Rng } from '../util/rng.js';
import { DEFAULT_KDP_CONFIG, KdpTrainer, type KdpConfig, type KeyVariant } from './kdp-trainer.js';
import { DETOUR_GOAL, DetourProblem, polylineHitsDisc, sampleStart } from './tasks/detour.js';

export type ModeVariant = KeyVariant | 'no-repulsion';
export const MODE_VARIANTS: readonly ModeVariant[] = ['keyed', 'full', 'condition', 'no-repulsion'];

export interface ModeMetrics {
  /** fraction of held-out conditions where both detours appear with ≥ 20% share */
  modeCoverage: number;
  /** fraction of plans whose polyline enters the obstacle (mode averaging) */
  collisionRate: number;
  startError: number;
  goalError: number;
  /** mean pairwise L2 distance between a condition's xy plans */
  diversity: number;
  /** generated/data std of the dims outside the key (nuisance dims when U > 0); 1.0 is ideal */
  nuisanceSpread: number;
  pathLength: number;
  trainSeconds: number;
  steps: number;
}

export interface ModeBenchmarkOptions {
  horizon: number;
  nuisance: number;
  steps: number;
  seed: number;
  trajectories: number;
  evalConditions: number;
  samplesPerCondition: number;
  variants: readonly ModeVariant[];
  /** overrides for the trainer config (e.g. blockWeight sweeps) */
  config?: Partial<KdpConfig>;
  onProgress?: (variant: ModeVariant, step: number, total: number, loss: number) => void;
  /** keep the plans of this many held-out conditions per variant (for plots) */
  keepSamples?: number;
  /** stop at the next yield (≤ 50 ms); the variants finished so far are returned, `interrupted` is set */
  signal?: AbortSignal;
}

export const DEFAULT_MODE_OPTIONS: ModeBenchmarkOptions = {
  horizon: 16, nuisance: 64, steps: 3000, seed: 0, trajectories: 20000, evalConditions: 200, samplesPerCondition: 32,
  variants: MODE_VARIANTS,
};

export function variantConfig(v: ModeVariant, base: KdpConfig): KdpConfig {
  if (v === 'no-repulsion') return { ...base, key: 'keyed', repulsion: false };
  return { ...base, key: v, repulsion: true };
}

export interface ModeBenchmarkResult {
  /** the variants that finished (all of them unless interrupted) */
  variants: Record<string, ModeMetrics>;
  /** set when `signal` aborted the run: the variant that was cut short (its metrics are not in `variants`) */
  interrupted?: { variant: ModeVariant; step: number };
  options: Omit<ModeBenchmarkOptions, 'onProgress' | 'config'>;
  /** per variant: kept conditions × samples × H × [x, y] */
  samples: Record<string, number[][][][]>;
}

export async function runModeBenchmark(o: ModeBenchmarkOptions): Promise<ModeBenchmarkResult> {
  const problem = new DetourProblem({ horizon: o.horizon, nuisance: o.nuisance, trajectories: o.trajectories, seed: o.seed });
  const variants: Record<string, ModeMetrics> = {};
  const samples: Record<string, number[][][][]> = {};
  const y = new EventLoopYield();
  const { onProgress: _p, config: _c, signal: _s, ...options } = o;
  for (const v of o.variants) {
    const cfg = variantConfig(v, { ...DEFAULT_KDP_CONFIG, seed: o.seed, ...o.config });
    const trainer = new KdpTrainer(problem, cfg);
    const t0 = performance.now();
    for (let s = 0; s < o.steps; s++) {
      if (y.due()) {
        await y.pause();
        if (o.signal?.aborted) return { variants, options, samples, interrupted: { variant: v, step: s } };
      }
      const st = trainer.step();
      if (o.onProgress && (s % 25 === 0 || s === o.steps - 1)) o.onProgress(v, s + 1, o.steps, st.loss);
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const kept: number[][][][] = [];
    variants[v] = { ...evaluateDetour(trainer, problem, o, o.keepSamples ?? 0, kept), trainSeconds: round(trainSeconds, 1), steps: o.steps };
    samples[v] = kept;
  }
  return { variants, options, samples };
}

export function evaluateDetour(trainer: KdpTrainer, problem: DetourProblem, o: Pick<ModeBenchmarkOptions, 'evalConditions' | 'samplesPerCondition' | 'seed' | 'horizon' | 'nuisance'>,
  keep = 0, kept: number[][][][] = []): Omit<ModeMetrics, 'trainSeconds' | 'steps'> {
  const n = o.evalConditions, S = o.samplesPerCondition, H = o.horizon, D = problem.windowDim;
  const rng = new Rng(o.seed + 1_000_003); // held-out starts: a stream training never drew from
  const cond = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) sampleStart(rng, cond, 2 * i);
  const plans = new Float32Array(n * S * D);
  trainer.generate(cond, n, S, plans, new Rng(o.seed + 7));
  for (let i = 0; i < Math.min(keep, n); i++) {
    kept.push(Array.from({ length: Math.min(S, 16) }, (_, s) => Array.from({ length: H }, (_, t) => [plans[(i * S + s) * D + 2 * t]!, plans[(i * S + s) * D + 2 * t + 1]!])));
  }
  let covered = 0, collisions = 0, startErr = 0, goalErr = 0, diversity = 0, pathLen = 0;
  for (let i = 0; i < n; i++) {
    let up = 0, down = 0;
    for (let s = 0; s < S; s++) {
      const row = (i * S + s) * D;
      const mode = crossingMode(plans, row, H);
      if (mode > 0) up++; else if (mode < 0) down++;
      if (polylineHitsDisc(plans, row, H)) collisions++;
      startErr += Math.hypot(plans[row]! - cond[2 * i]!, plans[row + 1]! - cond[2 * i + 1]!);
      goalErr += Math.hypot(plans[row + 2 * (H - 1)]! - DETOUR_GOAL[0], plans[row + 2 * (H - 1) + 1]! - DETOUR_GOAL[1]);
      for (let t = 0; t + 1 < H; t++) pathLen += Math.hypot(plans[row + 2 * t + 2]! - plans[row + 2 * t]!, plans[row + 2 * t + 3]! - plans[row + 2 * t + 1]!);
    }
    if (up >= 0.2 * S && down >= 0.2 * S) covered++;
    let pairSum = 0, pairs = 0;
    for (let a = 0; a < S; a++) for (let b = a + 1; b < S; b++) {
      let sq = 0;
      const ra = (i * S + a) * D, rb = (i * S + b) * D;
      for (let j = 0; j < 2 * H; j++) { const d = plans[ra + j]! - plans[rb + j]!; sq += d * d; }
      pairSum += Math.sqrt(sq); pairs++;
    }
    diversity += pairSum / pairs;
  }
  const total = n * S;
  return {
    modeCoverage: round(covered / n, 3),
    collisionRate: round(collisions / total, 4),
    startError: round(startErr / total, 4),
    goalError: round(goalErr / total, 4),
    diversity: round(diversity / n, 4),
    nuisanceSpread: round(spreadRatio(problem, plans, total, o.nuisance > 0), 3),
    pathLength: round(pathLen / total, 3),
  };
}

/** sign of y where the plan first crosses x = 0 (interpolated); 0 if it never does */
export function crossingMode(w: ArrayLike<number>, row: number, H: number): number {
  for (let t = 0; t + 1 < H; t++) {
    const x0 = w[row + 2 * t]!, x1 = w[row + 2 * t + 2]!;
    if ((x0 <= 0 && x1 > 0) || (x0 >= 0 && x1 < 0)) {
      const a = x1 === x0 ? 0 : -x0 / (x1 - x0);
      const y = w[row + 2 * t + 1]! + a * (w[row + 2 * t + 3]! - w[row + 2 * t + 1]!);
      return y >= 0 ? 1 : -1;
    }
  }
  return 0;
}

/** mean over the dims outside the key of std(generated)/std(data), marginal over all samples */
function spreadRatio(problem: DetourProblem, plans: Float32Array, rows: number, nuisanceOnly: boolean): number {
  const D = problem.windowDim;
  const keySet = new Set(problem.keyDims);
  const dims = nuisanceOnly ? Array.from(problem.blocks[0]!.dims)
    : Array.from({ length: D }, (_, j) => j).filter((j) => j >= problem.clampDims && !keySet.has(j));
  let sum = 0;
  for (const d of dims) sum += std(plans, rows, D, d) / Math.max(1e-9, std(problem.data, problem.count, D, d));
  return dims.length ? sum / dims.length : 1;
}

function std(a: Float32Array, rows: number, D: number, d: number): number {
  let m = 0;
  for (let r = 0; r < rows; r++) m += a[r * D + d]!;
  m /= rows;
  let v = 0;
  for (let r = 0; r < rows; r++) { const t = a[r * D + d]! - m; v += t * t; }
  return Math.sqrt(v / rows);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
