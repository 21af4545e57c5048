/**
 * The small transformer generator (`kdp train --arch transformer`) as plain data: tokens are the T plan steps.
 *
 *   [noise, condition] → dense trunk (ReLU, optional) → dense → h ∈ [T, C]   (its bias is the learned
 *                                                                          per-step positional bias)
 *   L × { a = softmax(q·kᵀ/√C)·v with q, k, v = per-token linear maps of h (one head);
 *         h ← h + Wo·a + bo;   h ← h + W2·ReLU(W1·h + b1) + b2 }             (no LayerNorm)
 *   per token t: y_t = Wh·h_t + bh → [state, action] of step t
 *   output = [y_0 without its state (s₀ is clamped), y_1, …, y_{T−1}]       (the window layout)
 *
 * Parameters live in one flat float32 vector (weights.bin), in `transformerLayout` order; every W is
 * [out × in] row-major (TFLite FULLY_CONNECTED layout).
 */
import type { MlpSpec } from './mlp-spec.js';
import type { SequenceIo } from './conv-spec.js';

/** Tokens are the plan steps (horizon T). */
export interface TransformerSpec extends SequenceIo {
  /** channels C per token */
  channels: number;
  /** attention blocks L */
  layers: number;
  /** hidden width of the per-token MLP of each block */
  ff: number;
  /** widths of dense ReLU layers between the input and the [T, C] expansion ([] = none) */
  trunk: number[];
}

export const DEFAULT_TRANSFORMER: Readonly<{ channels: number; layers: number; ff: number; trunk: readonly number[] }> = { channels: 32, layers: 2, ff: 64, trunk: [256] };

export interface DenseOffsets { W: number; b: number; inDim: number; outDim: number }
export interface BlockOffsets { q: DenseOffsets; k: DenseOffsets; v: DenseOffsets; o: DenseOffsets; f1: DenseOffsets; f2: DenseOffsets }
export interface TransformerLayout {
  trunk: DenseOffsets[];
  embed: DenseOffsets;
  blocks: BlockOffsets[];
  head: DenseOffsets;
  total: number;
}

export function transformerLayout(s: TransformerSpec): TransformerLayout {
  let off = 0;
  const dense = (inDim: number, outDim: number): DenseOffsets => {
    const W = off; off += inDim * outDim;
    const b = off; off += outDim;
    return { W, b, inDim, outDim };
  };
  let inDim = s.noiseDim + s.condDim;
  const trunk = s.trunk.map((w) => { const d = dense(inDim, w); inDim = w; return d; });
  const C = s.channels;
  const embed = dense(inDim, s.horizon * C);
  const blocks = Array.from({ length: s.layers }, () => ({
    q: dense(C, C), k: dense(C, C), v: dense(C, C), o: dense(C, C), f1: dense(C, s.ff), f2: dense(s.ff, C),
  }));
  const head = dense(C, s.stepDim);
  return { trunk, embed, blocks, head, total: off };
}

export function transformerParamCount(s: TransformerSpec): number { return transformerLayout(s).total; }

/**
 * Multiply-accumulates per candidate of the exported graph: the network (attention included) plus the
 * selection FC that drops s₀ (T·stepDim × outputDim; the runtime has no SLICE op).
 */
export function transformerMacs(s: TransformerSpec): number {
  const L = transformerLayout(s), T = s.horizon, C = s.channels;
  let n = L.trunk.reduce((a, d) => a + d.inDim * d.outDim, 0) + L.embed.inDim * L.embed.outDim;
  n += s.layers * (T * (4 * C * C + 2 * C * s.ff) + 2 * T * T * C);
  return n + T * C * s.stepDim + T * s.stepDim * (T * s.stepDim - s.clampDims);
}

/** The generator's I/O as an MlpSpec (what checkpoint.json's `mlp` and the manifest record: the plan contract). */
export function transformerIoSpec(s: TransformerSpec): MlpSpec {
  return { noiseDim: s.noiseDim, condDim: s.condDim, hidden: [], outputDim: s.horizon * s.stepDim - s.clampDims, activation: 'relu' };
}

/** Throws a RangeError naming the bad field (callers wrap it in their typed error). */
export function checkTransformerSpec(s: TransformerSpec): void {
  for (const k of ['noiseDim', 'condDim', 'horizon', 'stepDim', 'channels', 'layers', 'ff'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new RangeError(`transformer ${k} must be a positive integer, got ${s[k]}`);
  }
  if (s.horizon < 2) throw new RangeError(`transformer horizon must be at least 2 plan steps, got ${s.horizon}`);
  if (!Number.isInteger(s.clampDims) || s.clampDims < 0 || s.clampDims > s.stepDim) throw new RangeError(`transformer clampDims ${s.clampDims} outside 0…${s.stepDim}`);
  if (!Array.isArray(s.trunk) || !s.trunk.every((w) => Number.isInteger(w) && w >= 1)) throw new RangeError(`transformer trunk must be a list of positive widths, got ${JSON.stringify(s.trunk)}`);
  if (s.channels > 1024 || s.ff > 4096 || s.horizon > 1024) throw new RangeError(`transformer shape too large (channels ≤ 1024, ff ≤ 4096, horizon ≤ 1024)`);
}

/** Named intermediate of the float forward (calibration ranges for the int8 export; see transformer-graph.ts). */
export type Observe = (name: string, values: ArrayLike<number>) => void;

/**
 * Float64 forward of one sample: the ground truth the trainer and the exported graphs are checked against,
 * and the calibration pass of the int8 export (`observe` sees every intermediate by the graph's tensor names).
 */
export function transformerForwardReference(s: TransformerSpec, p: ArrayLike<number>, input: ArrayLike<number>, out: Float32Array | Float64Array, observe?: Observe): void {
  const L = transformerLayout(s), T = s.horizon, C = s.channels;
  const dense = (d: DenseOffsets, x: Float64Array, rows: number, relu: boolean): Float64Array => {
    const y = new Float64Array(rows * d.outDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < d.outDim; o++) {
        let acc = p[d.b + o]!;
        for (let i = 0; i < d.inDim; i++) acc += p[d.W + o * d.inDim + i]! * x[r * d.inDim + i]!;
        y[r * d.outDim + o] = relu && acc < 0 ? 0 : acc;
      }
    }
    return y;
  };
  let x: Float64Array = Float64Array.from(input);
  observe?.('input', x);
  L.trunk.forEach((d, i) => { x = dense(d, x, 1, true); observe?.(`trunk${i}`, x); });
  let h: Float64Array = dense(L.embed, x, 1, false);
  observe?.('h0', h);
  const scale = 1 / Math.sqrt(C);
  L.blocks.forEach((b, l) => {
    const q = dense(b.q, h, T, false), k = dense(b.k, h, T, false), v = dense(b.v, h, T, false);
    for (let i = 0; i < q.length; i++) q[i]! *= scale;
    observe?.(`b${l}.q`, q); observe?.(`b${l}.k`, k); observe?.(`b${l}.v`, v);
    const sc = new Float64Array(T * T), a = new Float64Array(T * T), ctx = new Float64Array(T * C);
    for (let i = 0; i < T; i++) {
      let mx = -Infinity;
      for (let j = 0; j < T; j++) {
        let acc = 0;
        for (let c = 0; c < C; c++) acc += q[i * C + c]! * k[j * C + c]!;
        sc[i * T + j] = acc; mx = Math.max(mx, acc);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) { const e = Math.exp(sc[i * T + j]! - mx); a[i * T + j] = e; sum += e; }
      for (let j = 0; j < T; j++) a[i * T + j]! /= sum;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let j = 0; j < T; j++) acc += a[i * T + j]! * v[j * C + c]!;
        ctx[i * C + c] = acc;
      }
    }
    observe?.(`b${l}.scores`, sc); observe?.(`b${l}.ctx`, ctx);
    const o = dense(b.o, ctx, T, false);
    observe?.(`b${l}.proj`, o);
    for (let i = 0; i < h.length; i++) h[i]! += o[i]!;
    observe?.(`b${l}.h1`, h);
    const f = dense(b.f1, h, T, true);
    observe?.(`b${l}.ff1`, f);
    const f2 = dense(b.f2, f, T, false);
    observe?.(`b${l}.ff2`, f2);
    const h2 = new Float64Array(h.length);
    for (let i = 0; i < h.length; i++) h2[i] = h[i]! + f2[i]!;
    h = h2;
    observe?.(`b${l}.h2`, h);
  });
  const y = dense(L.head, h, T, false);
  observe?.('head', y);
  for (let i = 0; i < out.length; i++) out[i] = y[s.clampDims + i]!;
}
