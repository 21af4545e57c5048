/**
 * Static k-d tree over float32 points for k-nearest-neighbour retrieval of positives by condition.
 * Built once per dataset; queries allocate nothing (caller-owned result buffers).
 */
export class KdTree {
  readonly dim: number;
  readonly size: number;
  private readonly pts: Float32Array;
  /** permutation of point indices; leaves are ranges of it */
  private readonly idx: Int32Array;
  /** node arrays: split dim (-1 = leaf), split value, [lo, hi) range, children */
  private readonly nDim: Int8Array;
  private readonly nVal: Float32Array;
  private readonly nLo: Int32Array;
  private readonly nHi: Int32Array;
  private readonly nLeft: Int32Array;
  private readonly nRight: Int32Array;
  private nodes = 0;
  private readonly stack: Int32Array;
  private readonly heapD: Float64Array;
  private readonly heapI: Int32Array;
  private heapN = 0;

  constructor(points: Float32Array, dim: number, readonly leafSize = 16, maxK = 256) {
    this.dim = dim;
    this.size = points.length / dim;
    if (!Number.isInteger(this.size)) throw new RangeError(`points length ${points.length} is not a multiple of dim ${dim}`);
    this.pts = points;
    this.idx = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) this.idx[i] = i;
    const maxNodes = 2 * Math.ceil(this.size / Math.max(1, leafSize)) * 2 + 8;
    this.nDim = new Int8Array(maxNodes); this.nVal = new Float32Array(maxNodes);
    this.nLo = new Int32Array(maxNodes); this.nHi = new Int32Array(maxNodes);
    this.nLeft = new Int32Array(maxNodes); this.nRight = new Int32Array(maxNodes);
    this.stack = new Int32Array(256);
    this.heapD = new Float64Array(maxK); this.heapI = new Int32Array(maxK);
    this.build(0, this.size, 0);
  }

  private build(lo: number, hi: number, depth: number): number {
    const node = this.nodes++;
    this.nLo[node] = lo; this.nHi[node] = hi;
    if (hi - lo <= this.leafSize || depth > 60) { this.nDim[node] = -1; return node; }
    // split on the dimension of largest spread, at the median
    let best = 0, bestSpread = -1;
    for (let d = 0; d < this.dim; d++) {
      let mn = Infinity, mx = -Infinity;
      for (let i = lo; i < hi; i++) { const v = this.pts[this.idx[i]! * this.dim + d]!; if (v < mn) mn = v; if (v > mx) mx = v; }
      if (mx - mn > bestSpread) { bestSpread = mx - mn; best = d; }
    }
    if (bestSpread <= 0) { this.nDim[node] = -1; return node; }
    const mid = (lo + hi) >> 1;
    this.select(lo, hi - 1, mid, best);
    this.nDim[node] = best;
    this.nVal[node] = this.pts[this.idx[mid]! * this.dim + best]!;
    this.nLeft[node] = this.build(lo, mid, depth + 1);
    this.nRight[node] = this.build(mid, hi, depth + 1);
    return node;
  }

  /** quickselect on idx[lo..hi] by coordinate d so that position k holds the k-th smallest */
  private select(lo: number, hi: number, k: number, d: number): void {
    const { idx, pts, dim } = this;
    while (hi > lo) {
      const pivot = pts[idx[(lo + hi) >> 1]! * dim + d]!;
      let i = lo, j = hi;
      while (i <= j) {
        while (pts[idx[i]! * dim + d]! < pivot) i++;
        while (pts[idx[j]! * dim + d]! > pivot) j--;
        if (i <= j) { const t = idx[i]!; idx[i] = idx[j]!; idx[j] = t; i++; j--; }
      }
      if (k <= j) hi = j; else if (k >= i) lo = i; else return;
    }
  }

  /**
   * Indices of the k nearest points to `q` (squared L2), written to `out` (unordered).
   * Returns the number written (min(k, size)).
   */
  query(q: ArrayLike<number>, qOff: number, k: number, out: Int32Array, outOff = 0): number {
    if (k > this.heapD.length) throw new RangeError(`k=${k} exceeds the tree's maxK=${this.heapD.length}`);
    k = Math.min(k, this.size);
    this.heapN = 0;
    let sp = 0;
    this.stack[sp++] = 0;
    const { dim, pts, idx } = this;
    while (sp > 0) {
      const node = this.stack[--sp]!;
      const sd = this.nDim[node]!;
      if (sd < 0) {
        for (let i = this.nLo[node]!, e = this.nHi[node]!; i < e; i++) {
          const p = idx[i]!;
          let s = 0;
          for (let d = 0; d < dim; d++) { const t = pts[p * dim + d]! - q[qOff + d]!; s += t * t; }
          this.push(s, p, k);
        }
        continue;
      }
      const diff = q[qOff + sd]! - this.nVal[node]!;
      const near = diff < 0 ? this.nLeft[node]! : this.nRight[node]!;
      const far = diff < 0 ? this.nRight[node]! : this.nLeft[node]!;
      // visit far only if the splitting plane is closer than the current k-th distance
      if (this.heapN < k || diff * diff < this.heapD[0]!) this.stack[sp++] = far;
      this.stack[sp++] = near;
    }
    for (let i = 0; i < this.heapN; i++) out[outOff + i] = this.heapI[i]!;
    return this.heapN;
  }

  /** bounded max-heap of the k best */
  private push(d: number, i: number, k: number): void {
    const H = this.heapD, I = this.heapI;
    if (this.heapN < k) {
      let c = this.heapN++;
      while (c > 0) { const p = (c - 1) >> 1; if (H[p]! >= d) break; H[c] = H[p]!; I[c] = I[p]!; c = p; }
      H[c] = d; I[c] = i;
      return;
    }
    if (d >= H[0]!) return;
    let c = 0;
    const n = this.heapN;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && H[r]! > H[l]! ? r : l;
      if (H[m]! <= d) break;
      H[c] = H[m]!; I[c] = I[m]!; c = m;
    }
    H[c] = d; I[c] = i;
  }
}
