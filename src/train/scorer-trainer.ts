/**
 * The learned plan scorer: a small MLP that reads one plan waypoint and the goal, both in the
 * generator's normalized units, and answers two questions learned only from the offline dataset:
 *
 *   out[0]  occupancy logit  ≈ log(p_data(xy) / p_uniform(xy)): where the dataset's states live (free
 *           space) versus the bounding box around them (walls, obstacles, the band a body never
 *           reaches). A plan waypoint with a negative logit goes where no demonstration went.
 *   out[1]  cost-to-go ≈ env steps from this waypoint to the goal, regressed on the dataset's own
 *           goal segments (every segment of goal-reaching data ends at its goal, so steps-to-end is an
 *           observed label). In a maze this is the geodesic, not the Euclidean, distance.
 *
 * The network has the generator's graph shape (two float inputs concatenated → FCs), so it exports,
 * quantizes and runs through the same TFLite path: input 0 = waypoint xy, input 1 = goal.
 * Nothing here knows the map: it is a density-ratio classifier and a regression over dataset rows.
 */
import type { TrajectoryDataset } from '../data/dataset.js';
import { compileNormalizer } from '../data/normalizer.js';
import { DatasetError } from '../errors.js';
import type { NormalizerJson } from '../model/checkpoint-format.js';
import { paramCount, type Activation, type MlpSpec } from '../model/mlp-spec.js';
import { Rng } from '../util/rng.js';
import { DEFAULT_OPTIMIZER, MlpTrainer, type OptimizerConfig } from './mlp-trainer.js';
import { createTrainKernels } from './wasm-kernels.js';

/** What every learned scorer's training shares: a small MLP, its batch, steps, optimizer and seed. */
export interface ScorerNetConfig {
  hidden: number[];
  activation: Activation;
  batch: number;
  steps: number;
  optimizer: OptimizerConfig;
  seed: number;
}

export const DEFAULT_SCORER_NET: ScorerNetConfig = {
  hidden: [128, 128], activation: 'relu', batch: 1024, steps: 20_000,
  optimizer: { ...DEFAULT_OPTIMIZER, lr: 2e-3, warmup: 200 }, seed: 0,
};

export interface ScorerTrainConfig extends ScorerNetConfig {
  /** rows per step: half dataset states, half uniform samples of the bounding box */
  batch: number;
  /** fraction of each bounding-box side added around the dataset's positions for negatives */
  boxMargin: number;
}

export const DEFAULT_SCORER_CONFIG: ScorerTrainConfig = { ...DEFAULT_SCORER_NET, boxMargin: 0.05 };

export interface ScorerStats {
  step: number;
  /** binary cross-entropy of the occupancy head */
  occLoss: number;
  /** RMS error of the cost-to-go head, in env steps */
  ctgRmse: number;
}

export interface ScorerHoldout {
  /**
   * occupancy logit threshold: the (1 − recall) quantile of held-out dataset states' logits, so that
   * `recall` of the states demonstrations visited count as visited (logit 0 — p_data = p_box — is too
   * strict near walls and corners, where the data is thin but the space is free)
   */
  occThreshold: number;
  /** fraction of box samples below the threshold (the space the scorer calls unvisited) */
  occBoxRejected: number;
  /** accuracy of sign(logit) on held-out dataset states (label 1) and box samples (label 0) */
  occAccuracy: number;
  /** fraction of held-out dataset states classified free */
  occRecall: number;
  ctgRmse: number;
  /** RMS error relative to the mean label */
  ctgRelRmse: number;
}

/** What the loop needs to read the scorer's outputs. */
export interface ScorerSemantics {
  /** position dims of the state used as the waypoint input */
  positionDims: number[];
  /** cost-to-go output × ctgScale = env steps */
  ctgScale: number;
}

export class ScorerTrainer {
  readonly spec: MlpSpec;
  readonly net: MlpTrainer;
  readonly rng: Rng;
  readonly ctgScale: number;
  /** normalized rows of every dataset state: [xy, goal], and their cost-to-go labels (env steps) */
  private readonly rows: Float32Array;
  private readonly ctg: Float32Array;
  private readonly trainIdx: Int32Array;
  private readonly holdIdx: Int32Array;
  private readonly lo: [number, number];
  private readonly hi: [number, number];
  private readonly goalIdx: Int32Array;
  private readonly labels: Float32Array;
  private readonly xyShift: [number, number];
  private readonly xyInv: [number, number];
  stepCount = 0;

  constructor(ds: TrajectoryDataset, readonly normalizer: NormalizerJson, readonly semantics: Omit<ScorerSemantics, 'ctgScale'>, readonly config: ScorerTrainConfig = DEFAULT_SCORER_CONFIG) {
    const pos = semantics.positionDims;
    if (pos.length !== 2) throw new DatasetError(`the scorer reads 2 position dims, the env has ${pos.length}`);
    if (!ds.goals || ds.goalDim !== 2) throw new DatasetError(`${ds.source} has no 2-d goals: the scorer learns cost-to-go for goal-reaching data`, { hint: 'use a goal-conditioned dataset (e.g. kdp dataset maze2d)' });
    const S = ds.stateDim;
    const c = compileNormalizer(normalizer);
    const n = ds.length;
    this.rows = new Float32Array(n * 4);
    this.ctg = new Float32Array(n);
    let sum = 0;
    const lo: [number, number] = [Infinity, Infinity], hi: [number, number] = [-Infinity, -Infinity];
    for (let k = 0, begin = 0; k < ds.episodeEnds.length; k++) {
      const end = ds.episodeEnds[k]!;
      for (let r = begin; r < end; r++) {
        for (let j = 0; j < 2; j++) {
          const v = ds.observations[r * S + pos[j]!]!;
          if (v < lo[j]!) lo[j] = v;
          if (v > hi[j]!) hi[j] = v;
          this.rows[r * 4 + j] = (v - c.stateShift[pos[j]!]!) * c.stateInv[pos[j]!]!;
          this.rows[r * 4 + 2 + j] = (ds.goals[r * 2 + j]! - c.goalShift[j]!) * c.goalInv[j]!;
        }
        this.ctg[r] = end - 1 - r;
        sum += end - 1 - r;
      }
      begin = end;
    }
    this.ctgScale = Math.max(1, sum / Math.max(1, n));
    const m = config.boxMargin;
    this.lo = [lo[0] - m * (hi[0] - lo[0]), lo[1] - m * (hi[1] - lo[1])];
    this.hi = [hi[0] + m * (hi[0] - lo[0]), hi[1] + m * (hi[1] - lo[1])];
    this.rng = new Rng(config.seed);
    // hold out whole segments (1 in 20) so the held-out error is not a memorised neighbour's
    const train: number[] = [], hold: number[] = [];
    for (let k = 0, begin = 0; k < ds.episodeEnds.length; k++) {
      const end = ds.episodeEnds[k]!;
      const into = k % 20 === 7 ? hold : train;
      for (let r = begin; r < end; r++) into.push(r);
      begin = end;
    }
    this.trainIdx = Int32Array.from(train);
    this.holdIdx = Int32Array.from(hold);
    this.goalIdx = this.trainIdx;
    this.spec = { noiseDim: 2, condDim: 2, hidden: config.hidden, outputDim: 2, activation: config.activation };
    const B = config.batch;
    this.labels = new Float32Array(B);
    const widths = [4, ...config.hidden, 2];
    const floats = 3 * paramCount(this.spec) + widths.reduce((a, w) => a + 4 * B * w, 0) + (1 << 16);
    this.net = new MlpTrainer(this.spec, B, createTrainKernels(floats), this.rng, { ...config.optimizer, decaySteps: config.optimizer.decaySteps ?? config.steps });
    this.xyShift = [c.stateShift[pos[0]!]!, c.stateShift[pos[1]!]!];
    this.xyInv = [c.stateInv[pos[0]!]!, c.stateInv[pos[1]!]!];
  }

  /** Load trained (EMA) weights, e.g. to re-measure held-out figures of a saved scorer. */
  loadWeights(flat: Float32Array): void {
    if (flat.length !== this.net.ema.length) throw new RangeError(`scorer weights: ${flat.length} floats, the network has ${this.net.ema.length}`);
    this.net.ema.set(flat);
    this.net.params.set(flat);
  }

  /** Writes a uniform bounding-box sample (normalized) and a random dataset goal into row r of x. */
  private writeNegative(x: Float32Array, r: number): void {
    for (let j = 0; j < 2; j++) {
      const v = this.lo[j]! + this.rng.uniform() * (this.hi[j]! - this.lo[j]!);
      x[r * 4 + j] = (v - this.xyShift[j]!) * this.xyInv[j]!;
    }
    const g = this.goalIdx[this.rng.int(this.goalIdx.length)]!;
    x[r * 4 + 2] = this.rows[g * 4 + 2]!;
    x[r * 4 + 3] = this.rows[g * 4 + 3]!;
  }

  step(): ScorerStats {
    const B = this.config.batch, half = B >> 1;
    const x = this.net.input;
    const labels = this.labels;
    for (let r = 0; r < half; r++) {
      const i = this.trainIdx[this.rng.int(this.trainIdx.length)]!;
      for (let j = 0; j < 4; j++) x[r * 4 + j] = this.rows[i * 4 + j]!;
      labels[r] = this.ctg[i]! / this.ctgScale;
    }
    for (let r = half; r < B; r++) this.writeNegative(x, r);
    const y = this.net.forward();
    const g = this.net.gradOutput;
    let bce = 0, se = 0;
    for (let r = 0; r < B; r++) {
      const z = y[r * 2]!, target = r < half ? 1 : 0;
      const p = 1 / (1 + Math.exp(-z));
      bce += Math.max(z, 0) - z * target + Math.log1p(Math.exp(-Math.abs(z)));
      g[r * 2] = (p - target) / B;
      if (r < half) {
        const d = y[r * 2 + 1]! - labels[r]!;
        se += d * d;
        g[r * 2 + 1] = (2 * d) / half;
      } else {
        g[r * 2 + 1] = 0;
      }
    }
    this.net.backward();
    this.net.step();
    this.stepCount++;
    return { step: this.stepCount, occLoss: bce / B, ctgRmse: Math.sqrt(se / half) * this.ctgScale };
  }


  /** Held-out figures with the EMA weights: segments never trained on, plus fresh box samples. */
  holdout(samples = 20_000, recallTarget = 0.99): ScorerHoldout {
    const restore = this.net.useEma();
    try {
      const B = this.config.batch, half = B >> 1;
      const rng = new Rng(999);
      let correct = 0, total = 0, recall = 0, pos = 0, se = 0, labelSum = 0;
      const posLogits: number[] = [], boxLogits: number[] = [];
      for (let done = 0; done < samples; done += half) {
        const x = this.net.input;
        for (let r = 0; r < half; r++) {
          const i = this.holdIdx[rng.int(this.holdIdx.length)]!;
          for (let j = 0; j < 4; j++) x[r * 4 + j] = this.rows[i * 4 + j]!;
          this.labels[r] = this.ctg[i]!;
        }
        for (let r = half; r < B; r++) this.writeNegative(x, r);
        const y = this.net.forward();
        for (let r = 0; r < B; r++) {
          const free = y[r * 2]! > 0;
          (r < half ? posLogits : boxLogits).push(y[r * 2]!);
          if (r < half) {
            pos++; if (free) { recall++; correct++; }
            const d = y[r * 2 + 1]! * this.ctgScale - this.labels[r]!;
            se += d * d; labelSum += this.labels[r]!;
          } else if (!free) correct++;
          total++;
        }
      }
      const rmse = Math.sqrt(se / pos);
      posLogits.sort((a, b) => a - b);
      const occThreshold = Math.min(0, posLogits[Math.floor((1 - recallTarget) * (posLogits.length - 1))]!);
      const occBoxRejected = boxLogits.filter((z) => z < occThreshold).length / Math.max(1, boxLogits.length);
      return { occAccuracy: correct / total, occRecall: recall / pos, occThreshold, occBoxRejected, ctgRmse: rmse, ctgRelRmse: rmse / (labelSum / pos) };
    } finally {
      restore();
    }
  }
}
