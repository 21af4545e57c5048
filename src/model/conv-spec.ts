/**
 * The temporal-convolution generator (`kdp train --arch conv`) as plain data.
 *
 *   [noise, condition] → optional dense trunk (ReLU) → dense → h ∈ [T, C] (ReLU)
 *                        (optionally dense → [T/r, C], linearly interpolated to [T, C], then ReLU:
 *                         the decoder half of a U-Net — plans vary slowly in time by construction)
 *   L × h ← ReLU(h + conv_k(h) + b)        temporal conv, stride 1, 'same' zero padding, C → C,
 *                                          one kernel shared by all T steps (residual)
 *   per step t: y_t = H·h_t + c            one head shared by all steps → [state, action] of step t
 *   output = [y_0 without its state (s₀ is clamped), y_1, …, y_{T−1}]  (the window layout)
 *
 * Every stage is affine in the flattened [T·C] vector, so the network *is* an MLP with structured
 * weights: the conv layer's dense matrix is block-Toeplitz (zeros outside the band of k steps, the
 * identity added for the residual), the head's is block-diagonal. `expandConvWeights` writes that
 * MLP; training, checkpoints' weights.bin, export and the runtime all see the dense form, so the conv
 * runs through the existing FULLY_CONNECTED path (at the dense FLOPs). The free parameters — what the
 * optimiser updates — are the few listed by `convFreeLayout`.
 */
import type { MlpSpec, MlpWeights } from './mlp-spec.js';
import { paramCount, unpackWeights } from './mlp-spec.js';

export type GeneratorArch = 'mlp' | 'conv' | 'transformer';
export const GENERATOR_ARCHS: readonly GeneratorArch[] = ['mlp', 'conv', 'transformer'];

/** What every sequence generator (conv, transformer) maps: (noise, condition) → T plan steps of stepDim values. */
export interface SequenceIo {
  noiseDim: number;
  condDim: number;
  /** plan steps T */
  horizon: number;
  /** values per plan step (state + action) */
  stepDim: number;
  /** leading state values of step 0 the generator does not output (clamped to the condition) */
  clampDims: number;
}

export interface ConvSpec extends SequenceIo {
  /** channels C per time step */
  channels: number;
  /** temporal kernel size k (odd: 'same' padding of (k−1)/2 on each side) */
  kernel: number;
  /** residual conv layers L */
  layers: number;
  /** widths of plain dense ReLU layers between the input and the [T, C] expansion (absent: none) */
  trunk?: number[];
  /** r > 1: the expansion writes ⌈(T − 1)/r⌉ + 1 coarse steps, linearly interpolated to T (absent: 1) */
  upsample?: number;
}

/** coarse steps of the expansion (T when not upsampled) */
export function coarseSteps(c: ConvSpec): number {
  const r = c.upsample ?? 1;
  return r <= 1 ? c.horizon : Math.ceil((c.horizon - 1) / r) + 1;
}

/** step t of the fine sequence = (1 − f)·coarse[τ] + f·coarse[τ + 1] */
function interp(c: ConvSpec, t: number): { tau: number; f: number } {
  const r = c.upsample ?? 1;
  if (r <= 1) return { tau: t, f: 0 };
  const tau = Math.floor(t / r);
  return { tau, f: t / r - tau };
}

/**
 * The default shape: the best of the shapes measured on U-Maze (docs/kdp.md, "Generator architecture"):
 * a 256-wide trunk, then [32, 8] with four residual layers of kernel 9 (receptive field: the whole window).
 */
export const DEFAULT_CONV: Readonly<{ channels: number; kernel: number; layers: number; trunk: readonly number[] }> = { channels: 8, kernel: 9, layers: 4, trunk: [256] };

/** The dense network the conv is exactly equal to (what training's GEMMs, export and runtime run). */
export function convDenseSpec(c: ConvSpec): MlpSpec {
  const width = c.horizon * c.channels;
  return {
    noiseDim: c.noiseDim, condDim: c.condDim,
    hidden: [...(c.trunk ?? []), ...Array.from({ length: c.layers + 1 }, () => width)],
    outputDim: c.horizon * c.stepDim - c.clampDims, activation: 'relu',
  };
}

/** Offsets of the free parameters in the flat free vector. */
export interface ConvFreeLayout {
  /** the unconstrained dense layers (trunk, then the expansion to [T, C]): dense layers 0…dense.length − 1 */
  dense: Array<{ W: number; b: number; inDim: number; outDim: number }>;
  /** per conv layer: kernel [C_out][C_in][k], bias [C] */
  conv: Array<{ K: number; b: number }>;
  headW: number; headB: number;
  total: number;
}

export function convFreeLayout(c: ConvSpec): ConvFreeLayout {
  const width = c.horizon * c.channels, C = c.channels;
  let off = 0, inDim = c.noiseDim + c.condDim;
  const dense = [];
  for (const outDim of [...(c.trunk ?? []), coarseSteps(c) * C]) {
    const W = off; off += outDim * inDim;
    const b = off; off += outDim;
    dense.push({ W, b, inDim, outDim });
    inDim = outDim;
  }
  const conv = [];
  for (let l = 0; l < c.layers; l++) { const K = off; off += C * C * c.kernel; const b = off; off += C; conv.push({ K, b }); }
  const headW = off; off += c.stepDim * C;
  const headB = off; off += c.stepDim;
  return { dense, conv, headW, headB, total: off };
}

export function convParamCount(c: ConvSpec): number {
  return convFreeLayout(c).total;
}

/** Throws a RangeError naming the bad field (callers wrap it in their typed error). */
export function checkConvSpec(c: ConvSpec): void {
  for (const k of ['noiseDim', 'condDim', 'horizon', 'stepDim', 'channels', 'kernel', 'layers'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`conv ${k} must be a positive integer, got ${c[k]}`);
  }
  if (!Number.isInteger(c.clampDims) || c.clampDims < 0 || c.clampDims > c.stepDim) throw new RangeError(`conv clampDims ${c.clampDims} outside 0…${c.stepDim}`);
  if (c.kernel % 2 !== 1) throw new RangeError(`conv kernel must be odd ('same' padding), got ${c.kernel}`);
  if (c.kernel > 2 * c.horizon - 1) throw new RangeError(`conv kernel ${c.kernel} is wider than the window allows (≤ ${2 * c.horizon - 1})`);
  if (c.upsample !== undefined && (!Number.isInteger(c.upsample) || c.upsample < 1 || c.upsample >= c.horizon)) throw new RangeError(`conv upsample must be an integer 1…${c.horizon - 1}, got ${c.upsample}`);
  if (c.trunk !== undefined && (!Array.isArray(c.trunk) || !c.trunk.every((w) => Number.isInteger(w) && w >= 1))) throw new RangeError(`conv trunk must be a list of positive widths, got ${JSON.stringify(c.trunk)}`);
}

/**
 * Write the dense (MLP, `packWeights` layout) weights of the conv net given its free parameters.
 * `dense` must hold `paramCount(convDenseSpec(c))` floats; every entry is written (zeros off the band).
 */
export function expandConvWeights(c: ConvSpec, free: Float32Array, dense: Float32Array): void {
  const L = convFreeLayout(c);
  const w = unpackWeights(convDenseSpec(c), dense);
  const C = c.channels, T = c.horizon, k = c.kernel, p = (k - 1) >> 1, S = c.stepDim;
  const nd = L.dense.length;
  L.dense.forEach((d, i) => {
    const { W, b } = w.layers[i]!;
    if (i < nd - 1) {
      W.set(free.subarray(d.W, d.W + W.length));
      b.set(free.subarray(d.b, d.b + b.length));
      return;
    }
    // the expansion: fine row (t, o) interpolates coarse rows (τ, o) and (τ + 1, o)
    for (let t = 0; t < T; t++) {
      const { tau, f } = interp(c, t);
      for (let o = 0; o < C; o++) {
        const r0 = tau * C + o, r1 = Math.min(tau + 1, coarseSteps(c) - 1) * C + o, row = (t * C + o) * d.inDim;
        b[t * C + o] = (1 - f) * free[d.b + r0]! + f * free[d.b + r1]!;
        for (let i = 0; i < d.inDim; i++) W[row + i] = (1 - f) * free[d.W + r0 * d.inDim + i]! + f * free[d.W + r1 * d.inDim + i]!;
      }
    }
  });
  for (let l = 0; l < c.layers; l++) {
    const { W, b, inDim } = w.layers[nd + l]!;
    const { K, b: kb } = L.conv[l]!;
    W.fill(0);
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < C; o++) {
        const row = (t * C + o) * inDim;
        b[t * C + o] = free[kb + o]!;
        W[row + t * C + o] = 1; // residual
        for (let j = 0; j < k; j++) {
          const s = t + j - p;
          if (s < 0 || s >= T) continue; // zero padding
          for (let i = 0; i < C; i++) W[row + s * C + i]! += free[K + (o * C + i) * k + j]!;
        }
      }
    }
  }
  const head = w.layers[nd + c.layers]!;
  head.W.fill(0);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < S; e++) {
      const r = t * S + e - c.clampDims;
      if (r < 0) continue;
      head.b[r] = free[L.headB + e]!;
      for (let i = 0; i < C; i++) head.W[r * head.inDim + t * C + i] = free[L.headW + e * C + i]!;
    }
  }
}

/**
 * The adjoint of `expandConvWeights` (its linear part): the gradient of the free parameters from the
 * gradient of the dense weights — each shared weight sums the entries it was copied to.
 */
export function reduceConvGrads(c: ConvSpec, denseGrad: Float32Array, freeGrad: Float32Array): void {
  const L = convFreeLayout(c);
  const g = unpackWeights(convDenseSpec(c), denseGrad);
  const C = c.channels, T = c.horizon, k = c.kernel, p = (k - 1) >> 1, S = c.stepDim;
  freeGrad.fill(0);
  const nd = L.dense.length;
  L.dense.forEach((d, i) => {
    const { W, b } = g.layers[i]!;
    if (i < nd - 1) { freeGrad.set(W, d.W); freeGrad.set(b, d.b); return; }
    for (let t = 0; t < T; t++) {
      const { tau, f } = interp(c, t);
      for (let o = 0; o < C; o++) {
        const r0 = tau * C + o, r1 = Math.min(tau + 1, coarseSteps(c) - 1) * C + o, row = (t * C + o) * d.inDim;
        freeGrad[d.b + r0]! += (1 - f) * b[t * C + o]!;
        if (f !== 0) freeGrad[d.b + r1]! += f * b[t * C + o]!;
        for (let i = 0; i < d.inDim; i++) {
          freeGrad[d.W + r0 * d.inDim + i]! += (1 - f) * W[row + i]!;
          if (f !== 0) freeGrad[d.W + r1 * d.inDim + i]! += f * W[row + i]!;
        }
      }
    }
  });
  for (let l = 0; l < c.layers; l++) {
    const { W, b, inDim } = g.layers[nd + l]!;
    const { K, b: kb } = L.conv[l]!;
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < C; o++) {
        const row = (t * C + o) * inDim;
        freeGrad[kb + o]! += b[t * C + o]!;
        for (let j = 0; j < k; j++) {
          const s = t + j - p;
          if (s < 0 || s >= T) continue;
          for (let i = 0; i < C; i++) freeGrad[K + (o * C + i) * k + j]! += W[row + s * C + i]!;
        }
      }
    }
  }
  const head = g.layers[nd + c.layers]!;
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < S; e++) {
      const r = t * S + e - c.clampDims;
      if (r < 0) continue;
      freeGrad[L.headB + e]! += head.b[r]!;
      for (let i = 0; i < C; i++) freeGrad[L.headW + e * C + i]! += head.W[r * head.inDim + t * C + i]!;
    }
  }
}

/** The dense weights as `MlpWeights` (a fresh copy). */
export function convAsMlp(c: ConvSpec, free: Float32Array): MlpWeights {
  const spec = convDenseSpec(c);
  const dense = new Float32Array(paramCount(spec));
  expandConvWeights(c, free, dense);
  return unpackWeights(spec, dense);
}

/**
 * The conv forward computed as convolutions (float64, one sample), independent of the dense
 * expansion: the ground truth the expanded MLP, the exported TFLite and the trainer are checked against.
 */
export function convForwardReference(c: ConvSpec, free: Float32Array, input: ArrayLike<number>, out: Float32Array): void {
  const L = convFreeLayout(c);
  const C = c.channels, T = c.horizon, k = c.kernel, p = (k - 1) >> 1, S = c.stepDim;
  let h = Float64Array.from(input);
  L.dense.forEach((d, li) => {
    const y = new Float64Array(d.outDim);
    for (let u = 0; u < d.outDim; u++) {
      let s = free[d.b + u]!;
      for (let i = 0; i < d.inDim; i++) s += free[d.W + u * d.inDim + i]! * h[i]!;
      y[u] = li < L.dense.length - 1 && s < 0 ? 0 : s; // the expansion's ReLU comes after the interpolation
    }
    h = y;
  });
  // coarse [Tc, C] pre-activations → [T, C], ReLU
  const fine = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    const { tau, f } = interp(c, t);
    const t1 = Math.min(tau + 1, coarseSteps(c) - 1);
    for (let o = 0; o < C; o++) { const v = (1 - f) * h[tau * C + o]! + f * h[t1 * C + o]!; fine[t * C + o] = v > 0 ? v : 0; }
  }
  h = fine;
  for (let l = 0; l < c.layers; l++) {
    const { K, b } = L.conv[l]!;
    const next = new Float64Array(T * C);
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < C; o++) {
        let s = h[t * C + o]! + free[b + o]!;
        for (let j = 0; j < k; j++) {
          const src = t + j - p;
          if (src < 0 || src >= T) continue;
          for (let i = 0; i < C; i++) s += free[K + (o * C + i) * k + j]! * h[src * C + i]!;
        }
        next[t * C + o] = s > 0 ? s : 0;
      }
    }
    h = next;
  }
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < S; e++) {
      const r = t * S + e - c.clampDims;
      if (r < 0) continue;
      let s = free[L.headB + e]!;
      for (let i = 0; i < C; i++) s += free[L.headW + e * C + i]! * h[t * C + i]!;
      out[r] = s;
    }
  }
}
