import { paramCount, type Activation, type MlpSpec } from '../model/mlp-spec.js';
import { checkConvSpec, convDenseSpec, DEFAULT_CONV, type ConvSpec, type GeneratorArch } from '../model/conv-spec.js';
import { UsageError } from '../errors.js';
import { ConvTrainer } from './conv-trainer.js';
import type { GeneratorNet } from './generator-net.js';
import { checkTransformerSpec, DEFAULT_TRANSFORMER, transformerIoSpec, type TransformerSpec } from '../model/transformer-spec.js';
import { TransformerTrainer, transformerTrainerFloats } from './transformer-trainer.js';
import { Rng } from '../util/rng.js';
import { createDriftScratch, driftGroup, keyDistances, keyDistancesGemm, type DriftScratch } from './drift.js';
import { DEFAULT_OPTIMIZER, MlpTrainer, type OptimizerConfig } from './mlp-trainer.js';
import type { DriftProblem } from './problem.js';
import type { PlannerBackend } from '../planner/planner-backend.js';
import { createTrainKernels, type TrainKernels } from './wasm-kernels.js';

export type KeyVariant = 'keyed' | 'full' | 'condition';
export const KEY_VARIANTS: readonly KeyVariant[] = ['keyed', 'full', 'condition'];

export interface KdpConfig {
  /** keyed (default): grouped kNN positives, kernel on [w·c, key dims]; full: random positives,
   *  whole-batch kernel on full windows (naive); condition: kernel on the condition only */
  key: KeyVariant;
  repulsion: boolean;
  conditionsPerStep: number;
  samplesPerCondition: number;
  positivesPerCondition: number;
  temperatures: number[];
  condKeyWeight: number;
  /** weight of each block's own distance in its block kernel (0 = no block kernels) */
  blockWeight: number;
  noiseDim: number;
  /** generator network: 'mlp' (default; `hidden`, `activation`) or 'conv' (temporal conv over the window, `conv`) */
  arch?: GeneratorArch;
  /** shape of the temporal conv generator (arch 'conv'; the horizon and step size come from the problem) */
  conv?: { channels: number; kernel: number; layers: number; trunk?: number[]; upsample?: number };
  /** shape of the transformer generator (arch 'transformer'; tokens = the problem's plan steps) */
  transformer?: { channels: number; layers: number; ff: number; trunk?: readonly number[] };
  hidden: number[];
  activation: Activation;
  optimizer: OptimizerConfig;
  seed: number;
}

export const DEFAULT_KDP_CONFIG: KdpConfig = {
  key: 'keyed', repulsion: true,
  conditionsPerStep: 16, samplesPerCondition: 32, positivesPerCondition: 64,
  temperatures: [0.02, 0.05, 0.2], condKeyWeight: 3, blockWeight: 1,
  noiseDim: 16, arch: 'mlp', hidden: [256, 256, 256], activation: 'relu',
  optimizer: DEFAULT_OPTIMIZER, seed: 0,
};

export interface StepStats {
  step: number;
  /** mean squared normalised drift (the loss value; ≈ constant by construction) */
  loss: number;
  /** RMS of the raw drift at the middle temperature: falls as generated windows approach the data */
  driftRms: number;
  gradNorm: number;
}

/**
 * Keyed Drifting Policy trainer: one-step generator f(z, c) → window, trained so that generated
 * windows are attracted to condition-matched data windows and repelled from each other, with kernel
 * distances in key space and updates in full window space.
 */
export class KdpTrainer {
  readonly net: GeneratorNet;
  /** the dense network trained and exported (for arch 'conv': the conv's exact dense equivalent; for 'transformer': only its I/O) */
  readonly spec: MlpSpec;
  /** the conv shape when arch is 'conv' */
  readonly convSpec: ConvSpec | null;
  /** the transformer shape when arch is 'transformer' */
  readonly transformerSpec: TransformerSpec | null;
  readonly rng: Rng;
  readonly kernels: TrainKernels;
  private readonly Bc: number;
  private readonly M: number;
  private readonly K: number;
  private readonly D: number;
  private readonly dc: number;
  private readonly dk: number;
  private readonly cond: Float32Array;
  private readonly pos: Float32Array;
  private readonly posCond: Float32Array;
  private readonly stacked: Float32Array;
  private readonly Kx: Float32Array;
  private readonly Kp: Float32Array;
  /** block keys of [positives | generated], transposed (nb × (P+M)), kernel memory */
  private readonly blockT: Float32Array;
  private readonly gram: Float32Array;
  /** wide main keys, transposed (dk × (P+M)), kernel memory; empty for compact keys */
  private readonly keyT: Float32Array;
  private readonly norms: Float64Array;
  private readonly Vt: Float32Array[];
  private readonly Vblock: Float32Array;
  private readonly Vsum: Float32Array;
  private readonly scratch: DriftScratch;
  private readonly blockDist: Float32Array;
  private readonly maxBlockDims: number;
  /** feature index of each window dim (0 = key-governed dims, 1.. = blocks with their own kernel) */
  private readonly featureOf: Int32Array;
  private readonly featureDims: number[];
  private readonly featureSq: Float64Array;
  private readonly featureInv: Float64Array;
  stepCount = 0;

  constructor(readonly problem: DriftProblem, readonly config: KdpConfig, kernels?: TrainKernels) {
    const c = config;
    this.Bc = c.conditionsPerStep; this.M = c.samplesPerCondition; this.K = c.positivesPerCondition;
    this.D = problem.windowDim; this.dc = problem.condDim;
    if (problem.clampDims > this.dc) throw new RangeError('clampDims exceeds the condition size');
    this.dk = c.key === 'keyed' ? this.dc + problem.keyDims.length : c.key === 'condition' ? this.dc : this.D;
    this.convSpec = c.arch === 'conv' ? convSpecFor(problem, c) : null;
    this.transformerSpec = c.arch === 'transformer' ? transformerSpecFor(problem, c) : null;
    this.spec = this.convSpec ? convDenseSpec(this.convSpec) : this.transformerSpec ? transformerIoSpec(this.transformerSpec)
      : { noiseDim: c.noiseDim, condDim: this.dc, hidden: c.hidden, outputDim: this.D - problem.clampDims, activation: c.activation };
    const rows = this.Bc * this.M;
    const P = this.Bc * this.K;
    this.maxBlockDims = Math.max(0, ...problem.blocks.map((b) => b.dims.length));
    this.featureOf = new Int32Array(this.D);
    this.featureDims = [this.D - problem.clampDims];
    if (c.key === 'keyed' && c.blockWeight > 0) {
      problem.blocks.forEach((b, i) => {
        for (const d of b.dims) this.featureOf[d] = i + 1;
        this.featureDims[0]! -= b.dims.length;
        this.featureDims.push(b.dims.length);
      });
    }
    this.featureDims[0] = Math.max(1, this.featureDims[0]!);
    this.featureSq = new Float64Array(this.featureDims.length);
    this.featureInv = new Float64Array(this.featureDims.length);
    const [gm, gp] = c.key === 'full' ? [rows, P] : [this.M, this.K];
    const layerWidths = [c.noiseDim + this.dc, ...this.spec.hidden, this.spec.outputDim];
    const activations = layerWidths.reduce((n, w) => n + 4 * rows * w, 0);
    const floats = 3 * paramCount(this.spec) + activations + (P + rows) * this.D
      + (c.temperatures.length + 1) * rows * this.D + 2 * gm * (gp + gm) + (this.maxBlockDims + (this.dk > 32 ? this.dk : 0)) * (gp + gm) + (1 << 16)
      + (this.transformerSpec ? transformerTrainerFloats(this.transformerSpec, rows) : 0);
    this.kernels = kernels ?? createTrainKernels(floats);
    this.rng = new Rng(c.seed);
    this.net = this.convSpec ? new ConvTrainer(this.convSpec, rows, this.kernels, this.rng, c.optimizer)
      : this.transformerSpec ? new TransformerTrainer(this.transformerSpec, rows, this.kernels, this.rng, c.optimizer)
      : new MlpTrainer(this.spec, rows, this.kernels, this.rng, c.optimizer);
    this.cond = new Float32Array(this.Bc * this.dc);
    this.pos = new Float32Array(P * this.D);
    this.posCond = new Float32Array(P * this.dc);
    this.stacked = this.kernels.alloc((P + rows) * this.D);
    this.Kx = new Float32Array(rows * this.dk);
    this.Kp = new Float32Array(P * this.dk);
    this.blockT = this.kernels.alloc(this.maxBlockDims * (gp + gm));
    this.gram = this.kernels.alloc(gm * (gp + gm));
    this.keyT = this.kernels.alloc(this.dk > 32 ? this.dk * (gp + gm) : 0);
    this.norms = new Float64Array(gp + gm);
    this.Vt = c.temperatures.map(() => this.kernels.alloc(rows * this.D));
    this.Vblock = this.kernels.alloc(rows * this.D);
    this.Vsum = new Float32Array(rows * this.D);
    this.scratch = createDriftScratch(this.kernels, gm, gp);
    this.blockDist = new Float32Array(gm * (gp + gm));
  }

  /** One optimisation step. */
  step(): StepStats {
    const { Bc, M, K, D, dc, problem, config } = this;
    const clamp = problem.clampDims;
    const rows = Bc * M;
    const P = Bc * K;
    problem.sample(this.rng, Bc, K, config.key !== 'full', this.cond, this.pos, this.posCond);
    this.writeInputs(this.cond, Bc, M);
    const out = this.net.forward();
    const outDim = D - clamp;
    const grouped = config.key !== 'full';
    for (let g = 0; g < Bc; g++) {
      this.stacked.set(this.pos.subarray(g * K * D, (g + 1) * K * D), this.posRow(g, 0) * D);
      for (let m = 0; m < M; m++) {
        const r = this.genRow(g, m) * D;
        for (let j = 0; j < clamp; j++) this.stacked[r + j] = this.cond[g * dc + j]!;
        this.stacked.set(out.subarray((g * M + m) * outDim, (g * M + m + 1) * outDim), r + clamp);
      }
    }
    this.computeKeys();
    const temps = config.temperatures;
    if (grouped) {
      for (let g = 0; g < Bc; g++) this.groupDrift(g * (K + M) * D, g * M, g * K, M, K);
    } else {
      this.groupDrift(0, 0, 0, rows, P);
    }
    // drift normalisation per temperature and per feature (the key-governed dims, and each block
    // with its own kernel), over the whole batch, then summed over temperatures (Drifting App. A.6)
    const F = this.featureDims.length;
    this.Vsum.fill(0);
    let driftRms = 0;
    for (let t = 0; t < temps.length; t++) {
      const V = this.Vt[t]!;
      this.featureSq.fill(0);
      for (let r = 0; r < rows; r++) for (let j = clamp; j < D; j++) { const v = V[r * D + j]!; this.featureSq[this.featureOf[j]!]! += v * v; }
      for (let f = 0; f < F; f++) this.featureInv[f] = 1 / (Math.sqrt(this.featureSq[f]! / (rows * this.featureDims[f]!)) || 1);
      if (t === Math.floor(temps.length / 2)) driftRms = Math.sqrt(this.featureSq[0]! / (rows * this.featureDims[0]!));
      for (let r = 0; r < rows; r++) for (let j = clamp; j < D; j++) this.Vsum[r * D + j]! += V[r * D + j]! * this.featureInv[this.featureOf[j]!]!;
    }
    // loss = Σ_features mean (x − sg(x + V))² ⇒ dL/dx = −2V / (rows · dims of the feature)
    const g = this.net.gradOutput;
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < outDim; j++) {
        const v = this.Vsum[r * D + clamp + j]!;
        const f = this.featureOf[clamp + j]!;
        loss += (v * v) / this.featureDims[f]!;
        g[r * outDim + j] = (-2 * v) / (rows * this.featureDims[f]!);
      }
    }
    loss /= rows;
    this.net.backward();
    this.net.step();
    this.stepCount++;
    return { step: this.stepCount, loss, driftRms, gradNorm: this.net.lastGradNorm };
  }

  /** Network input rows: [noise, condition] for M samples of each of the n conditions. */
  private writeInputs(cond: Float32Array, n: number, M: number): void {
    const inDim = this.spec.noiseDim + this.dc;
    const x = this.net.input;
    for (let g = 0; g < n; g++) {
      for (let m = 0; m < M; m++) {
        const r = (g * M + m) * inDim;
        for (let j = 0; j < this.spec.noiseDim; j++) x[r + j] = this.rng.normal();
        for (let j = 0; j < this.dc; j++) x[r + this.spec.noiseDim + j] = cond[g * this.dc + j]!;
      }
    }
  }

  /**
   * Row of the stacked [positives | generated] matrix. Grouped variants keep each condition's K
   * positives and M generated windows together; the naive one stacks all positives, then all generated.
   */
  private posRow(g: number, k: number): number {
    return this.config.key !== 'full' ? g * (this.K + this.M) + k : g * this.K + k;
  }
  private genRow(g: number, m: number): number {
    return this.config.key !== 'full' ? g * (this.K + this.M) + this.K + m : this.Bc * this.K + g * this.M + m;
  }

  private computeKeys(): void {
    const { Bc, M, K, dc, dk } = this;
    for (let g = 0; g < Bc; g++) {
      for (let m = 0; m < M; m++) this.writeKey(this.Kx, (g * M + m) * dk, this.genRow(g, m), this.cond, g * dc);
      for (let k = 0; k < K; k++) this.writeKey(this.Kp, (g * K + k) * dk, this.posRow(g, k), this.posCond, (g * K + k) * dc);
    }
  }

  /** key of stacked row `row` with condition cnd[cOff…]: full window, [w·c], or [w·c, key dims]. */
  private writeKey(dst: Float32Array, dOff: number, row: number, cnd: Float32Array, cOff: number): void {
    const { D, dc, config } = this;
    const src = row * D;
    if (config.key === 'full') { for (let j = 0; j < D; j++) dst[dOff + j] = this.stacked[src + j]!; return; }
    const w = config.condKeyWeight;
    for (let j = 0; j < dc; j++) dst[dOff + j] = w * cnd[cOff + j]!;
    if (config.key === 'keyed') {
      const keyDims = this.problem.keyDims;
      for (let j = 0; j < keyDims.length; j++) dst[dOff + dc + j] = this.stacked[src + keyDims[j]!]!;
    }
  }

  /** Drift for one group: generated rows [genRow0, +m), positives [posRow0, +p) in key arrays. */
  private groupDrift(stackOff: number, genRow0: number, posRow0: number, m: number, p: number): void {
    const { D, dk, config, problem, scratch } = this;
    const stacked = this.stacked.subarray(stackOff, stackOff + (p + m) * D);
    const Kx = this.Kx.subarray(genRow0 * dk, (genRow0 + m) * dk);
    const Kp = this.Kp.subarray(posRow0 * dk, (posRow0 + p) * dk);
    if (dk > 32) {
      // wide keys (the naive full-window kernel): cross terms through the GEMM
      const cols = p + m;
      const T = this.keyT;
      for (let r = 0; r < p; r++) for (let j = 0; j < dk; j++) T[j * cols + r] = Kp[r * dk + j]!;
      for (let r = 0; r < m; r++) for (let j = 0; j < dk; j++) T[j * cols + p + r] = Kx[r * dk + j]!;
      keyDistancesGemm(this.kernels, T, dk, m, p, this.gram, this.norms, scratch.dist, scratch.raw);
    } else {
      keyDistances(Kx, Kp, dk, m, p, scratch.dist, scratch.raw);
    }
    const opts = { tau: 0, repulsion: config.repulsion };
    for (let t = 0; t < config.temperatures.length; t++) {
      opts.tau = config.temperatures[t]!;
      driftGroup(scratch, this.kernels, m, p, D, stacked, this.Vt[t]!.subarray(genRow0 * D, (genRow0 + m) * D), opts);
    }
    if (config.key !== 'keyed' || config.blockWeight <= 0 || problem.blocks.length === 0) return;
    // block kernels: distance = d̂_key + w·d̂_block; V from it replaces the main V on the block's dims
    const keyDist = this.blockDist;
    keyDist.set(scratch.dist.subarray(0, m * (p + m)));
    for (const block of problem.blocks) {
      const nb = block.dims.length;
      const cols = p + m;
      const T = this.blockT;
      for (let r = 0; r < cols; r++) for (let j = 0; j < nb; j++) T[j * cols + r] = stacked[r * D + block.dims[j]!]!;
      scratch.dist.set(keyDist.subarray(0, m * cols));
      keyDistancesGemm(this.kernels, T, nb, m, p, this.gram, this.norms, scratch.dist, scratch.raw, config.blockWeight, true);
      for (let t = 0; t < config.temperatures.length; t++) {
        opts.tau = config.temperatures[t]!;
        const Vb = this.Vblock.subarray(0, m * D);
        driftGroup(scratch, this.kernels, m, p, D, stacked, Vb, opts);
        const V = this.Vt[t]!;
        for (let i = 0; i < m; i++) for (let j = 0; j < nb; j++) { const d = block.dims[j]!; V[(genRow0 + i) * D + d] = Vb[i * D + d]!; }
      }
    }
  }

  /**
   * The generator's EMA weights as a loop planner (float32, N candidates per invoke), for evaluating
   * closed-loop while training. Buffers are allocated here; invoke() reuses the trainer's batch rows,
   * so call it only between steps.
   */
  plannerBackend(N: number): PlannerBackend {
    if (N > this.net.batch) throw new RangeError(`at most ${this.net.batch} candidates while training, got ${N}`);
    const { dc } = this;
    const nz = this.spec.noiseDim, outDim = this.spec.outputDim, inDim = nz + dc;
    const noise = new Float32Array(N * nz), condition = new Float32Array(N * dc), plan = new Float32Array(N * outDim);
    return {
      name: 'trainer-float', candidates: N, noiseDim: nz, condDim: dc, outDim, noise, condition, plan, arenaBytes: 0,
      invoke: () => {
        const restore = this.net.useEma();
        try {
          const x = this.net.input;
          for (let r = 0; r < N; r++) {
            for (let j = 0; j < nz; j++) x[r * inDim + j] = noise[r * nz + j]!;
            for (let j = 0; j < dc; j++) x[r * inDim + nz + j] = condition[r * dc + j]!;
          }
          plan.set(this.net.forward(N).subarray(0, N * outDim));
        } finally {
          restore();
        }
      },
    };
  }

  /**
   * Generate `samples` windows for each of `n` conditions with the EMA weights (evaluation).
   * `out` receives n×samples full windows (clamped dims filled from the condition).
   */
  generate(cond: Float32Array, n: number, samples: number, out: Float32Array, rng: Rng = new Rng(12345)): void {
    const restore = this.net.useEma();
    try {
      const { D, dc } = this;
      const clamp = this.problem.clampDims;
      const outDim = D - clamp;
      const inDim = this.spec.noiseDim + dc;
      const cap = this.net.batch;
      const total = n * samples;
      for (let start = 0; start < total; start += cap) {
        const rows = Math.min(cap, total - start);
        for (let r = 0; r < rows; r++) {
          const g = Math.floor((start + r) / samples);
          for (let j = 0; j < this.spec.noiseDim; j++) this.net.input[r * inDim + j] = rng.normal();
          for (let j = 0; j < dc; j++) this.net.input[r * inDim + this.spec.noiseDim + j] = cond[g * dc + j]!;
        }
        const y = this.net.forward(rows);
        for (let r = 0; r < rows; r++) {
          const g = Math.floor((start + r) / samples);
          const o = (start + r) * D;
          for (let j = 0; j < clamp; j++) out[o + j] = cond[g * dc + j]!;
          for (let j = 0; j < outDim; j++) out[o + clamp + j] = y[r * outDim + j]!;
        }
      }
    } finally {
      restore();
    }
  }
}

/** The conv shape for a problem: one time step per plan step, its state + action per step. */
/** The per-step layout the sequence generators need: plan steps × values per step, or a usage error naming the arch. */
function timeSeries(problem: DriftProblem, arch: string): { horizon: number; stepDim: number } {
  const stepDim = problem.stepDim;
  if (!stepDim || problem.windowDim % stepDim !== 0) {
    throw new UsageError(`--arch ${arch} needs a time-series window; ${problem.name} does not say how many values make one step`, 'train it with --arch mlp');
  }
  return { horizon: problem.windowDim / stepDim, stepDim };
}

function convSpecFor(problem: DriftProblem, c: KdpConfig): ConvSpec {
  const { horizon, stepDim } = timeSeries(problem, 'conv');
  const shape = c.conv ?? DEFAULT_CONV;
  const spec: ConvSpec = {
    noiseDim: c.noiseDim, condDim: problem.condDim, horizon, stepDim, clampDims: problem.clampDims,
    channels: shape.channels, kernel: shape.kernel, layers: shape.layers,
    ...(shape.trunk?.length ? { trunk: [...shape.trunk] } : {}),
    ...('upsample' in shape && shape.upsample !== undefined && shape.upsample > 1 ? { upsample: shape.upsample } : {}),
  };
  try {
    checkConvSpec(spec);
  } catch (e) {
    throw new UsageError(`invalid conv generator: ${(e as Error).message}`, 'pass --channels ≥ 1, an odd --conv-kernel no wider than 2·horizon − 1, --conv-layers ≥ 1 and --conv-upsample below the horizon');
  }
  return spec;
}

/** The transformer shape for a problem: one token per plan step, its state + action per token. */
function transformerSpecFor(problem: DriftProblem, c: KdpConfig): TransformerSpec {
  const { horizon, stepDim } = timeSeries(problem, 'transformer');
  const shape = c.transformer ?? DEFAULT_TRANSFORMER;
  const spec: TransformerSpec = {
    noiseDim: c.noiseDim, condDim: problem.condDim, horizon, stepDim, clampDims: problem.clampDims,
    channels: shape.channels, layers: shape.layers, ff: shape.ff, trunk: [...(shape.trunk ?? [])],
  };
  try {
    checkTransformerSpec(spec);
  } catch (e) {
    throw new UsageError(`invalid transformer generator: ${(e as Error).message}`, 'pass --tf-channels, --tf-layers and --tf-ff as positive integers and --tf-trunk as widths or none');
  }
  return spec;
}
