import type { TrainKernels } from './wasm-kernels.js';

/**
 * The Drifting field (Deng et al., Alg. 2 + App. A.6), computed per group of M generated samples
 * against P positives (and the M generated samples themselves as negatives):
 *   logits  L = −d / τ  over [positives | negatives],  d = L2 distance, normalised by its mean
 *   A       = sqrt(softmax_row(L) · softmax_col(L))   (log space: exp(L − ½(LSE_row + LSE_col)))
 *   W⁺      = A⁺ · rowsum(A⁻),  W⁻ = A⁻ · rowsum(A⁺)
 *   V       = W⁺ Y⁺ − W⁻ X
 * Distances may come from any key space; the vectors Y⁺ and X are FULL windows (the KDP reading).
 */
export interface DriftScratch {
  readonly maxM: number;
  readonly maxCols: number;
  /** M × (P+M) distances / logits */
  dist: Float32Array;
  /** M × (P+M) raw-distance scratch */
  raw: Float32Array;
  /** M × (P+M) coefficients handed to the GEMM (in kernel memory) */
  coef: Float32Array;
  rowLse: Float64Array;
  colLse: Float64Array;
}

export function createDriftScratch(k: TrainKernels, maxM: number, maxP: number): DriftScratch {
  const cols = maxP + maxM;
  return { maxM, maxCols: cols, dist: new Float32Array(maxM * cols), raw: new Float32Array(maxM * cols), coef: k.alloc(maxM * cols), rowLse: new Float64Array(maxM), colLse: new Float64Array(cols) };
}

/**
 * L2 distances between generated keys (M×dk) and [positive keys (P×dk) | generated keys], into
 * `out` (M×(P+M)), divided by their mean over all positive pairs and off-diagonal negative pairs
 * (the feature normalisation of App. A.6 with S = mean/√C and τ̃ = τ√C folded together).
 * `raw` is scratch of the same size. With `accumulate`, adds `weight ×` the normalised distance into
 * `out` instead of overwriting it (per-block normalised distance sums).
 */
export function keyDistances(Kx: Float32Array, Kp: Float32Array, dk: number, M: number, P: number, out: Float32Array, raw: Float32Array, weight = 1, accumulate = false): void {
  const cols = P + M;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < M; i++) {
    const xi = i * dk;
    for (let j = 0; j < cols; j++) {
      const other = j < P ? Kp : Kx;
      const yj = (j < P ? j : j - P) * dk;
      let s = 0;
      for (let d = 0; d < dk; d++) { const t = Kx[xi + d]! - other[yj + d]!; s += t * t; }
      const dist = Math.sqrt(s);
      raw[i * cols + j] = dist;
      if (j !== P + i) { sum += dist; count++; }
    }
  }
  scaleInto(out, raw, M * cols, weight, count > 0 ? sum / count : 1, accumulate);
}

/** out (+)= weight · raw / mean over n entries: the mean-normalised distance, optionally summed per block. */
function scaleInto(out: Float32Array, raw: Float32Array, n: number, weight: number, mean: number, accumulate: boolean): void {
  const w = weight / (mean > 1e-12 ? mean : 1);
  if (accumulate) for (let q = 0; q < n; q++) out[q]! += w * raw[q]!;
  else for (let q = 0; q < n; q++) out[q] = w * raw[q]!;
}

export interface DriftOptions {
  /** temperature τ */
  tau: number;
  /** false = attraction only (the known-collapse ablation) */
  repulsion: boolean;
}

/**
 * V for one group at one temperature: V (M×D) = coef (M×(P+M)) · stacked (P+M)×D, where `stacked`
 * holds the P positive windows followed by the M generated windows (contiguous rows of D floats).
 * `dist` must already hold normalised distances (see keyDistances). Overwrites V.
 */
export function driftGroup(s: DriftScratch, k: TrainKernels, M: number, P: number, D: number, stacked: Float32Array, V: Float32Array, opt: DriftOptions): void {
  const cols = P + M;
  const { dist, coef, rowLse, colLse } = s;
  const invTau = 1 / opt.tau;
  // logits with the self-pair masked (+1e6 distance → weight ~0)
  if (!opt.repulsion) {
    // attraction only: V = softmax_row(−d⁺/τ) Y⁺ − x
    for (let i = 0; i < M; i++) {
      let mx = -Infinity;
      for (let j = 0; j < P; j++) { const l = -dist[i * cols + j]! * invTau; if (l > mx) mx = l; }
      let z = 0;
      for (let j = 0; j < P; j++) { const e = Math.exp(-dist[i * cols + j]! * invTau - mx); coef[i * cols + j] = e; z += e; }
      for (let j = 0; j < P; j++) coef[i * cols + j]! /= z;
      for (let j = P; j < cols; j++) coef[i * cols + j] = j === P + i ? -1 : 0;
    }
    k.gemm(M, D, cols, coef, cols, 1, stacked, D, V, 0);
    return;
  }
  for (let i = 0; i < M; i++) {
    const row = i * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) {
      const l = j === P + i ? -1e6 : -dist[row + j]! * invTau;
      coef[row + j] = l;
      if (l > mx) mx = l;
    }
    let z = 0;
    for (let j = 0; j < cols; j++) z += Math.exp(coef[row + j]! - mx);
    rowLse[i] = mx + Math.log(z);
  }
  for (let j = 0; j < cols; j++) {
    let mx = -Infinity;
    for (let i = 0; i < M; i++) { const l = coef[i * cols + j]!; if (l > mx) mx = l; }
    let z = 0;
    for (let i = 0; i < M; i++) z += Math.exp(coef[i * cols + j]! - mx);
    colLse[j] = mx + Math.log(z);
  }
  for (let i = 0; i < M; i++) {
    const row = i * cols;
    let sp = 0, sn = 0;
    for (let j = 0; j < cols; j++) {
      const a = Math.exp(coef[row + j]! - 0.5 * (rowLse[i]! + colLse[j]!));
      coef[row + j] = a;
      if (j < P) sp += a; else sn += a;
    }
    for (let j = 0; j < P; j++) coef[row + j]! *= sn;
    for (let j = P; j < cols; j++) coef[row + j]! *= -sp;
  }
  k.gemm(M, D, cols, coef, cols, 1, stacked, D, V, 0);
}

/**
 * Like `keyDistances` for wide keys (hundreds of dims), using a GEMM for the cross terms:
 * ‖x−y‖² = ‖x‖² + ‖y‖² − 2x·y. `cols` holds the keys of [positives | generated] TRANSPOSED
 * (nb × (P+M), kernel memory); generated keys are columns P…P+M−1. `gram` is M×(P+M) kernel memory.
 */
export function keyDistancesGemm(k: TrainKernels, colsT: Float32Array, nb: number, M: number, P: number, gram: Float32Array,
  norms: Float64Array, out: Float32Array, raw: Float32Array, weight = 1, accumulate = false): void {
  const cols = P + M;
  for (let j = 0; j < cols; j++) norms[j] = 0;
  for (let d = 0; d < nb; d++) {
    const row = d * cols;
    for (let j = 0; j < cols; j++) { const v = colsT[row + j]!; norms[j]! += v * v; }
  }
  // gram[i][j] = x_i · y_j with x_i = column P+i of colsT: A(i,d) = colsT[d*cols + P + i]
  k.gemm(M, cols, nb, colsT.subarray(P), 1, cols, colsT, cols, gram, 0);
  let sum = 0, count = 0;
  for (let i = 0; i < M; i++) {
    const ni = norms[P + i]!;
    for (let j = 0; j < cols; j++) {
      const d2 = ni + norms[j]! - 2 * gram[i * cols + j]!;
      const dist = d2 > 0 && j !== P + i ? Math.sqrt(d2) : 0;
      raw[i * cols + j] = dist;
      if (j !== P + i) { sum += dist; count++; }
    }
  }
  scaleInto(out, raw, M * cols, weight, count > 0 ? sum / count : 1, accumulate);
}
