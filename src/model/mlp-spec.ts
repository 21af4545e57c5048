/**
 * The generator network as plain data, shared by the trainer, the exporter and the reference runtime.
 * Input = concat(noise[noiseDim], condition[condDim]) → hidden layers (activation) → linear output.
 * Weights are float32; layer l has W (outDim × inDim, row-major, TFLite FULLY_CONNECTED layout) and b.
 */
export type Activation = 'relu' | 'silu' | 'tanh';

export interface MlpSpec {
  noiseDim: number;
  condDim: number;
  hidden: number[];
  outputDim: number;
  activation: Activation;
}

export interface DenseLayer {
  inDim: number;
  outDim: number;
  /** outDim × inDim, row-major */
  W: Float32Array;
  b: Float32Array;
}

export interface MlpWeights {
  spec: MlpSpec;
  layers: DenseLayer[];
}

export function layerDims(spec: MlpSpec): Array<[inDim: number, outDim: number]> {
  const dims = [spec.noiseDim + spec.condDim, ...spec.hidden, spec.outputDim];
  return dims.slice(0, -1).map((d, i) => [d, dims[i + 1]!] as [number, number]);
}

export function paramCount(spec: MlpSpec): number {
  return layerDims(spec).reduce((n, [i, o]) => n + i * o + o, 0);
}

/** Flat float32 blob: W0, b0, W1, b1, ... (the on-disk `weights.bin` layout). */
export function packWeights(w: MlpWeights): Float32Array {
  const out = new Float32Array(paramCount(w.spec));
  let off = 0;
  for (const l of w.layers) { out.set(l.W, off); off += l.W.length; out.set(l.b, off); off += l.b.length; }
  return out;
}

/** Views into a flat blob (no copy). */
export function unpackWeights(spec: MlpSpec, flat: Float32Array): MlpWeights {
  const layers: DenseLayer[] = [];
  let off = 0;
  for (const [inDim, outDim] of layerDims(spec)) {
    const W = flat.subarray(off, off + inDim * outDim); off += inDim * outDim;
    const b = flat.subarray(off, off + outDim); off += outDim;
    layers.push({ inDim, outDim, W, b });
  }
  if (off !== flat.length) throw new RangeError(`weights blob has ${flat.length} floats, spec needs ${off}`);
  return { spec, layers };
}

/** Plain float64-accumulating forward pass for one sample; the ground truth every fast path is checked against. */
export function mlpForwardReference(w: MlpWeights, input: ArrayLike<number>, out: Float32Array): void {
  let x = Float64Array.from(input as ArrayLike<number>);
  w.layers.forEach((l, li) => {
    const y = new Float64Array(l.outDim);
    for (let o = 0; o < l.outDim; o++) {
      let s = l.b[o]!;
      const row = o * l.inDim;
      for (let i = 0; i < l.inDim; i++) s += l.W[row + i]! * x[i]!;
      y[o] = li < w.layers.length - 1 ? activate(w.spec.activation, s) : s;
    }
    x = y;
  });
  for (let i = 0; i < out.length; i++) out[i] = x[i]!;
}

export function activate(a: Activation, s: number): number {
  switch (a) {
    case 'relu': return s > 0 ? s : 0;
    case 'silu': return s / (1 + Math.exp(-s));
    case 'tanh': return Math.tanh(s);
  }
}
