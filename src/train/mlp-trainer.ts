import { layerDims, paramCount, type MlpSpec } from '../model/mlp-spec.js';
import type { Rng } from '../util/rng.js';
import type { TrainKernels } from './wasm-kernels.js';

export interface OptimizerConfig {
  lr: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
  /** global gradient-norm clip (0 = off) */
  clip: number;
  /** EMA decay of the exported weights */
  ema: number;
  /** linear warm-up steps */
  warmup: number;
  /** cosine decay of the learning rate to `lr·minLrRatio` at this step (0 = constant after warm-up) */
  decaySteps?: number;
  minLrRatio?: number;
}

/** Learning rate at (1-based) step t: linear warm-up, then cosine decay to lr·minLrRatio at decaySteps. */
export function learningRate(opt: OptimizerConfig, t: number): number {
  const { lr, warmup, decaySteps = 0, minLrRatio = 0.1 } = opt;
  let lrT = lr * Math.min(1, t / Math.max(1, warmup));
  if (decaySteps > 0) {
    const progress = Math.min(1, t / decaySteps);
    lrT *= minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
  return lrT;
}

/** train-state.bin: raw weights, then Adam's first and second moments (3 × params floats). */
export function packAdamState(params: Float32Array, m: Float32Array, v: Float32Array): Float32Array {
  const n = params.length;
  const state = new Float32Array(3 * n);
  state.set(params, 0); state.set(m, n); state.set(v, 2 * n);
  return state;
}

/** Inverse of `packAdamState`. */
export function unpackAdamState(state: Float32Array, params: Float32Array, m: Float32Array, v: Float32Array): void {
  const n = params.length;
  params.set(state.subarray(0, n)); m.set(state.subarray(n, 2 * n)); v.set(state.subarray(2 * n));
}

/**
 * One AdamW update of flat parameters `p` (moments `m`, `v`, EMA `e`) from gradients `g` at step `t` (1-based):
 * global-norm clipping, the scheduled learning rate, bias correction, decoupled weight decay, and an EMA whose
 * decay warms up (as in common EMA schedules) so early checkpoints are not dominated by the init. Returns the
 * gradient's norm before clipping. Shared by every trainer so they step the same way.
 */
export function adamwUpdate(opt: OptimizerConfig, t: number, g: Float32Array, p: Float32Array, m: Float32Array, v: Float32Array, e: Float32Array): number {
  const { beta1, beta2, weightDecay, clip, ema } = opt;
  let sq = 0;
  for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  const scale = clip > 0 && norm > clip ? clip / norm : 1;
  const lrT = learningRate(opt, t);
  const bc1 = 1 - Math.pow(beta1, t);
  const bc2 = 1 - Math.pow(beta2, t);
  const decay = Math.min(ema, (1 + t) / (10 + t));
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * scale;
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    m[i] = mi; v[i] = vi;
    const pi = p[i]! * (1 - lrT * weightDecay) - (lrT * (mi / bc1)) / (Math.sqrt(vi / bc2) + 1e-8);
    p[i] = pi;
    e[i] = decay * e[i]! + (1 - decay) * pi;
  }
  return norm;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, weightDecay: 0.0, clip: 2.0, ema: 0.999, warmup: 100 };

interface LayerBufs {
  inDim: number;
  outDim: number;
  W: Float32Array;   // out×in view into params (TFLite layout)
  b: Float32Array;
  gW: Float32Array;
  gb: Float32Array;
  Wt: Float32Array;  // in×out copy for the forward GEMM
  pre: Float32Array; // batch×out pre-activation
  act: Float32Array; // batch×out activation (the last layer's is the output)
  gAct: Float32Array; // batch×out gradient w.r.t. pre-activation (after backward of activation)
}

/**
 * A batched MLP with hand-written forward/backward over the training kernels, AdamW, global-norm
 * clipping and EMA weights. Memory is allocated once for a fixed batch size.
 */
export class MlpTrainer {
  readonly spec: MlpSpec;
  readonly batch: number;
  /** flat parameters, `packWeights` layout (W0, b0, W1, b1, ...) */
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly ema: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** batch × (noiseDim + condDim); the caller writes the network input here */
  readonly input: Float32Array;
  /** batch × outputDim; valid after forward() */
  readonly output: Float32Array;
  /** batch × outputDim; the caller writes dLoss/dOutput here before backward() */
  readonly gradOutput: Float32Array;
  private readonly layers: LayerBufs[];
  private readonly gInput: Float32Array;
  protected t = 0;
  lastGradNorm = 0;

  constructor(spec: MlpSpec, batch: number, readonly k: TrainKernels, rng: Rng, readonly opt: OptimizerConfig = DEFAULT_OPTIMIZER) {
    this.spec = spec;
    this.batch = batch;
    const n = paramCount(spec);
    this.params = k.alloc(n);
    this.grads = k.alloc(n);
    this.ema = new Float32Array(n);
    this.m = new Float32Array(n);
    this.v = new Float32Array(n);
    const dims = layerDims(spec);
    this.input = k.alloc(batch * dims[0]![0]);
    this.gInput = k.alloc(batch * dims[0]![0]);
    let off = 0;
    this.layers = dims.map(([inDim, outDim]) => {
      const W = this.params.subarray(off, off + inDim * outDim);
      const gW = this.grads.subarray(off, off + inDim * outDim);
      off += inDim * outDim;
      const b = this.params.subarray(off, off + outDim);
      const gb = this.grads.subarray(off, off + outDim);
      off += outDim;
      return { inDim, outDim, W, b, gW, gb, Wt: k.alloc(inDim * outDim), pre: k.alloc(batch * outDim), act: k.alloc(batch * outDim), gAct: k.alloc(batch * outDim) };
    });
    const last = this.layers[this.layers.length - 1]!;
    this.output = last.act;
    this.gradOutput = last.gAct;
    this.init(rng);
  }

  /** Kaiming-uniform hidden layers; a small last layer so the first plans sit near the data mean. */
  init(rng: Rng): void {
    this.layers.forEach((l, i) => {
      const last = i === this.layers.length - 1;
      const bound = Math.sqrt(6 / l.inDim) * (last ? 0.1 : 1) * (this.spec.activation === 'relu' ? 1 : 0.8);
      for (let j = 0; j < l.W.length; j++) l.W[j] = (rng.uniform() * 2 - 1) * bound;
      l.b.fill(0);
    });
    this.ema.set(this.params);
    this.m.fill(0); this.v.fill(0); this.t = 0;
    this.refreshTransposes();
  }

  get stepCount(): number { return this.t; }

  refreshTransposes(): void {
    for (const l of this.layers) {
      const { W, Wt, inDim, outDim } = l;
      for (let o = 0; o < outDim; o++) {
        const row = o * inDim;
        for (let i = 0; i < inDim; i++) Wt[i * outDim + o] = W[row + i]!;
      }
    }
  }

  /** Forward over the first `rows` rows of `input` (rows ≤ batch). */
  forward(rows = this.batch): Float32Array {
    let x = this.input;
    const last = this.layers.length - 1;
    for (let li = 0; li <= last; li++) {
      const l = this.layers[li]!;
      const target = li === last ? l.act : l.pre;
      this.k.gemm(rows, l.outDim, l.inDim, x, l.inDim, 1, l.Wt, l.outDim, target, 0);
      this.k.addBias(rows, l.outDim, target, l.b);
      if (li < last) this.activate(rows * l.outDim, l.pre, l.act);
      x = l.act;
    }
    return this.output;
  }

  private activate(n: number, pre: Float32Array, out: Float32Array): void {
    switch (this.spec.activation) {
      case 'relu': this.k.reluForward(n, pre, out); break;
      case 'silu': for (let i = 0; i < n; i++) { const z = pre[i]!; out[i] = z / (1 + Math.exp(-z)); } break;
      case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(pre[i]!); break;
    }
  }

  private activateBackward(n: number, pre: Float32Array, act: Float32Array, grad: Float32Array): void {
    switch (this.spec.activation) {
      case 'relu': this.k.reluBackward(n, pre, grad); break;
      case 'silu': for (let i = 0; i < n; i++) { const z = pre[i]!; const s = 1 / (1 + Math.exp(-z)); grad[i]! *= s * (1 + z * (1 - s)); } break;
      case 'tanh': for (let i = 0; i < n; i++) { const a = act[i]!; grad[i]! *= 1 - a * a; } break;
    }
  }

  /** Backward from `gradOutput` (first `rows` rows); fills `grads`. */
  backward(rows = this.batch): void {
    for (let li = this.layers.length - 1; li >= 0; li--) {
      const l = this.layers[li]!;
      const x = li === 0 ? this.input : this.layers[li - 1]!.act;
      // dW (out×in) = dYᵀ · X ; db = Σ rows dY
      this.k.gemm(l.outDim, l.inDim, rows, l.gAct, 1, l.outDim, x, l.inDim, l.gW, 0);
      this.k.colSum(rows, l.outDim, l.gAct, l.gb);
      if (li > 0) {
        const prev = this.layers[li - 1]!;
        // dX (rows×in) = dY · W
        this.k.gemm(rows, l.inDim, l.outDim, l.gAct, l.outDim, 1, l.W, l.inDim, prev.gAct, 0);
        this.activateBackward(rows * prev.outDim, prev.pre, prev.act, prev.gAct);
      } else {
        this.k.gemm(rows, l.inDim, l.outDim, l.gAct, l.outDim, 1, l.W, l.inDim, this.gInput, 0);
      }
    }
  }

  /** Gradient w.r.t. the input (valid after backward); used by the gradient check. */
  get inputGrad(): Float32Array { return this.gInput; }

  /** AdamW step with warm-up, global-norm clipping and EMA update. */
  step(): void {
    this.t++;
    this.lastGradNorm = adamwUpdate(this.opt, this.t, this.grads, this.params, this.m, this.v, this.ema);
    this.refreshTransposes();
  }

  /** Optimizer state for resume. */
  exportState(): { t: number } { return { t: this.t }; }
  /** Floats of `packTrainState()` (train-state.bin). */
  get trainStateFloats(): number { return 3 * this.params.length; }
  /** train-state.bin: raw weights, Adam first and second moments. */
  packTrainState(): Float32Array { return packAdamState(this.params, this.m, this.v); }
  /** Inverse of `packTrainState`, with the EMA weights (weights.bin) and the optimizer step. */
  restoreTrainState(state: Float32Array, ema: Float32Array, t: number): void {
    unpackAdamState(state, this.params, this.m, this.v);
    this.ema.set(ema);
    this.importState({ t });
  }
  importState(s: { t: number }): void { this.t = s.t; this.refreshTransposes(); }

  /** Swap EMA weights in (for evaluation) and return a function that swaps them back. */
  useEma(): () => void {
    const saved = Float32Array.from(this.params);
    this.params.set(this.ema);
    this.refreshTransposes();
    return () => { this.params.set(saved); this.refreshTransposes(); };
  }
}
