/**
 * The learned selection of `kdp arm --task pick-place`: the progress scorer an so100-pick-place model ships
 * (`progress.tflite`, trained by `kdp train-scorer --model M --attach` from the demonstrations only) runs in its own
 * fixed arena over every waypoint of every candidate and predicts the steps left to the task's end from there.
 * Value of a candidate = −(mean predicted steps to the end over its waypoints): the plan that makes the most
 * progress soonest, as the demonstrations measure progress. Nothing here reads the cube's pose or the simulator.
 */
import type { LoadedModel } from '../planner/model-loader.js';
import { ModelError } from '../errors.js';
import { readModelFile } from '../planner/model-file.js';
import { Interpreter, type Backend } from '../planner/runtime/interpreter.js';

export const PROGRESS_FILE = 'progress.tflite';
/** state dims of the scorer's input 0 (grasp point, height, jaw) and input 1 (picked, holding) */
export const PROGRESS_POINT_DIMS = 6;
export const PROGRESS_FLAG_DIMS = 2;

/** The manifest entry `progress` of an so100-pick-place model (unknown manifest fields pass the schema). */
export interface ProgressManifest {
  file: string; sha256: string; bytes: number;
  quantization: 'int8' | 'fp32';
  inputs: { name: string; shape: [number, number]; dtype: 'float32' }[];
  outputs: { name: string; shape: [number, number]; dtype: 'float32' }[];
  mlp: { noiseDim: number; condDim: number; hidden: number[]; outputDim: number; activation: string };
  /** output 0 × ctgScale = env steps to the task's end */
  ctgScale: number;
  /** waypoints scored per candidate (the plan's horizon − 1: s_0 is the measured state) */
  rowsPerPlan: number;
  arenaBytes: number;
  provenance: { run: string; trainingSteps: number; seed: number; dataset: string; command?: string };
  holdout: Record<string, number>;
}

export function progressEntry(model: LoadedModel): ProgressManifest | undefined {
  return (model.manifest as unknown as { progress?: ProgressManifest }).progress;
}

/** The progress scorer's interpreter sized for `candidates` plans, and the loop's `value` hook over it. */
export class PickPlaceScorer {
  readonly rows: number;
  readonly point: Float32Array;
  readonly flags: Float32Array;
  readonly out: Float32Array;
  readonly interpreter: Interpreter;
  private readonly values: Float32Array;
  private readonly shift: Float64Array;
  private readonly inv: Float64Array;

  /** `stride` = values per plan step (state + action) of the candidates the loop passes to `value` */
  constructor(readonly entry: ProgressManifest, bytes: Uint8Array, readonly candidates: number, readonly horizon: number, readonly stride: number, normalizer: { shift: number[]; scale: number[] }, backend?: Backend) {
    if (entry.rowsPerPlan !== horizon - 1) {
      throw new ModelError('E_MODEL_MISMATCH', `progress scorer: ${entry.rowsPerPlan} waypoints per plan, the generator plans ${horizon - 1}`, { hint: 'retrain it for this model: kdp train-scorer --model M --out DIR --attach' });
    }
    this.rows = candidates * entry.rowsPerPlan;
    this.interpreter = Interpreter.fromBytes(bytes, { batch: this.rows, ...(backend ? { backend } : {}) }).allocate();
    this.point = this.interpreter.inputView(0);
    this.flags = this.interpreter.inputView(1);
    this.out = this.interpreter.outputView(0);
    if (this.point.length !== this.rows * PROGRESS_POINT_DIMS || this.flags.length !== this.rows * PROGRESS_FLAG_DIMS || this.out.length !== this.rows) {
      throw new ModelError('E_MODEL_MISMATCH', `progress scorer I/O [${this.point.length / this.rows}, ${this.flags.length / this.rows}] → ${this.out.length / this.rows} per row, expected [${PROGRESS_POINT_DIMS}, ${PROGRESS_FLAG_DIMS}] → 1`, { hint: 'retrain it with `kdp train-scorer --model M --attach`' });
    }
    this.values = new Float32Array(candidates);
    this.shift = Float64Array.from(normalizer.shift);
    this.inv = Float64Array.from(normalizer.scale, (s) => 1 / s);
  }

  static load(model: LoadedModel, candidates: number, backend?: Backend): PickPlaceScorer | undefined {
    const entry = progressEntry(model);
    if (!entry) return undefined;
    const L = model.manifest.layout;
    return new PickPlaceScorer(entry, readModelFile(model.dir, entry, 'progress scorer'), candidates, L.horizon, L.stateDim + L.actionDim, model.manifest.normalizer.state, backend);
  }

  get arenaBytes(): number { return this.interpreter.arenaBytes; }

  /**
   * The loop's `value` hook: `n` unnormalized candidates (n × horizon × stride, s_0 = the measured state) → value per
   * candidate (higher is better) = −mean predicted steps to the end over waypoints 1…H−1. Allocation-free.
   */
  readonly value = (plans: Float32Array, n: number): Float32Array => {
    const H = this.horizon, W = H - 1, st = this.stride;
    const P = PROGRESS_POINT_DIMS, F = PROGRESS_FLAG_DIMS;
    for (let i = 0; i < n; i++) {
      for (let t = 1; t < H; t++) {
        const r = i * W + t - 1, c = (i * H + t) * st;
        for (let d = 0; d < P; d++) this.point[r * P + d] = (plans[c + d]! - this.shift[d]!) * this.inv[d]!;
        for (let d = 0; d < F; d++) this.flags[r * F + d] = (plans[c + P + d]! - this.shift[P + d]!) * this.inv[P + d]!;
      }
    }
    // rows of candidates beyond n keep last plan's values: the invoke is sized for `candidates`
    this.interpreter.invoke();
    const out = this.out, scale = this.entry.ctgScale;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < W; t++) s += out[i * W + t]!;
      this.values[i] = -(s / W) * scale;
    }
    return this.values;
  };
}
