/**
 * The generator MLP's training step on @tensorflow/tfjs-core (cpu or wasm backend): the candidate the
 * hand-written path (MlpTrainer over WASM SIMD kernels) is measured against (issue 2, "autodiff by
 * measurement"; figures in docs/benchmarks.md, bench in test/perf/autodiff.test.ts).
 *
 * Same contract as MlpTrainer so the comparison is like for like: the caller writes the network input
 * into `input` (host Float32Array), `forward()` returns the output on the host, the caller writes
 * dLoss/dOutput into `gradOutput` (the drift field is computed on the host), `backward()` fills the
 * gradients, `step()` is AdamW with the same warm-up, cosine decay, global-norm clip and EMA. Parameters
 * use the `packWeights` layout (W out×in row-major, then b, per layer) and the same initialisation, so
 * the same seed gives the same weights.
 *
 * Two ways to get gradients:
 * - `forward()` + `backward()`: the intermediates of the forward are kept as tensors and the backward
 *   is the chain rule written with tfjs ops (matMul/sum/elementwise — the same kernels tfjs's own
 *   gradient functions emit), so the output can go to the host between the two calls.
 * - `autodiffStep(fill)`: tfjs's tape autodiff (`tf.variableGrads`) with one forward; the host fills
 *   dLoss/dOutput from inside the taped function (loss = Σ output ⊙ stopgrad(G), so dLoss/dOutput = G).
 *   tfjs's matMul gradient multiplies with transposeA/transposeB, which tfjs-backend-wasm runs off
 *   XNNPACK (see `explicitTranspose`), so on wasm this path is much slower than backward().
 * Both are gradient-checked against MlpTrainer and central finite differences (test/train/tfjs-mlp.test.ts).
 * The forward is tfjs's fused matMul+bias, one GEMM per layer (forward() also fuses relu; under a tape
 * tfjs does not fuse activations), the backward two GEMMs per layer. W lives on the device as in×out:
 * tfjs-backend-wasm 4.9.0's fused matMul with transposeB=true and a bias returns wrong rows (every row
 * after the first gets bias[last]; found by this module's gradient check), transposeB=false is correct.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { layerDims, paramCount, type MlpSpec } from '../../src/model/mlp-spec.js';
import type { Rng } from '../../src/util/rng.js';
import { DEFAULT_OPTIMIZER, learningRate, type OptimizerConfig } from '../../src/train/mlp-trainer.js';

export type TfjsBackendName = 'cpu' | 'wasm';

let wasmConfigured = false;

/**
 * Make `name` the active tfjs backend. The wasm backend loads its .wasm from node_modules on disk (no
 * network) and runs single-threaded SIMD, like the hand-written kernels (the threaded build needs
 * workers and would compete with everything else on a 2-core box). Also enables tfjs prod mode, which
 * silences the "install tfjs-node" banner of the cpu backend.
 */
export async function useTfjsBackend(name: TfjsBackendName): Promise<void> {
  if (name === 'wasm' && !wasmConfigured) {
    const require = createRequire(import.meta.url);
    const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    setWasmPaths(dist + '/');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmConfigured = true;
  }
  tf.enableProdMode();
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`tfjs backend "${name}" failed to initialise`);
}

export { tf };

/** Sum `g` over the axes along which `shape` was broadcast to g's shape, and reshape to `shape`. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  return axes.length ? tf.reshape(tf.sum(g, axes), shape) : g;
}

/**
 * The Node build of @tensorflow/tfjs-core registers no gradient functions (the umbrella @tensorflow/tfjs
 * package does, via an ESM-only module Node cannot load from dist/). The tape, the backprop order and the
 * fused matMul(+bias+relu) gradient — the dominant cost — are tfjs's own; the elementwise rules the
 * taped forward also needs (Multiply, Sum, Reshape, Relu, Sigmoid, Tanh) are registered here if nothing registered them.
 */
function registerElementwiseGradients(): void {
  const configs: tf.GradConfig[] = [
    {
      kernelName: tf.Multiply, inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved) => {
        const [a, b] = saved as [tf.Tensor, tf.Tensor];
        const d = dy as tf.Tensor;
        return { a: () => unbroadcast(tf.mul(d, b), a.shape), b: () => unbroadcast(tf.mul(d, a), b.shape) };
      },
    },
    {
      kernelName: tf.Sum, inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved as [tf.Tensor];
        const axisAttr = attrs['axis'] as number | number[] | null | undefined;
        const axes = axisAttr == null ? x.shape.map((_, i) => i) : tf.util.parseAxisParam(axisAttr, x.shape);
        const kept = x.shape.map((n, i) => (axes.includes(i) ? 1 : n));
        return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, kept), tf.ones(x.shape)) };
      },
    },
    {
      kernelName: tf.Reshape, inputsToSave: ['x'],
      gradFunc: (dy, saved) => {
        const [x] = saved as [tf.Tensor];
        return { x: () => tf.reshape(dy as tf.Tensor, x.shape) };
      },
    },
    {
      kernelName: tf.Relu, inputsToSave: ['x'],
      gradFunc: (dy, saved) => {
        const [x] = saved as [tf.Tensor];
        return { x: () => tf.mul(dy as tf.Tensor, tf.step(x, 0)) };
      },
    },
    {
      kernelName: tf.Sigmoid, outputsToSave: [true],
      gradFunc: (dy, saved) => {
        const [y] = saved as [tf.Tensor];
        return { x: () => tf.mul(dy as tf.Tensor, tf.mul(y, tf.sub(1, y))) };
      },
    },
    {
      kernelName: tf.Tanh, outputsToSave: [true],
      gradFunc: (dy, saved) => {
        const [y] = saved as [tf.Tensor];
        return { x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(y))) };
      },
    },
  ];
  for (const c of configs) if (!tf.getGradient(c.kernelName)) tf.registerGradient(c);
}
registerElementwiseGradients();

interface Layer {
  inDim: number;
  outDim: number;
  /** in×out on the device (x·W, the tfjs/Keras dense layout); out×in in packWeights blobs */
  W: tf.Variable<tf.Rank.R2>;
  b: tf.Variable<tf.Rank.R1>;
  mW: tf.Variable<tf.Rank.R2>;
  vW: tf.Variable<tf.Rank.R2>;
  mb: tf.Variable<tf.Rank.R1>;
  vb: tf.Variable<tf.Rank.R1>;
  eW: tf.Variable<tf.Rank.R2>;
  eb: tf.Variable<tf.Rank.R1>;
}

/** A variable holding `t`'s values; `t` itself is released (tf.variable keeps its own reference). */
function own<R extends tf.Rank>(t: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

export class TfjsMlp {
  readonly spec: MlpSpec;
  readonly batch: number;
  readonly backend: TfjsBackendName;
  /** batch × (noiseDim + condDim); the caller writes the network input here */
  readonly input: Float32Array;
  /** batch × outputDim; valid after forward() / during autodiffStep's callback */
  readonly output: Float32Array;
  /** batch × outputDim; the caller writes dLoss/dOutput here before backward() */
  readonly gradOutput: Float32Array;
  private readonly layers: Layer[];
  /** forward intermediates kept for backward(): layer inputs, pre-activations (relu: the fused relu output, same sign mask), activations */
  private saved: { xs: tf.Tensor2D[]; pres: tf.Tensor2D[]; acts: tf.Tensor2D[] } | null = null;
  /** gradients per layer (W, b), kept until the next backward / autodiffStep */
  private gW: tf.Tensor[] = [];
  private gb: tf.Tensor[] = [];
  private gInput: tf.Tensor2D | null = null;
  private gradNorm: tf.Scalar | null = null;
  private t = 0;
  /**
   * backward() transposes explicitly and multiplies untransposed: tfjs-backend-wasm 4.9.0 sends only
   * untransposed matMuls to XNNPACK (512×256×256 on this box: 2.5 ms; with transposeA or transposeB
   * 30–40 ms). On cpu the flags cost nothing, so they are used there.
   */
  readonly explicitTranspose: boolean;

  /**
   * Create the network on the currently active tfjs backend (call `useTfjsBackend` first). `init` is
   * either flat parameters (packWeights layout) or an Rng, drawn exactly as MlpTrainer.init draws.
   */
  constructor(spec: MlpSpec, batch: number, init: Float32Array | Rng, readonly opt: OptimizerConfig = DEFAULT_OPTIMIZER) {
    this.spec = spec;
    this.batch = batch;
    this.backend = tf.getBackend() as TfjsBackendName;
    this.explicitTranspose = this.backend === 'wasm';
    const dims = layerDims(spec);
    const n = paramCount(spec);
    const flat = init instanceof Float32Array ? init : initialParams(spec, init);
    if (flat.length !== n) throw new RangeError(`parameters have ${flat.length} floats, spec needs ${n}`);
    this.input = new Float32Array(batch * dims[0]![0]);
    this.output = new Float32Array(batch * spec.outputDim);
    this.gradOutput = new Float32Array(batch * spec.outputDim);
    let off = 0;
    this.layers = dims.map(([inDim, outDim]) => {
      const W = own(tf.tidy(() => tf.transpose(tf.tensor2d(flat.subarray(off, off + inDim * outDim), [outDim, inDim]))));
      off += inDim * outDim;
      const b = own(tf.tensor1d(flat.slice(off, off + outDim)));
      off += outDim;
      return {
        inDim, outDim, W, b,
        mW: own(tf.zeros([inDim, outDim])), vW: own(tf.zeros([inDim, outDim])),
        mb: own(tf.zeros([outDim])), vb: own(tf.zeros([outDim])),
        eW: own(W.clone()), eb: own(b.clone()),
      };
    });
  }

  get stepCount(): number { return this.t; }

  private inputTensor(rows: number): tf.Tensor2D {
    const inDim = this.layers[0]!.inDim;
    return tf.tensor2d(this.input.subarray(0, rows * inDim), [rows, inDim]);
  }

  private activation(z: tf.Tensor2D): tf.Tensor2D {
    switch (this.spec.activation) {
      case 'relu': return tf.relu(z);
      case 'silu': return tf.mul(z, tf.sigmoid(z));
      case 'tanh': return tf.tanh(z);
    }
  }

  private copyOutput(y: tf.Tensor2D, rows: number): void {
    this.output.set(y.dataSync() as Float32Array, 0);
    if (rows < this.batch) this.output.fill(0, rows * this.spec.outputDim);
  }

  /** Forward over the first `rows` rows of `input`; keeps the intermediates for backward(). */
  forward(rows = this.batch): Float32Array {
    this.disposeSaved();
    const last = this.layers.length - 1;
    const saved = tf.tidy(() => {
      const xs: tf.Tensor2D[] = [], pres: tf.Tensor2D[] = [], acts: tf.Tensor2D[] = [];
      let h = this.inputTensor(rows);
      this.layers.forEach((l, li) => {
        xs.push(h);
        if (li < last && this.spec.activation === 'relu') {
          // relu fused into the GEMM; its gradient mask needs only the sign, which the output keeps
          h = tf.fused.matMul({ a: h, b: l.W, bias: l.b, activation: 'relu' }) as tf.Tensor2D;
          pres.push(h);
        } else {
          const z = tf.fused.matMul({ a: h, b: l.W, bias: l.b }) as tf.Tensor2D;
          pres.push(z);
          h = li < last ? this.activation(z) : z;
        }
        acts.push(h);
      });
      return { xs, pres, acts };
    });
    this.saved = saved;
    this.copyOutput(saved.acts[last]!, rows);
    return this.output;
  }

  /** Chain rule from `gradOutput` over the intermediates of the last forward(); tfjs ops throughout. */
  backward(): void {
    const saved = this.saved;
    if (!saved) throw new Error('TfjsMlp.backward() needs a forward() first');
    const rows = saved.xs[0]!.shape[0];
    this.disposeGrads();
    const res = tf.tidy(() => {
      const gW: tf.Tensor[] = [], gb: tf.Tensor[] = [];
      let dz = tf.tensor2d(this.gradOutput.subarray(0, rows * this.spec.outputDim), [rows, this.spec.outputDim]);
      let dx: tf.Tensor2D | null = null;
      for (let li = this.layers.length - 1; li >= 0; li--) {
        const l = this.layers[li]!;
        // dW (in×out) = Xᵀ · dZ ; db = Σ rows dZ ; dX (rows×in) = dZ · Wᵀ
        gW[li] = this.explicitTranspose ? tf.matMul(tf.transpose(saved.xs[li]!), dz) : tf.matMul(saved.xs[li]!, dz, true, false);
        gb[li] = tf.sum(dz, 0);
        const dh: tf.Tensor2D = this.explicitTranspose ? tf.matMul(dz, tf.transpose(l.W)) : tf.matMul(dz, l.W, false, true);
        if (li === 0) { dx = dh; break; }
        dz = this.activationGrad(dh, saved.pres[li - 1]!, saved.acts[li - 1]!);
      }
      return { gW, gb, dx: dx! };
    });
    this.gW = res.gW; this.gb = res.gb; this.gInput = res.dx;
    this.disposeSaved();
  }

  private activationGrad(dh: tf.Tensor2D, z: tf.Tensor2D, a: tf.Tensor2D): tf.Tensor2D {
    switch (this.spec.activation) {
      case 'relu': return tf.mul(dh, tf.step(z, 0)); // z may be relu(pre): same sign mask
      case 'silu': {
        const s = tf.sigmoid(z);
        return tf.mul(dh, tf.mul(s, tf.add(1, tf.mul(z, tf.sub(1, s)))));
      }
      case 'tanh': return tf.mul(dh, tf.sub(1, tf.square(a)));
    }
  }

  /**
   * Forward and backward by tfjs's tape autodiff, one forward: `fill(output, gradOutput)` runs on the
   * host between them (the output is already copied into `output`) and must write dLoss/dOutput.
   */
  autodiffStep(fill: (output: Float32Array, gradOutput: Float32Array) => void, rows = this.batch): void {
    this.disposeSaved();
    this.disposeGrads();
    const last = this.layers.length - 1;
    const vars: tf.Variable[] = [];
    for (const l of this.layers) vars.push(l.W, l.b);
    const { value, grads } = tf.variableGrads(() => {
      let h = this.inputTensor(rows);
      this.layers.forEach((l, li) => {
        // fused matMul+bias carries tfjs's own gradient; a fused activation is not fused under a tape
        const z = tf.fused.matMul({ a: h, b: l.W, bias: l.b }) as tf.Tensor2D;
        h = li < last ? this.activation(z) : z;
      });
      this.copyOutput(h, rows);
      fill(this.output, this.gradOutput);
      const g = tf.tensor2d(this.gradOutput.subarray(0, rows * this.spec.outputDim), [rows, this.spec.outputDim]);
      return tf.sum(tf.mul(h, g));
    }, vars);
    value.dispose();
    this.layers.forEach((l, li) => {
      this.gW[li] = grads[l.W.name]!;
      this.gb[li] = grads[l.b.name]!;
    });
  }

  /** AdamW step with warm-up, cosine decay, global-norm clipping and EMA (MlpTrainer.step's maths). */
  step(): void {
    if (this.gW.length !== this.layers.length) throw new Error('TfjsMlp.step() needs gradients (backward or autodiffStep)');
    const { beta1, beta2, weightDecay, clip, ema } = this.opt;
    this.t++;
    const lrT = learningRate(this.opt, this.t);
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const decay = Math.min(ema, (1 + this.t) / (10 + this.t));
    this.gradNorm?.dispose();
    this.gradNorm = tf.tidy(() => {
      const sq = tf.addN([...this.gW, ...this.gb].map((g) => tf.sum(tf.square(g))));
      const norm = tf.sqrt(sq);
      // clip·norm⁻¹ capped at 1 (norm = 0 gives +∞ → 1)
      const scale = clip > 0 ? tf.minimum(1, tf.div(clip, norm)) : tf.scalar(1);
      const update = (p: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, e: tf.Variable): void => {
        const gs = tf.mul(g, scale);
        const mi = tf.add(tf.mul(m, beta1), tf.mul(gs, 1 - beta1));
        const vi = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gs), 1 - beta2));
        m.assign(mi); v.assign(vi);
        const denom = tf.add(tf.sqrt(tf.div(vi, bc2)), 1e-8);
        const pi = tf.sub(tf.mul(p, 1 - lrT * weightDecay), tf.div(tf.mul(mi, lrT / bc1), denom));
        p.assign(pi);
        e.assign(tf.add(tf.mul(e, decay), tf.mul(pi, 1 - decay)));
      };
      this.layers.forEach((l, li) => {
        update(l.W, this.gW[li]!, l.mW, l.vW, l.eW);
        update(l.b, this.gb[li]!, l.mb, l.vb, l.eb);
      });
      return norm as tf.Scalar;
    });
  }

  /** Global gradient norm before clipping of the last step() (a device → host read). */
  get lastGradNorm(): number { return this.gradNorm ? this.gradNorm.dataSync()[0]! : 0; }

  /** Gradients of the last backward/autodiffStep, packWeights layout. */
  readGrads(): Float32Array { return this.pack(this.gW, this.gb); }
  /** Gradient w.r.t. the input rows (backward() only). */
  readInputGrad(): Float32Array {
    if (!this.gInput) throw new Error('no input gradient (backward() computes it; autodiffStep does not)');
    return this.gInput.dataSync() as Float32Array;
  }
  readParams(): Float32Array { return this.pack(this.layers.map((l) => l.W), this.layers.map((l) => l.b)); }
  readEma(): Float32Array { return this.pack(this.layers.map((l) => l.eW), this.layers.map((l) => l.eb)); }

  /** Overwrite the parameters (packWeights layout); optimizer state is kept. */
  setParams(flat: Float32Array): void {
    if (flat.length !== paramCount(this.spec)) throw new RangeError(`parameters have ${flat.length} floats, spec needs ${paramCount(this.spec)}`);
    let off = 0;
    for (const l of this.layers) {
      tf.tidy(() => l.W.assign(tf.transpose(tf.tensor2d(flat.subarray(off, off + l.inDim * l.outDim), [l.outDim, l.inDim]))));
      off += l.inDim * l.outDim;
      tf.tidy(() => l.b.assign(tf.tensor1d(flat.subarray(off, off + l.outDim))));
      off += l.outDim;
    }
  }

  private pack(Ws: tf.Tensor[], bs: tf.Tensor[]): Float32Array {
    const out = new Float32Array(paramCount(this.spec));
    let off = 0;
    this.layers.forEach((l, li) => {
      const Wt = tf.transpose(Ws[li]!); // in×out on the device → out×in (packWeights layout)
      out.set(Wt.dataSync() as Float32Array, off); off += l.inDim * l.outDim;
      Wt.dispose();
      out.set(bs[li]!.dataSync() as Float32Array, off); off += l.outDim;
    });
    return out;
  }

  private disposeSaved(): void {
    if (!this.saved) return;
    // xs[0] is the uploaded input; xs[i>0] are acts[i-1]; pres[last] is acts[last] (tf.dispose skips disposed ones)
    tf.dispose([...this.saved.xs, ...this.saved.pres, ...this.saved.acts]);
    this.saved = null;
  }

  private disposeGrads(): void {
    tf.dispose([...this.gW, ...this.gb]);
    this.gW = []; this.gb = [];
    this.gInput?.dispose();
    this.gInput = null;
  }

  /** Release every tensor this network holds. */
  dispose(): void {
    this.disposeSaved();
    this.disposeGrads();
    this.gradNorm?.dispose();
    this.gradNorm = null;
    for (const l of this.layers) tf.dispose([l.W, l.b, l.mW, l.vW, l.mb, l.vb, l.eW, l.eb]);
  }
}

/** MlpTrainer.init's draws (Kaiming-uniform hidden layers, a 0.1× last layer, zero biases), packWeights layout. */
export function initialParams(spec: MlpSpec, rng: Rng): Float32Array {
  const flat = new Float32Array(paramCount(spec));
  const dims = layerDims(spec);
  let off = 0;
  dims.forEach(([inDim, outDim], i) => {
    const last = i === dims.length - 1;
    const bound = Math.sqrt(6 / inDim) * (last ? 0.1 : 1) * (spec.activation === 'relu' ? 1 : 0.8);
    for (let j = 0; j < inDim * outDim; j++) flat[off + j] = (rng.uniform() * 2 - 1) * bound;
    off += inDim * outDim + outDim;
  });
  return flat;
}
