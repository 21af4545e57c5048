/**
 * The learned progress scorer of `so100-pick-place`: a value network over one plan waypoint, learned from the
 * demonstrations only. It reads a planner state (`PP_STATE_NAMES`, in the generator's normalized units) and answers
 *
 *   out[0]  steps to the task's end from that state (÷ `ctgScale`): the demonstrations end when the arm is back up
 *           after the release, so "steps to the end of the episode" is an observed label on every row.
 *
 * The candidates whose waypoints it predicts nearest the end are the ones that make progress: that is the learned
 * selection `kdp arm --task pick-place` uses (no simulator query, no cube sensing). The network has the generator's
 * graph shape (two inputs concatenated → FCs), so it exports and runs through the same int8 TFLite path: input 0 =
 * the waypoint's grasp point, height and jaw (state dims 0–5), input 1 = its picked/holding flags (dims 6–7).
 */
import type { TrajectoryDataset } from '../data/dataset.js';
import { compileNormalizer } from '../data/normalizer.js';
import { DatasetError } from '../errors.js';
import type { NormalizerJson } from '../model/checkpoint-format.js';
import { paramCount, type MlpSpec } from '../model/mlp-spec.js';
import { DEFAULT_SCORER_NET, type ScorerNetConfig } from './scorer-trainer.js';
import { PP_STATE_DIM } from '../envs/so100/pick-place-task.js';
import { Rng } from '../util/rng.js';
import { MlpTrainer } from './mlp-trainer.js';
import { createTrainKernels } from './wasm-kernels.js';

/** State dims of input 0 (waypoint) and input 1 (flags). */
export const PP_SCORER_POINT_DIMS = 6;
export const PP_SCORER_FLAG_DIMS = 2;

export interface PickPlaceScorerConfig extends ScorerNetConfig {
  /** std (normalized units) of Gaussian jitter on a row's point dims: plans are near, not on, the data */
  jitter: number;
}

export const DEFAULT_PP_SCORER_CONFIG: PickPlaceScorerConfig = { ...DEFAULT_SCORER_NET, jitter: 0.05 };

export interface PickPlaceScorerStats { step: number; ctgRmse: number }
export interface PickPlaceScorerHoldout { ctgRmse: number; ctgRelRmse: number; rankAgreement: number }

export class PickPlaceScorerTrainer {
  readonly spec: MlpSpec;
  readonly net: MlpTrainer;
  readonly rng: Rng;
  readonly ctgScale: number;
  /** normalized rows (8 per dataset row) and their steps-to-end labels */
  private readonly rows: Float32Array;
  private readonly ctg: Float32Array;
  private readonly trainIdx: Int32Array;
  private readonly holdIdx: Int32Array;
  private readonly labels: Float32Array;
  stepCount = 0;

  constructor(ds: TrajectoryDataset, readonly normalizer: NormalizerJson, readonly config: PickPlaceScorerConfig = DEFAULT_PP_SCORER_CONFIG) {
    if (ds.stateDim !== PP_STATE_DIM) throw new DatasetError(`${ds.source}: ${ds.stateDim} state values, the so100-pick-place progress scorer reads ${PP_STATE_DIM}`, { hint: 'use a dataset written by `kdp dataset so100-pick-place`' });
    const c = compileNormalizer(normalizer);
    const S = PP_STATE_DIM, n = ds.length;
    this.rows = new Float32Array(n * S);
    this.ctg = new Float32Array(n);
    let sum = 0;
    const train: number[] = [], hold: number[] = [];
    const E = ds.episodeEnds.length;
    for (let k = 0, begin = 0; k < E; k++) {
      const end = ds.episodeEnds[k]!;
      // whole held-out episodes: 1 in 20, or the last one of a small dataset
      const into = (E >= 20 ? k % 20 === 7 : k === E - 1) ? hold : train;
      for (let r = begin; r < end; r++) {
        for (let d = 0; d < S; d++) this.rows[r * S + d] = (ds.observations[r * S + d]! - c.stateShift[d]!) * c.stateInv[d]!;
        this.ctg[r] = end - 1 - r;
        sum += end - 1 - r;
        into.push(r);
      }
      begin = end;
    }
    if (!train.length || !hold.length) throw new DatasetError(`${ds.source}: too few episodes (${E}) to train and hold out`, { hint: 'generate at least 2 episodes (20 or more hold out 1 in 20)' });
    this.ctgScale = Math.max(1, sum / Math.max(1, n));
    this.trainIdx = Int32Array.from(train);
    this.holdIdx = Int32Array.from(hold);
    this.rng = new Rng(config.seed);
    this.spec = { noiseDim: PP_SCORER_POINT_DIMS, condDim: PP_SCORER_FLAG_DIMS, hidden: config.hidden, outputDim: 1, activation: config.activation };
    const B = config.batch;
    this.labels = new Float32Array(B);
    const widths = [S, ...config.hidden, 1];
    const floats = 3 * paramCount(this.spec) + widths.reduce((a, w) => a + 4 * B * w, 0) + (1 << 16);
    this.net = new MlpTrainer(this.spec, B, createTrainKernels(floats), this.rng, { ...config.optimizer, decaySteps: config.optimizer.decaySteps ?? config.steps });
  }

  loadWeights(flat: Float32Array): void {
    if (flat.length !== this.net.ema.length) throw new RangeError(`progress scorer weights: ${flat.length} floats, the network has ${this.net.ema.length}`);
    this.net.ema.set(flat);
    this.net.params.set(flat);
  }

  private fill(idx: Int32Array, rng: Rng, jitter: number): void {
    const B = this.config.batch, S = PP_STATE_DIM, x = this.net.input;
    for (let r = 0; r < B; r++) {
      const i = idx[rng.int(idx.length)]!;
      for (let d = 0; d < S; d++) x[r * S + d] = this.rows[i * S + d]! + (d < PP_SCORER_POINT_DIMS && jitter > 0 ? jitter * rng.normal() : 0);
      this.labels[r] = this.ctg[i]!;
    }
  }

  step(): PickPlaceScorerStats {
    const B = this.config.batch;
    this.fill(this.trainIdx, this.rng, this.config.jitter);
    const y = this.net.forward();
    const g = this.net.gradOutput;
    let se = 0;
    for (let r = 0; r < B; r++) {
      const d = y[r]! - this.labels[r]! / this.ctgScale;
      se += d * d;
      g[r] = (2 * d) / B;
    }
    this.net.backward();
    this.net.step();
    this.stepCount++;
    return { step: this.stepCount, ctgRmse: Math.sqrt(se / B) * this.ctgScale };
  }

  /**
   * Held-out figures with the EMA weights: RMSE in steps, and how often the scorer orders two rows of one held-out
   * episode (≥ 10 steps apart) as the episode does — what selection by it relies on.
   */
  holdout(samples = 20_000): PickPlaceScorerHoldout {
    const restore = this.net.useEma();
    try {
      const B = this.config.batch, rng = new Rng(999);
      let se = 0, n = 0, labelSum = 0, agree = 0, pairs = 0;
      for (let done = 0; done < samples; done += B) {
        this.fill(this.holdIdx, rng, 0);
        const y = this.net.forward();
        for (let r = 0; r < B; r++) {
          const d = y[r]! * this.ctgScale - this.labels[r]!;
          se += d * d; n++; labelSum += this.labels[r]!;
        }
        // pairs (r, r+1) drawn independently: compare only those whose labels differ by ≥ 10 steps
        for (let r = 0; r + 1 < B; r += 2) {
          const dl = this.labels[r]! - this.labels[r + 1]!;
          if (Math.abs(dl) < 10) continue;
          pairs++;
          if (Math.sign(y[r]! - y[r + 1]!) === Math.sign(dl)) agree++;
        }
      }
      const rmse = Math.sqrt(se / n);
      return { ctgRmse: rmse, ctgRelRmse: rmse / (labelSum / n), rankAgreement: pairs ? agree / pairs : NaN };
    } finally {
      restore();
    }
  }

  /** Normalized flag rows of dataset states, for the int8 export's calibration. */
  calibrationFlags(count: number): Float32Array {
    const out = new Float32Array(count * PP_SCORER_FLAG_DIMS), rng = new Rng(4321), S = PP_STATE_DIM;
    for (let k = 0; k < count; k++) {
      const i = this.trainIdx[rng.int(this.trainIdx.length)]!;
      for (let d = 0; d < PP_SCORER_FLAG_DIMS; d++) out[k * PP_SCORER_FLAG_DIMS + d] = this.rows[i * S + PP_SCORER_POINT_DIMS + d]!;
    }
    return out;
  }
}
