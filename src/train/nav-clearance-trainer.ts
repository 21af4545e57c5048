/**
 * The learned clearance scorer of `crazyflie-nav`: a small MLP that reads one plan waypoint (its offset from the
 * current position) and the obstacle part of the current observation (the 8 nearest obstacles as dx, dy, r — what a
 * drone with a map or a ranging deck sees) and answers
 *
 *   out[0]  free logit: > 0 when the vehicle sphere at the waypoint keeps `marginM` from every observed obstacle
 *   out[1]  clearance of the vehicle sphere at the waypoint, in units of `CLEARANCE_UNIT_M` (clipped to [−0.2, 0.4] m)
 *
 * Everything it learns comes from the offline dataset: each training row is a dataset row t (its observed obstacle
 * context) paired with a point — the positions the recorded flight reached in the next 3.2 s, those points jittered,
 * points around the observed obstacles, or uniform points within reach — labelled with the clearance of that point
 * from the obstacles *recorded in row t's observation*. The simulator and the layout files are never read: at flight
 * time the network sees the same observation the generator sees, no obstacle list.
 *
 * Input scaling: lengths in units of `NAV_LENGTH_UNIT_M` (0.5 m), so offsets within reach and obstacle features are
 * O(1) for the int8 export. The network has the generator's graph shape (two inputs concatenated → FCs): input 0 =
 * offset (dx, dy), input 1 = context (24).
 */
import type { TrajectoryDataset } from '../data/dataset.js';
import { DatasetError } from '../errors.js';
import { paramCount, type Activation, type MlpSpec } from '../model/mlp-spec.js';
import { Rng } from '../util/rng.js';
import { DEFAULT_OPTIMIZER, MlpTrainer, type OptimizerConfig } from './mlp-trainer.js';
import { createTrainKernels } from './wasm-kernels.js';

import { NAV_CONTEXT_DIM, NAV_CONTEXT_OFFSET } from '../fly/nav-clearance.js';

export { NAV_CONTEXT_DIM, NAV_CONTEXT_OFFSET };
export const NAV_LENGTH_UNIT_M = 0.5;
/** values per network input row: offset (2) + context */
export const NAV_ROW_DIM = 2 + NAV_CONTEXT_DIM;
const K = NAV_CONTEXT_DIM / 3;
export const CLEARANCE_UNIT_M = 0.2;
const CLEAR_LO_M = -0.2, CLEAR_HI_M = 0.4;

export interface NavClearanceConfig {
  hidden: number[];
  activation: Activation;
  batch: number;
  steps: number;
  /** vehicle sphere radius (m): the CF2.1's 6 cm */
  bodyRadiusM: number;
  /** a waypoint is free when the sphere keeps this much (m) from every obstacle */
  marginM: number;
  /** how far ahead (env steps) the recorded flight's positions are taken as waypoints: 32 = the 3.2 s plan */
  lookaheadSteps: number;
  /** radius (m) of the uniform samples around the current position (a plan reaches ≈ 2 m) */
  reachM: number;
  optimizer: OptimizerConfig;
  seed: number;
}

export const DEFAULT_NAV_CLEARANCE_CONFIG: NavClearanceConfig = {
  hidden: [128, 128], activation: 'relu', batch: 1024, steps: 20_000, bodyRadiusM: 0.06, marginM: 0.06, lookaheadSteps: 32, reachM: 2.2,
  optimizer: { ...DEFAULT_OPTIMIZER, lr: 2e-3, warmup: 200 }, seed: 0,
};

export interface NavClearanceStats { step: number; bce: number; clearRmseM: number }

export interface NavClearanceHoldout {
  /** accuracy of sign(free logit) against the label, on held-out episodes' rows */
  accuracy: number;
  /** fraction of held-out points in contact (clearance < 0) that the scorer calls free: the dangerous error */
  contactCalledFree: number;
  /** fraction of held-out points with clearance > margin + 5 cm that the scorer calls blocked */
  clearCalledBlocked: number;
  /** fraction of the recorded flight's own future positions called free */
  recordedCalledFree: number;
  clearRmseM: number;
  samples: number;
}

/** Clearance (m) of the vehicle sphere at offset (wx, wy) from the obstacles recorded in a context row (r = 0: none). */
export function contextClearance(ctx: ArrayLike<number>, off: number, wx: number, wy: number, bodyRadiusM: number): number {
  let c = Infinity;
  for (let k = 0; k < K; k++) {
    const b = off + 3 * k, r = ctx[b + 2]!;
    if (!(r > 0)) continue;
    const d = Math.hypot(wx - ctx[b]!, wy - ctx[b + 1]!) - r - bodyRadiusM;
    if (d < c) c = d;
  }
  return c;
}

export class NavClearanceTrainer {
  readonly spec: MlpSpec;
  readonly net: MlpTrainer;
  readonly rng: Rng;
  private readonly obs: Float32Array;
  private readonly S: number;
  /** per row: exclusive end of its episode */
  private readonly epEnd: Int32Array;
  private readonly trainIdx: Int32Array;
  private readonly holdIdx: Int32Array;
  private readonly clear: Float32Array;
  private readonly kind: Uint8Array;
  stepCount = 0;

  constructor(ds: TrajectoryDataset, readonly config: NavClearanceConfig = DEFAULT_NAV_CLEARANCE_CONFIG) {
    if (ds.stateDim !== NAV_CONTEXT_OFFSET + NAV_CONTEXT_DIM) throw new DatasetError(`${ds.source}: ${ds.stateDim} observation values, the crazyflie-nav clearance scorer needs ${NAV_CONTEXT_OFFSET + NAV_CONTEXT_DIM} (pos, vel, goal − pos, ${K} obstacles)`, { hint: 'use a dataset written by this version of `kdp dataset crazyflie-nav`' });
    this.obs = ds.observations;
    this.S = ds.stateDim;
    this.epEnd = new Int32Array(ds.length);
    const train: number[] = [], hold: number[] = [];
    for (let k = 0, begin = 0; k < ds.episodeEnds.length; k++) {
      const end = ds.episodeEnds[k]!;
      const into = k % 20 === 7 ? hold : train; // whole held-out episodes (layouts never trained on)
      for (let r = begin; r < end; r++) { this.epEnd[r] = end; into.push(r); }
      begin = end;
    }
    if (!train.length || !hold.length) throw new DatasetError(`${ds.source}: too few episodes (${ds.episodeEnds.length}) to train and hold out`, { hint: 'generate at least 20 episodes' });
    this.trainIdx = Int32Array.from(train);
    this.holdIdx = Int32Array.from(hold);
    this.rng = new Rng(config.seed);
    this.spec = { noiseDim: 2, condDim: NAV_CONTEXT_DIM, hidden: config.hidden, outputDim: 2, activation: config.activation };
    const B = config.batch;
    this.clear = new Float32Array(B);
    this.kind = new Uint8Array(B);
    const widths = [2 + NAV_CONTEXT_DIM, ...config.hidden, 2];
    const floats = 3 * paramCount(this.spec) + widths.reduce((a, w) => a + 4 * B * w, 0) + (1 << 16);
    this.net = new MlpTrainer(this.spec, B, createTrainKernels(floats), this.rng, { ...config.optimizer, decaySteps: config.optimizer.decaySteps ?? config.steps });
  }

  loadWeights(flat: Float32Array): void {
    if (flat.length !== this.net.ema.length) throw new RangeError(`clearance weights: ${flat.length} floats, the network has ${this.net.ema.length}`);
    this.net.ema.set(flat);
    this.net.params.set(flat);
  }

  /**
   * Row r of the batch from dataset row t: scaled offset + context into x, the label clearance (m) into clear[r].
   * kind: 0 recorded future position, 1 jittered, 2 around an observed obstacle, 3 uniform within reach.
   */
  private writeRow(x: Float32Array, r: number, t: number, rng: Rng): void {
    const S = this.S, o = this.obs, cfg = this.config, u = 1 / NAV_LENGTH_UNIT_M;
    const ctx = t * S + NAV_CONTEXT_OFFSET;
    const p = rng.uniform();
    let wx: number, wy: number, kind: number;
    const future = (): void => {
      const k = 1 + rng.int(cfg.lookaheadSteps);
      const f = Math.min(this.epEnd[t]! - 1, t + k);
      wx = o[f * S]! - o[t * S]!; wy = o[f * S + 1]! - o[t * S + 1]!;
    };
    if (p < 0.3) { future(); kind = 0; }
    else if (p < 0.55) { future(); wx! += 0.15 * rng.normal(); wy! += 0.15 * rng.normal(); kind = 1; }
    else if (p < 0.8 && o[ctx + 2]! > 0) {
      const k = rng.int(K), b = ctx + 3 * k;
      const kk = o[b + 2]! > 0 ? b : ctx;
      const a = 2 * Math.PI * rng.uniform(), d = Math.sqrt(rng.uniform()) * (o[kk + 2]! + cfg.bodyRadiusM + 0.3);
      wx = o[kk]! + d * Math.cos(a); wy = o[kk + 1]! + d * Math.sin(a); kind = 2;
    } else {
      const a = 2 * Math.PI * rng.uniform(), d = Math.sqrt(rng.uniform()) * cfg.reachM;
      wx = d * Math.cos(a); wy = d * Math.sin(a); kind = 3;
    }
    const R = NAV_ROW_DIM;
    x[r * R] = wx! * u; x[r * R + 1] = wy! * u;
    for (let j = 0; j < NAV_CONTEXT_DIM; j++) x[r * R + 2 + j] = o[ctx + j]! * u;
    this.clear[r] = contextClearance(o, ctx, wx!, wy!, cfg.bodyRadiusM);
    this.kind[r] = kind;
  }

  step(): NavClearanceStats {
    const B = this.config.batch, m = this.config.marginM;
    const x = this.net.input;
    for (let r = 0; r < B; r++) this.writeRow(x, r, this.trainIdx[this.rng.int(this.trainIdx.length)]!, this.rng);
    const y = this.net.forward();
    const g = this.net.gradOutput;
    let bce = 0, se = 0;
    for (let r = 0; r < B; r++) {
      const c = this.clear[r]!;
      const z = y[r * 2]!, target = c > m ? 1 : 0;
      const pz = 1 / (1 + Math.exp(-z));
      bce += Math.max(z, 0) - z * target + Math.log1p(Math.exp(-Math.abs(z)));
      g[r * 2] = (pz - target) / B;
      const label = Math.min(CLEAR_HI_M, Math.max(CLEAR_LO_M, c)) / CLEARANCE_UNIT_M;
      const d = y[r * 2 + 1]! - label;
      se += d * d;
      g[r * 2 + 1] = (2 * d) / B;
    }
    this.net.backward();
    this.net.step();
    this.stepCount++;
    return { step: this.stepCount, bce: bce / B, clearRmseM: Math.sqrt(se / B) * CLEARANCE_UNIT_M };
  }

  /** Held-out figures with the EMA weights, on rows of episodes never trained on (threshold: logit 0). */
  holdout(samples = 40_000): NavClearanceHoldout {
    const restore = this.net.useEma();
    try {
      const B = this.config.batch, m = this.config.marginM;
      const rng = new Rng(999);
      let n = 0, correct = 0, contact = 0, contactFree = 0, clearN = 0, clearBlocked = 0, rec = 0, recFree = 0, se = 0;
      for (let done = 0; done < samples; done += B) {
        const x = this.net.input;
        for (let r = 0; r < B; r++) this.writeRow(x, r, this.holdIdx[rng.int(this.holdIdx.length)]!, rng);
        const y = this.net.forward();
        for (let r = 0; r < B; r++) {
          const c = this.clear[r]!, free = y[r * 2]! > 0;
          n++;
          if (free === c > m) correct++;
          if (c < 0) { contact++; if (free) contactFree++; }
          if (c > m + 0.05) { clearN++; if (!free) clearBlocked++; }
          if (this.kind[r] === 0) { rec++; if (free) recFree++; }
          const d = y[r * 2 + 1]! * CLEARANCE_UNIT_M - Math.min(CLEAR_HI_M, Math.max(CLEAR_LO_M, c));
          se += d * d;
        }
      }
      return {
        accuracy: correct / n, contactCalledFree: contactFree / Math.max(1, contact), clearCalledBlocked: clearBlocked / Math.max(1, clearN),
        recordedCalledFree: recFree / Math.max(1, rec), clearRmseM: Math.sqrt(se / n), samples: n,
      };
    } finally {
      restore();
    }
  }

  /**
   * `n` rows of held-out episodes (the training mixture of points), scaled like the network input (NAV_ROW_DIM per row), with
   * their label clearance (m): to calibrate the exported network's free threshold on data it never trained on.
   */
  sampleHoldout(n: number, seed = 777): { x: Float32Array; clearance: Float32Array } {
    const rng = new Rng(seed), B = this.config.batch;
    const x = new Float32Array(n * NAV_ROW_DIM), clearance = new Float32Array(n);
    const tmp = new Float32Array(B * NAV_ROW_DIM);
    for (let done = 0; done < n; done += B) {
      const k = Math.min(B, n - done);
      for (let r = 0; r < k; r++) this.writeRow(tmp, r, this.holdIdx[rng.int(this.holdIdx.length)]!, rng);
      x.set(tmp.subarray(0, k * NAV_ROW_DIM), done * NAV_ROW_DIM);
      clearance.set(this.clear.subarray(0, k), done);
    }
    return { x, clearance };
  }

  /** The 99th percentile of the recorded horizontal speed (m/s): how fast the demonstrations flew. */
  datasetSpeedP99(): number {
    const S = this.S, n = this.obs.length / S, v = new Float64Array(n);
    for (let t = 0; t < n; t++) v[t] = Math.hypot(this.obs[t * S + 3]!, this.obs[t * S + 4]!);
    v.sort();
    return v[Math.floor(0.99 * (n - 1))]!;
  }

  /** Normalized (scaled) context rows of dataset states, for the int8 export's calibration. */
  calibrationContexts(count: number): Float32Array {
    const rng = new Rng(4242), u = 1 / NAV_LENGTH_UNIT_M, out = new Float32Array(count * NAV_CONTEXT_DIM);
    for (let i = 0; i < count; i++) {
      const t = this.trainIdx[rng.int(this.trainIdx.length)]!;
      for (let j = 0; j < NAV_CONTEXT_DIM; j++) out[i * NAV_CONTEXT_DIM + j] = this.obs[t * this.S + NAV_CONTEXT_OFFSET + j]! * u;
    }
    return out;
  }
}
