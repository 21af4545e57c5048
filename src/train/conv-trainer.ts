import { CheckpointError } from '../errors.js';
import { convDenseSpec, convFreeLayout, expandConvWeights, reduceConvGrads, type ConvSpec } from '../model/conv-spec.js';
import type { Rng } from '../util/rng.js';
import { DEFAULT_OPTIMIZER, adamwUpdate, MlpTrainer, type OptimizerConfig } from './mlp-trainer.js';
import type { TrainKernels } from './wasm-kernels.js';

/**
 * The temporal-conv generator trained through its dense equivalent (conv-spec.ts): forward and
 * backward are the MLP's GEMMs over the expanded block-Toeplitz weights; the dense gradient is
 * reduced onto the shared kernels (the adjoint of the expansion), and AdamW, clipping and EMA run on
 * those free parameters only, so the dense weights stay exactly a conv after every step.
 * `params`/`ema` stay the dense expansions (what useEma, checkpoints' weights.bin and export read).
 */
export class ConvTrainer extends MlpTrainer {
  readonly conv: ConvSpec;
  readonly free: Float32Array;
  readonly freeGrad: Float32Array;
  readonly freeEma: Float32Array;
  readonly freeM: Float32Array;
  readonly freeV: Float32Array;

  constructor(conv: ConvSpec, batch: number, k: TrainKernels, rng: Rng, opt: OptimizerConfig = DEFAULT_OPTIMIZER) {
    super(convDenseSpec(conv), batch, k, rng, opt);
    this.conv = conv;
    const n = convFreeLayout(conv).total;
    this.free = new Float32Array(n);
    this.freeGrad = new Float32Array(n);
    this.freeEma = new Float32Array(n);
    this.freeM = new Float32Array(n);
    this.freeV = new Float32Array(n);
    this.initConv(rng);
  }

  /**
   * Kaiming-uniform dense layers (trunk and expansion); conv kernels at half that bound (each layer adds to its residual);
   * a small head so the first plans sit near the data mean, as the MLP's last layer.
   */
  initConv(rng: Rng): void {
    const c = this.conv, L = convFreeLayout(c), C = c.channels;
    const fill = (off: number, len: number, bound: number): void => {
      for (let j = 0; j < len; j++) this.free[off + j] = (rng.uniform() * 2 - 1) * bound;
    };
    this.free.fill(0);
    for (const d of L.dense) fill(d.W, d.outDim * d.inDim, Math.sqrt(6 / d.inDim));
    for (const l of L.conv) fill(l.K, C * C * c.kernel, 0.5 * Math.sqrt(6 / (C * c.kernel)));
    fill(L.headW, c.stepDim * C, 0.1 * Math.sqrt(6 / C));
    this.freeEma.set(this.free);
    this.freeM.fill(0); this.freeV.fill(0); this.t = 0;
    this.expand();
  }

  /** Dense params and EMA from the free ones, and the forward GEMM's transposes. */
  private expand(): void {
    expandConvWeights(this.conv, this.free, this.params);
    expandConvWeights(this.conv, this.freeEma, this.ema);
    this.refreshTransposes();
  }

  /** AdamW step with warm-up, global-norm clipping and EMA on the free parameters (as MlpTrainer.step). */
  override step(): void {
    reduceConvGrads(this.conv, this.grads, this.freeGrad);
    this.t++;
    this.lastGradNorm = adamwUpdate(this.opt, this.t, this.freeGrad, this.free, this.freeM, this.freeV, this.freeEma);
    this.expand();
  }

  /** train-state.bin of a conv run: free weights, Adam moments, free EMA (the dense EMA is weights.bin). */
  override get trainStateFloats(): number { return 4 * this.free.length; }
  override packTrainState(): Float32Array {
    const n = this.free.length;
    const state = new Float32Array(4 * n);
    state.set(this.free, 0); state.set(this.freeM, n); state.set(this.freeV, 2 * n); state.set(this.freeEma, 3 * n);
    return state;
  }
  override restoreTrainState(state: Float32Array, ema: Float32Array, t: number): void {
    const n = this.free.length;
    this.free.set(state.subarray(0, n)); this.freeM.set(state.subarray(n, 2 * n)); this.freeV.set(state.subarray(2 * n, 3 * n));
    this.freeEma.set(state.subarray(3 * n, 4 * n));
    this.t = t;
    this.expand();
    // weights.bin must be the expansion of the saved free EMA: a mismatch means the files disagree
    for (let i = 0; i < ema.length; i++) {
      if (ema[i] !== this.ema[i]) throw new CheckpointError(`conv checkpoint: weights.bin differs from the expansion of train-state.bin's EMA at index ${i}`, { hint: 'the two files come from different saves: resume from an intact generation or pass --fresh' });
    }
  }
}
