/**
 * The transformer generator (model/transformer-spec.ts) with a hand-written batched forward and backward:
 * per-token linear maps are one GEMM over all rows·T tokens (the training kernels), attention runs per
 * sample through the same GEMM on [T, T] blocks, softmax and residuals in plain loops. AdamW, clipping and
 * EMA are the MLP's (`adamwUpdate`). All buffers are allocated once, in the kernels' memory.
 */
import { transformerLayout, transformerIoSpec, type DenseOffsets, type TransformerSpec } from '../model/transformer-spec.js';
import type { Rng } from '../util/rng.js';
import type { GeneratorNet } from './generator-net.js';
import { adamwUpdate, DEFAULT_OPTIMIZER, packAdamState, unpackAdamState, type OptimizerConfig } from './mlp-trainer.js';
import type { TrainKernels } from './wasm-kernels.js';

interface Dense {
  d: DenseOffsets;
  W: Float32Array; b: Float32Array; gW: Float32Array; gb: Float32Array;
  /** in × out copy of W for the forward GEMM */
  Wt: Float32Array;
}
interface BlockBufs {
  q: Dense; k: Dense; v: Dense; o: Dense; f1: Dense; f2: Dense;
  /** per token (rows·T × C or F): queries (scaled by 1/√C), keys, values, attention output, h after attention, FF pre/post ReLU, h after FF */
  Q: Float32Array; K: Float32Array; V: Float32Array; ctx: Float32Array; h1: Float32Array; fpre: Float32Array; fact: Float32Array; h2: Float32Array;
  /** per sample softmax weights (rows × T × T) */
  A: Float32Array;
}

/** Floats of kernel memory a TransformerTrainer of `rows` rows allocates (KdpTrainer sizes the kernels with it). */
export function transformerTrainerFloats(s: TransformerSpec, rows: number): number {
  const L = transformerLayout(s), T = s.horizon, C = s.channels, tok = rows * T;
  const inDim = s.noiseDim + s.condDim;
  let n = 3 * L.total + rows * inDim;
  for (const d of L.trunk) n += d.inDim * d.outDim + 3 * rows * d.outDim;
  n += L.embed.inDim * L.embed.outDim + tok * C;
  n += s.layers * (4 * C * C + 2 * C * s.ff + 6 * tok * C + 2 * tok * s.ff + rows * T * T);
  n += C * s.stepDim + tok * s.stepDim * 2;
  n += 5 * tok * C + tok * s.ff + T * T + 2 * C * T + rows * Math.max(inDim, ...s.trunk, 1);
  return n + 64 * 64;
}

export class TransformerTrainer implements GeneratorNet {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly ema: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly input: Float32Array;
  readonly output: Float32Array;
  readonly gradOutput: Float32Array;
  lastGradNorm = 0;
  private t = 0;
  private readonly inDim: number;
  private readonly outDim: number;
  private readonly scale: number;
  private readonly trunk: Array<Dense & { pre: Float32Array; act: Float32Array; gAct: Float32Array }>;
  private readonly embed: Dense;
  private readonly h0: Float32Array;
  private readonly blocks: BlockBufs[];
  private readonly head: Dense;
  private readonly y: Float32Array;
  private readonly gY: Float32Array;
  private readonly gH: Float32Array;
  private readonly gCtx: Float32Array;
  private readonly gQ: Float32Array;
  private readonly gK: Float32Array;
  private readonly gV: Float32Array;
  private readonly gF: Float32Array;
  private readonly gA: Float32Array;
  private readonly kt: Float32Array;
  private readonly gEmbedIn: Float32Array;

  constructor(readonly spec: TransformerSpec, readonly batch: number, readonly k: TrainKernels, rng: Rng, readonly opt: OptimizerConfig = DEFAULT_OPTIMIZER) {
    const L = transformerLayout(spec), T = spec.horizon, C = spec.channels, tok = batch * T;
    this.inDim = spec.noiseDim + spec.condDim;
    this.outDim = transformerIoSpec(spec).outputDim;
    this.scale = 1 / Math.sqrt(C);
    this.params = k.alloc(L.total);
    this.grads = k.alloc(L.total);
    this.ema = new Float32Array(L.total);
    this.m = new Float32Array(L.total);
    this.v = new Float32Array(L.total);
    this.input = k.alloc(batch * this.inDim);
    this.output = new Float32Array(batch * this.outDim);
    this.gradOutput = new Float32Array(batch * this.outDim);
    const dense = (d: DenseOffsets): Dense => ({
      d, W: this.params.subarray(d.W, d.W + d.inDim * d.outDim), b: this.params.subarray(d.b, d.b + d.outDim),
      gW: this.grads.subarray(d.W, d.W + d.inDim * d.outDim), gb: this.grads.subarray(d.b, d.b + d.outDim), Wt: k.alloc(d.inDim * d.outDim),
    });
    this.trunk = L.trunk.map((d) => ({ ...dense(d), pre: k.alloc(batch * d.outDim), act: k.alloc(batch * d.outDim), gAct: k.alloc(batch * d.outDim) }));
    this.embed = dense(L.embed);
    this.h0 = k.alloc(tok * C);
    this.blocks = L.blocks.map((b) => ({
      q: dense(b.q), k: dense(b.k), v: dense(b.v), o: dense(b.o), f1: dense(b.f1), f2: dense(b.f2),
      Q: k.alloc(tok * C), K: k.alloc(tok * C), V: k.alloc(tok * C), ctx: k.alloc(tok * C), h1: k.alloc(tok * C),
      fpre: k.alloc(tok * spec.ff), fact: k.alloc(tok * spec.ff), h2: k.alloc(tok * C), A: k.alloc(batch * T * T),
    }));
    this.head = dense(L.head);
    this.y = k.alloc(tok * spec.stepDim);
    this.gY = k.alloc(tok * spec.stepDim);
    this.gH = k.alloc(tok * C);
    this.gCtx = k.alloc(tok * C);
    this.gQ = k.alloc(tok * C);
    this.gK = k.alloc(tok * C);
    this.gV = k.alloc(tok * C);
    this.gF = k.alloc(tok * spec.ff);
    this.gA = k.alloc(T * T);
    this.kt = k.alloc(C * T);
    this.gEmbedIn = k.alloc(batch * Math.max(this.inDim, ...spec.trunk, 1));
    this.init(rng);
  }

  /**
   * Kaiming-uniform trunk, expansion and FF input; unit-variance q/k/v maps; the residual branches' output
   * maps (Wo, W2) at half scale; a small head so the first plans sit near the data mean (as the MLP's last layer).
   */
  init(rng: Rng): void {
    const fill = (x: Dense, bound: number): void => {
      for (let j = 0; j < x.W.length; j++) x.W[j] = (rng.uniform() * 2 - 1) * bound;
      x.b.fill(0);
    };
    const C = this.spec.channels;
    for (const d of this.trunk) fill(d, Math.sqrt(6 / d.d.inDim));
    fill(this.embed, Math.sqrt(6 / this.embed.d.inDim));
    for (const b of this.blocks) {
      fill(b.q, Math.sqrt(3 / C)); fill(b.k, Math.sqrt(3 / C)); fill(b.v, Math.sqrt(3 / C));
      fill(b.o, 0.5 * Math.sqrt(3 / C)); fill(b.f1, Math.sqrt(6 / C)); fill(b.f2, 0.5 * Math.sqrt(3 / this.spec.ff));
    }
    fill(this.head, 0.1 * Math.sqrt(6 / C));
    this.ema.set(this.params);
    this.m.fill(0); this.v.fill(0); this.t = 0;
    this.refreshTransposes();
  }

  get stepCount(): number { return this.t; }

  private allDense(): Dense[] {
    return [...this.trunk, this.embed, ...this.blocks.flatMap((b) => [b.q, b.k, b.v, b.o, b.f1, b.f2]), this.head];
  }

  refreshTransposes(): void {
    for (const { W, Wt, d } of this.allDense()) {
      for (let o = 0; o < d.outDim; o++) for (let i = 0; i < d.inDim; i++) Wt[i * d.outDim + o] = W[o * d.inDim + i]!;
    }
  }

  /** y (rows × out) = x (rows × in) · Wᵀ + b */
  private fc(x: Dense, rows: number, inp: Float32Array, out: Float32Array): void {
    this.k.gemm(rows, x.d.outDim, x.d.inDim, inp, x.d.inDim, 1, x.Wt, x.d.outDim, out, 0);
    this.k.addBias(rows, x.d.outDim, out, x.b);
  }

  /** gW = gYᵀ·X, gb = Σ gY; with gIn: gIn (+)= gY·W */
  private fcBackward(x: Dense, rows: number, inp: Float32Array, gOut: Float32Array, gIn: Float32Array | null, accumulate: 0 | 1): void {
    const { inDim, outDim } = x.d;
    this.k.gemm(outDim, inDim, rows, gOut, 1, outDim, inp, inDim, x.gW, 0);
    this.k.colSum(rows, outDim, gOut, x.gb);
    if (gIn) this.k.gemm(rows, inDim, outDim, gOut, outDim, 1, x.W, inDim, gIn, accumulate);
  }

  forward(rows = this.batch): Float32Array {
    const { spec, k } = this;
    const T = spec.horizon, C = spec.channels, tok = rows * T;
    let x = this.input;
    for (const d of this.trunk) {
      this.fc(d, rows, x, d.pre);
      k.reluForward(rows * d.d.outDim, d.pre, d.act);
      x = d.act;
    }
    this.fc(this.embed, rows, x, this.h0);
    let h = this.h0;
    for (const b of this.blocks) {
      this.fc(b.q, tok, h, b.Q);
      for (let i = 0; i < tok * C; i++) b.Q[i]! *= this.scale;
      this.fc(b.k, tok, h, b.K);
      this.fc(b.v, tok, h, b.V);
      for (let n = 0; n < rows; n++) {
        const o = n * T * C;
        const Kn = b.K.subarray(o, o + T * C);
        for (let j = 0; j < T; j++) for (let c = 0; c < C; c++) this.kt[c * T + j] = Kn[j * C + c]!;
        const An = b.A.subarray(n * T * T, (n + 1) * T * T);
        k.gemm(T, T, C, b.Q.subarray(o, o + T * C), C, 1, this.kt, T, An, 0);
        softmaxRows(An, T);
        k.gemm(T, C, T, An, T, 1, b.V.subarray(o, o + T * C), C, b.ctx.subarray(o, o + T * C), 0);
      }
      this.fc(b.o, tok, b.ctx, b.h1);
      for (let i = 0; i < tok * C; i++) b.h1[i]! += h[i]!;
      this.fc(b.f1, tok, b.h1, b.fpre);
      k.reluForward(tok * spec.ff, b.fpre, b.fact);
      this.fc(b.f2, tok, b.fact, b.h2);
      for (let i = 0; i < tok * C; i++) b.h2[i]! += b.h1[i]!;
      h = b.h2;
    }
    this.fc(this.head, tok, h, this.y);
    const sd = T * spec.stepDim, cl = spec.clampDims, od = this.outDim;
    for (let r = 0; r < rows; r++) for (let j = 0; j < od; j++) this.output[r * od + j] = this.y[r * sd + cl + j]!;
    return this.output;
  }

  backward(rows = this.batch): void {
    const { spec, k } = this;
    const T = spec.horizon, C = spec.channels, tok = rows * T;
    const sd = T * spec.stepDim, cl = spec.clampDims, od = this.outDim;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cl; j++) this.gY[r * sd + j] = 0;
      for (let j = 0; j < od; j++) this.gY[r * sd + cl + j] = this.gradOutput[r * od + j]!;
    }
    const hOut = (l: number): Float32Array => (l < 0 ? this.h0 : this.blocks[l]!.h2);
    const gH = this.gH;
    this.fcBackward(this.head, tok, hOut(this.blocks.length - 1), this.gY, gH, 0);
    for (let l = this.blocks.length - 1; l >= 0; l--) {
      const b = this.blocks[l]!;
      const hin = hOut(l - 1);
      // h2 = h1 + W2·ReLU(W1·h1 + b1) + b2
      this.fcBackward(b.f2, tok, b.fact, gH, this.gF, 0);
      k.reluBackward(tok * spec.ff, b.fpre, this.gF);
      this.fcBackward(b.f1, tok, b.h1, this.gF, gH, 1);
      // h1 = h + Wo·ctx + bo
      this.fcBackward(b.o, tok, b.ctx, gH, this.gCtx, 0);
      // ctx = A·V, A = softmax(Q·Kᵀ) (Q already scaled)
      for (let n = 0; n < rows; n++) {
        const o = n * T * C;
        const An = b.A.subarray(n * T * T, (n + 1) * T * T);
        const gC = this.gCtx.subarray(o, o + T * C);
        const Vn = b.V.subarray(o, o + T * C);
        for (let j = 0; j < T; j++) for (let c = 0; c < C; c++) this.kt[c * T + j] = Vn[j * C + c]!;
        k.gemm(T, T, C, gC, C, 1, this.kt, T, this.gA, 0); // dA = dCtx·Vᵀ
        k.gemm(T, C, T, An, 1, T, gC, C, this.gV.subarray(o, o + T * C), 0); // dV = Aᵀ·dCtx
        for (let i = 0; i < T; i++) { // dS = A ⊙ (dA − Σ_j dA·A)
          let s = 0;
          for (let j = 0; j < T; j++) s += this.gA[i * T + j]! * An[i * T + j]!;
          for (let j = 0; j < T; j++) this.gA[i * T + j] = An[i * T + j]! * (this.gA[i * T + j]! - s);
        }
        k.gemm(T, C, T, this.gA, T, 1, b.K.subarray(o, o + T * C), C, this.gQ.subarray(o, o + T * C), 0); // dQ = dS·K
        k.gemm(T, C, T, this.gA, 1, T, b.Q.subarray(o, o + T * C), C, this.gK.subarray(o, o + T * C), 0); // dK = dSᵀ·Q
      }
      for (let i = 0; i < tok * C; i++) this.gQ[i]! *= this.scale;
      this.fcBackward(b.q, tok, hin, this.gQ, gH, 1);
      this.fcBackward(b.k, tok, hin, this.gK, gH, 1);
      this.fcBackward(b.v, tok, hin, this.gV, gH, 1);
    }
    // h0 = expansion of the trunk output (rows × T·C is the same memory as tok × C)
    const last = this.trunk[this.trunk.length - 1];
    this.fcBackward(this.embed, rows, last ? last.act : this.input, gH, last ? last.gAct : null, 0);
    for (let li = this.trunk.length - 1; li >= 0; li--) {
      const d = this.trunk[li]!;
      k.reluBackward(rows * d.d.outDim, d.pre, d.gAct);
      const prev = this.trunk[li - 1];
      this.fcBackward(d, rows, prev ? prev.act : this.input, d.gAct, prev ? prev.gAct : null, 0);
    }
  }

  step(): void {
    this.t++;
    this.lastGradNorm = adamwUpdate(this.opt, this.t, this.grads, this.params, this.m, this.v, this.ema);
    this.refreshTransposes();
  }

  get trainStateFloats(): number { return 3 * this.params.length; }
  packTrainState(): Float32Array { return packAdamState(this.params, this.m, this.v); }
  restoreTrainState(state: Float32Array, ema: Float32Array, t: number): void {
    unpackAdamState(state, this.params, this.m, this.v);
    this.ema.set(ema);
    this.t = t;
    this.refreshTransposes();
  }

  useEma(): () => void {
    const saved = Float32Array.from(this.params);
    this.params.set(this.ema);
    this.refreshTransposes();
    return () => { this.params.set(saved); this.refreshTransposes(); };
  }
}

/** In-place softmax of each row of a rows × n block. */
function softmaxRows(a: Float32Array, n: number): void {
  for (let r = 0; r < a.length; r += n) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, a[r + j]!);
    let s = 0;
    for (let j = 0; j < n; j++) { const e = Math.exp(a[r + j]! - mx); a[r + j] = e; s += e; }
    const inv = 1 / s;
    for (let j = 0; j < n; j++) a[r + j]! *= inv;
  }
}
