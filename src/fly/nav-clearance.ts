/**
 * Model-only candidate selection for `kdp fly`: the learned clearance scorer a crazyflie-nav model ships
 * (`clearance.tflite`, trained by `kdp train-scorer --model M --attach` from dataset rows only) runs in its own
 * fixed arena over every waypoint (and segment midpoint) of every candidate, with the obstacle part of the current
 * observation as context. Nothing here reads an obstacle list: what the selection knows about obstacles is what the
 * observation holds (the 8 nearest as dx, dy, r — a map or a ranging deck).
 *
 * Per candidate: `nearBad` = waypoints of the flown part (the first `nearSteps` plan steps) the scorer calls blocked (logit ≤ the manifest's `freeThreshold`),
 * `farBad` = the rest, `fast` = segments of the flown part faster than the dataset's 99th-percentile speed;
 * value = −(mean goal distance + 100 · (10 · near deficit + far deficit) + 100 · fast), deficit = Σ (threshold − logit)
 * over blocked rows: the ordering of the known-obstacle check ('cost', penetration depth ×10 in the flown part) with
 * the learned logit in place of the geometry, then the speed the demonstrations flew.
 */
import type { LoadedModel } from '../planner/model-loader.js';
import { ModelError } from '../errors.js';
import { readModelFile } from '../planner/model-file.js';
import { Interpreter, type Backend } from '../planner/runtime/interpreter.js';
import { NAV_OBSTACLE_DIMS, NAV_OBSTACLE_OFFSET } from '../envs/cf-nav/observation.js';

export const CLEARANCE_FILE = 'clearance.tflite';
/** rows per candidate plan: the 15 waypoints after s_0 and the midpoint of each segment leading to them */
export const NAV_ROWS_PER_PLAN = 30;
/** observation dims of the context: the observation's obstacles (dx, dy, r) */
export const NAV_CONTEXT_OFFSET = NAV_OBSTACLE_OFFSET;
export const NAV_CONTEXT_DIM = NAV_OBSTACLE_DIMS;

/** The manifest entry `clearance` of a crazyflie-nav model (unknown manifest fields pass the schema). */
export interface ClearanceManifest {
  file: string; sha256: string; bytes: number;
  quantization: 'int8' | 'fp32';
  inputs: { name: string; shape: [number, number]; dtype: 'float32' }[];
  outputs: { name: string; shape: [number, number]; dtype: 'float32' }[];
  mlp: { noiseDim: number; condDim: number; hidden: number[]; outputDim: number; activation: string };
  /** offsets and context are fed in units of this many metres */
  lengthUnitM: number;
  /** output 1 × clearanceUnitM = clearance (m) */
  clearanceUnitM: number;
  /** observation dims that form the context input */
  contextDims: number[];
  marginM: number;
  bodyRadiusM: number;
  rowsPerPlan: number;
  /** a row is free when its logit is above this (calibrated on held-out dataset episodes with the int8 network; default 0) */
  freeThreshold?: number;
  /** the 99th percentile of the dataset's horizontal speed (m/s): candidates faster than the demonstrations in their
   *  flown part rank behind those that are not (beyond the demonstrations' speed the plans and the scorer
   *  extrapolate) */
  datasetSpeedMps?: number;
  arenaBytes: number;
  provenance: { run: string; trainingSteps: number; seed: number; dataset: string; command?: string };
  holdout: Record<string, number>;
}

export function clearanceEntry(model: LoadedModel): ClearanceManifest | undefined {
  return (model.manifest as unknown as { clearance?: ClearanceManifest }).clearance;
}

/** The clearance scorer's interpreter, sized for `candidates` plans (rows = candidates × 30). */
export class NavClearanceScorer {
  readonly rows: number;
  readonly offset: Float32Array;
  readonly context: Float32Array;
  readonly out: Float32Array;
  readonly interpreter: Interpreter;
  readonly unit: number;
  readonly freeThreshold: number;
  readonly maxSpeedMps: number;

  constructor(readonly entry: ClearanceManifest, bytes: Uint8Array, readonly candidates: number, backend?: Backend) {
    if (entry.rowsPerPlan !== NAV_ROWS_PER_PLAN || entry.contextDims.length !== NAV_CONTEXT_DIM || entry.contextDims[0] !== NAV_CONTEXT_OFFSET) {
      throw new ModelError('E_MODEL_MISMATCH', `clearance scorer: ${entry.rowsPerPlan} rows per plan, context dims ${entry.contextDims.join(',')}; this kdp reads ${NAV_ROWS_PER_PLAN} rows and dims ${NAV_CONTEXT_OFFSET}..${NAV_CONTEXT_OFFSET + NAV_CONTEXT_DIM - 1}`, { hint: 'retrain it with `kdp train-scorer --model M --attach` of this version' });
    }
    this.rows = candidates * NAV_ROWS_PER_PLAN;
    this.interpreter = Interpreter.fromBytes(bytes, { batch: this.rows, ...(backend ? { backend } : {}) }).allocate();
    this.offset = this.interpreter.inputView(0);
    this.context = this.interpreter.inputView(1);
    this.out = this.interpreter.outputView(0);
    if (this.offset.length !== this.rows * 2 || this.context.length !== this.rows * NAV_CONTEXT_DIM || this.out.length !== this.rows * 2) {
      throw new ModelError('E_MODEL_MISMATCH', `clearance scorer I/O [${this.offset.length / this.rows}, ${this.context.length / this.rows}] → ${this.out.length / this.rows} per row, expected [2, ${NAV_CONTEXT_DIM}] → 2`, { hint: 'retrain it with `kdp train-scorer --model M --attach`' });
    }
    this.unit = 1 / entry.lengthUnitM;
    this.freeThreshold = entry.freeThreshold ?? 0;
    this.maxSpeedMps = entry.datasetSpeedMps ?? Infinity;
  }

  static load(model: LoadedModel, candidates: number, backend?: Backend): NavClearanceScorer | undefined {
    const entry = clearanceEntry(model);
    if (!entry) return undefined;
    return new NavClearanceScorer(entry, readModelFile(model.dir, entry, 'clearance scorer'), candidates, backend);
  }

  get arenaBytes(): number { return this.interpreter.arenaBytes; }
}

/**
 * The `value` hook of the loop (select 'value') backed by the clearance scorer. Allocation-free: every buffer is
 * made here. `observation` is the buffer the flight writes the observation into before each tick.
 */
export class LearnedNavSelector {
  readonly nearBad: Int32Array;
  readonly farBad: Int32Array;
  private readonly values: Float32Array;

  readonly fast: Int32Array;

  constructor(readonly scorer: NavClearanceScorer, readonly observation: Float32Array, readonly goal: ArrayLike<number>,
    readonly horizon: number, readonly stride: number, readonly nearSteps: number, readonly planStepS = 0.2) {
    if (horizon - 1 !== NAV_ROWS_PER_PLAN / 2) throw new ModelError('E_MODEL_MISMATCH', `the clearance scorer reads ${NAV_ROWS_PER_PLAN / 2} waypoints per plan, the model plans ${horizon - 1}`);
    this.nearBad = new Int32Array(scorer.candidates);
    this.farBad = new Int32Array(scorer.candidates);
    this.values = new Float32Array(scorer.candidates);
    this.fast = new Int32Array(scorer.candidates);
  }

  /** Score `n` unnormalized candidates (n × horizon × stride, s_0 = the measured state); higher is better. */
  readonly value = (plans: Float32Array, n: number): Float32Array => {
    const sc = this.scorer, u = sc.unit, H = this.horizon, st = this.stride, ob = this.observation;
    const off = sc.offset, ctx = sc.context;
    for (let i = 0; i < n; i++) {
      const c = i * H * st, x0 = plans[c]!, y0 = plans[c + 1]!;
      for (let t = 1; t < H; t++) {
        const b = c + t * st, a = b - st;
        const r = i * NAV_ROWS_PER_PLAN + 2 * (t - 1);
        off[r * 2] = (plans[b]! - x0) * u; off[r * 2 + 1] = (plans[b + 1]! - y0) * u;
        off[r * 2 + 2] = (0.5 * (plans[a]! + plans[b]!) - x0) * u; off[r * 2 + 3] = (0.5 * (plans[a + 1]! + plans[b + 1]!) - y0) * u;
        for (let j = 0; j < NAV_CONTEXT_DIM; j++) { const v = ob[NAV_CONTEXT_OFFSET + j]! * u; ctx[r * NAV_CONTEXT_DIM + j] = v; ctx[(r + 1) * NAV_CONTEXT_DIM + j] = v; }
      }
    }
    sc.interpreter.invoke();
    const out = sc.out, g = this.goal, thr = sc.freeThreshold, maxStep = sc.maxSpeedMps * this.planStepS;
    for (let i = 0; i < n; i++) {
      let near = 0, far = 0, fast = 0, deficit = 0;
      const c = i * H * st;
      for (let t = 1; t < H; t++) {
        const r = i * NAV_ROWS_PER_PLAN + 2 * (t - 1);
        const z0 = out[r * 2]!, z1 = out[(r + 1) * 2]!;
        const bad = (z0 <= thr ? 1 : 0) + (z1 <= thr ? 1 : 0);
        // how blocked, not only whether: the logit falls with the depth into an obstacle (like the oracle's penetration)
        const d = (z0 <= thr ? thr - z0 : 0) + (z1 <= thr ? thr - z1 : 0);
        if (t <= this.nearSteps) {
          near += bad; deficit += 10 * d;
          const dx = plans[c + t * st]! - plans[c + (t - 1) * st]!, dy = plans[c + t * st + 1]! - plans[c + (t - 1) * st + 1]!;
          if (dx * dx + dy * dy > maxStep * maxStep) fast++;
        } else { far += bad; deficit += d; }
      }
      let dist = 0;
      for (let t = 0; t < H; t++) {
        // Math.sqrt, not Math.hypot: V8's variadic hypot allocates on this path
        const dx = plans[c + t * st]! - g[0]!, dy = plans[c + t * st + 1]! - g[1]!, dz = plans[c + t * st + 2]! - g[2]!;
        dist += Math.sqrt(dx * dx + dy * dy + dz * dz);
      }
      this.nearBad[i] = near; this.farBad[i] = far; this.fast[i] = fast;
      this.values[i] = -(dist / H + 100 * deficit + 100 * fast);
    }
    return this.values;
  };
}
