/**
 * A tiny .tflite graph builder over the flatc-generated object API, for the runtime's own tests,
 * fuzz seeds and op coverage (graphs the MLP exporter never emits: MUL, RESHAPE, LOGISTIC, …).
 * Not the exporter: `kdp export` uses src/planner/export/. Both write the same official schema.
 */
import { ActivationFunctionType, BuiltinOperator, TensorType, writeTfliteGraph, type GraphDef, type OpDef, type OpOptions, type TensorDef } from '../../src/planner/export/tflite-writer.js';
import type { MlpSpec, MlpWeights } from '../../src/model/mlp-spec.js';
import { Rng } from '../../src/util/rng.js';
import { FbReader } from '../../src/planner/tflite/flatbuf.js';

export type BuilderDType = 'float32' | 'int8' | 'int32';
export type FusedAct = 'none' | 'relu' | 'relu_n1_to_1' | 'relu6';
const ACT: Record<FusedAct, ActivationFunctionType> = {
  none: ActivationFunctionType.NONE, relu: ActivationFunctionType.RELU, relu_n1_to_1: ActivationFunctionType.RELU_N1_TO_1, relu6: ActivationFunctionType.RELU6,
};
const TT: Record<BuilderDType, TensorType> = { float32: TensorType.FLOAT32, int8: TensorType.INT8, int32: TensorType.INT32 };

export interface QParams { scale: number; zeroPoint: number }

/** Builds a GraphDef and serializes it with the exporter's writer (src/planner/export/tflite-writer.ts). */
export class GraphBuilder {
  private readonly tensors: TensorDef[] = [];
  private readonly ops: OpDef[] = [];
  private readonly inputs: number[] = [];
  private readonly outputs: number[] = [];
  /** override Model.version after writing (tests of the version check) */
  version = 3;

  tensor(name: string, shape: number[], dtype: BuilderDType = 'float32', q?: QParams, data?: Uint8Array): number {
    const t: TensorDef = { name, shape: shape.slice(), type: TT[dtype] };
    if (q) t.quant = { scale: [q.scale], zeroPoint: [q.zeroPoint] };
    if (data) t.data = data.slice();
    this.tensors.push(t);
    return this.tensors.length - 1;
  }

  input(name: string, shape: number[]): number {
    const t = this.tensor(name, shape, 'float32');
    this.inputs.push(t);
    return t;
  }

  output(t: number): void { this.outputs.push(t); }

  constF32(name: string, shape: number[], data: Float32Array): number {
    return this.tensor(name, shape, 'float32', undefined, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  constI8(name: string, shape: number[], data: Int8Array, q: QParams): number {
    return this.tensor(name, shape, 'int8', q, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  constI32(name: string, shape: number[], data: Int32Array, q?: QParams): number {
    return this.tensor(name, shape, 'int32', q, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  op(name: keyof typeof BuiltinOperator, inputs: number[], outputs: number[],
    opts: { act?: FusedAct; axis?: number; version?: number; adjX?: boolean; adjY?: boolean; beta?: number } = {}): void {
    const code = BuiltinOperator[name];
    const fusedActivation = ACT[opts.act ?? 'none'];
    let options: OpOptions;
    switch (code) {
      case BuiltinOperator.FULLY_CONNECTED: options = { kind: 'fc', fusedActivation }; break;
      case BuiltinOperator.CONCATENATION: options = { kind: 'concat', axis: opts.axis ?? -1, fusedActivation }; break;
      case BuiltinOperator.ADD: options = { kind: 'add', fusedActivation }; break;
      case BuiltinOperator.MUL: options = { kind: 'mul', fusedActivation }; break;
      case BuiltinOperator.QUANTIZE: options = { kind: 'quantize' }; break;
      case BuiltinOperator.DEQUANTIZE: options = { kind: 'dequantize' }; break;
      case BuiltinOperator.BATCH_MATMUL: options = { kind: 'batch_matmul', adjX: opts.adjX ?? false, adjY: opts.adjY ?? false }; break;
      case BuiltinOperator.SOFTMAX: options = { kind: 'softmax', beta: opts.beta ?? 1 }; break;
      default: options = { kind: 'none' };
    }
    this.ops.push({ op: code, version: opts.version ?? 1, inputs: inputs.slice(), outputs: outputs.slice(), options });
  }

  finish(): Uint8Array {
    const name = (t: number): string => this.tensors[t]!.name;
    const g: GraphDef = {
      name: 'main', description: 'kdp-edge runtime test graph', tensors: this.tensors, inputs: this.inputs, outputs: this.outputs, ops: this.ops,
      signature: {
        key: 'serving_default',
        inputs: this.inputs.map((t) => ({ name: name(t), tensor: t })),
        outputs: this.outputs.map((t) => ({ name: name(t), tensor: t })),
      },
    };
    const bytes = writeTfliteGraph(g);
    if (this.version !== 3) {
      const root = new FbReader(bytes).root();
      const pos = root.field(0, 4);
      if (pos === 0) throw new Error('writer omitted Model.version');
      new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(pos, this.version, true);
    }
    return bytes;
  }
}

/** Symmetric per-tensor int8 quantization of weights (zero point 0, values in [-127, 127]). */
export function quantizeWeights(w: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (const v of w) max = Math.max(max, Math.abs(v));
  const scale = Math.fround(max > 0 ? max / 127 : 1);
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / scale)));
  return { q, scale };
}

/** Asymmetric int8 activation quantization for a [min, max] range widened to include 0. */
export function activationQParams(min: number, max: number): QParams {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}

export interface TestMlpOptions {
  batch: number;
  quantize: 'fp32' | 'int8';
  /** two float inputs (noise, condition) joined by CONCATENATION, like the generator */
  splitInputs?: boolean;
  /** calibration inputs (rows of noiseDim + condDim); default: 64 rows of N(0,1)-ish values */
  calibration?: Float32Array[];
}

/**
 * A generator-shaped MLP as .tflite for the runtime's tests and benchmarks (relu → fused FC RELU,
 * tanh → TANH op, silu → LOGISTIC + MUL). int8: full-integer with per-tensor weights, calibrated on
 * `calibration`, QUANTIZE/DEQUANTIZE at the ends — the same structure `kdp export` writes.
 */
export function buildTestMlp(w: MlpWeights, opts: TestMlpOptions): Uint8Array {
  const { spec, layers } = w;
  const N = opts.batch;
  const inDim = spec.noiseDim + spec.condDim;
  const calib = opts.calibration ?? Array.from({ length: 64 }, (_, k) => {
    const r = new Float32Array(inDim);
    for (let i = 0; i < inDim; i++) r[i] = Math.sin(k * 12.9898 + i * 78.233) * 1.7;
    return r;
  });
  // float forward over the calibration set, recording min/max of every intermediate
  type Range = { min: number; max: number };
  const ranges = new Map<string, Range>();
  const see = (key: string, v: number): void => {
    const r = ranges.get(key) ?? { min: Infinity, max: -Infinity };
    r.min = Math.min(r.min, v); r.max = Math.max(r.max, v); ranges.set(key, r);
  };
  for (const x0 of calib) {
    let x = Array.from(x0);
    x.forEach((v, i) => see(i < spec.noiseDim ? 'in0' : 'in1', v));
    x.forEach((v) => see('in', v));
    layers.forEach((l, li) => {
      const last = li === layers.length - 1;
      const y: number[] = [];
      for (let o = 0; o < l.outDim; o++) {
        let s = l.b[o]!;
        for (let i = 0; i < l.inDim; i++) s += l.W[o * l.inDim + i]! * x[i]!;
        see(`fc${li}`, last || spec.activation !== 'relu' ? s : Math.max(0, s));
        let a = s;
        if (!last) {
          if (spec.activation === 'relu') a = Math.max(0, s);
          else if (spec.activation === 'tanh') { a = Math.tanh(s); see(`act${li}`, a); }
          else { const sg = 1 / (1 + Math.exp(-s)); see(`sig${li}`, sg); a = s * sg; see(`act${li}`, a); }
        }
        y.push(a);
      }
      x = y;
    });
  }
  const q = (key: string): QParams => { const r = ranges.get(key)!; return activationQParams(r.min, r.max); };
  const int8 = opts.quantize === 'int8';
  const g = new GraphBuilder();
  let cur: number;
  let curQ: QParams | undefined;
  if (opts.splitInputs) {
    const a = g.input('noise', [N, spec.noiseDim]);
    const b = g.input('condition', [N, spec.condDim]);
    if (int8) {
      const qc = q('in');
      const qa = g.tensor('noise_q', [N, spec.noiseDim], 'int8', qc);
      const qb = g.tensor('condition_q', [N, spec.condDim], 'int8', qc);
      g.op('QUANTIZE', [a], [qa], { version: 2 });
      g.op('QUANTIZE', [b], [qb], { version: 2 });
      cur = g.tensor('x_q', [N, inDim], 'int8', qc);
      g.op('CONCATENATION', [qa, qb], [cur], { axis: 1, version: 2 });
      curQ = qc;
    } else {
      cur = g.tensor('x', [N, inDim]);
      g.op('CONCATENATION', [a, b], [cur], { axis: 1 });
    }
  } else {
    const a = g.input('x', [N, inDim]);
    if (int8) {
      curQ = q('in');
      cur = g.tensor('x_q', [N, inDim], 'int8', curQ);
      g.op('QUANTIZE', [a], [cur], { version: 2 });
    } else cur = a;
  }
  layers.forEach((l, li) => {
    const last = li === layers.length - 1;
    const fuse = !last && spec.activation === 'relu';
    if (int8) {
      const { q: wq, scale: ws } = quantizeWeights(l.W);
      const inQ = curQ!;
      const bscale = Math.fround(inQ.scale * ws);
      const bq = new Int32Array(l.outDim);
      for (let o = 0; o < l.outDim; o++) bq[o] = Math.round(l.b[o]! / bscale);
      const wt = g.constI8(`W${li}`, [l.outDim, l.inDim], wq, { scale: ws, zeroPoint: 0 });
      const bt = g.constI32(`b${li}`, [l.outDim], bq, { scale: bscale, zeroPoint: 0 });
      const oq = q(`fc${li}`);
      const y = g.tensor(`fc${li}_q`, [N, l.outDim], 'int8', oq);
      g.op('FULLY_CONNECTED', [cur, wt, bt], [y], { act: fuse ? 'relu' : 'none', version: 4 });
      cur = y; curQ = oq;
      if (!last && spec.activation === 'tanh') {
        const t = g.tensor(`tanh${li}_q`, [N, l.outDim], 'int8', { scale: 1 / 128, zeroPoint: 0 });
        g.op('TANH', [cur], [t], { version: 2 });
        cur = t; curQ = { scale: 1 / 128, zeroPoint: 0 };
      } else if (!last && spec.activation === 'silu') {
        const sq = { scale: 1 / 256, zeroPoint: -128 };
        const s = g.tensor(`sig${li}_q`, [N, l.outDim], 'int8', sq);
        g.op('LOGISTIC', [cur], [s], { version: 2 });
        const aq = q(`act${li}`);
        const m = g.tensor(`silu${li}_q`, [N, l.outDim], 'int8', aq);
        g.op('MUL', [cur, s], [m], { version: 2 });
        cur = m; curQ = aq;
      }
    } else {
      const wt = g.constF32(`W${li}`, [l.outDim, l.inDim], l.W);
      const bt = g.constF32(`b${li}`, [l.outDim], l.b);
      const y = g.tensor(last ? 'fc_out' : `fc${li}`, [N, l.outDim]);
      g.op('FULLY_CONNECTED', [cur, wt, bt], [y], { act: fuse ? 'relu' : 'none' });
      cur = y;
      if (!last && spec.activation === 'tanh') {
        const t = g.tensor(`tanh${li}`, [N, l.outDim]); g.op('TANH', [cur], [t]); cur = t;
      } else if (!last && spec.activation === 'silu') {
        const s = g.tensor(`sig${li}`, [N, l.outDim]); g.op('LOGISTIC', [cur], [s]);
        const m = g.tensor(`silu${li}`, [N, l.outDim]); g.op('MUL', [cur, s], [m]); cur = m;
      }
    }
  });
  if (int8) {
    const out = g.tensor('plan', [N, spec.outputDim]);
    g.op('DEQUANTIZE', [cur], [out], { version: 2 });
    g.output(out);
  } else {
    g.output(cur);
  }
  return g.finish();
}

/** Deterministic random MLP weights (He-style scale) for tests and benchmarks. */
export function randomMlp(spec: MlpSpec, seed = 1): MlpWeights {
  const rng = new Rng(seed);
  const rnd = (): number => rng.uniform();
  const dims = [spec.noiseDim + spec.condDim, ...spec.hidden, spec.outputDim];
  const layers = dims.slice(0, -1).map((inDim, li) => {
    const outDim = dims[li + 1]!;
    const W = new Float32Array(inDim * outDim);
    const k = Math.sqrt(6 / inDim);
    for (let i = 0; i < W.length; i++) W[i] = (rnd() * 2 - 1) * k;
    const b = new Float32Array(outDim);
    for (let i = 0; i < outDim; i++) b[i] = (rnd() * 2 - 1) * 0.1;
    return { inDim, outDim, W, b };
  });
  return { spec, layers };
}
