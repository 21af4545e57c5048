/**
 * The generator MLP as a TFLite graph (fp32 or full-integer int8), plus calibration.
 *
 * fp32 graph (N = candidates):
 *   noise [N,noiseDim] f32 ─┐
 *                           ├─ CONCATENATION(axis 1) → x0 [N,in] → FC_0 … FC_{L-1} → plan [N,outDim] f32
 *   condition [N,condDim] ──┘
 *   hidden activation: relu → RELU fused into the FC; tanh → TANH op; silu → LOGISTIC + MUL(z, σ(z)).
 *
 * int8 graph: QUANTIZE noise/condition straight to the concatenation's q-params (every CONCATENATION
 * input shares the output's params, which old runtimes require) → int8 CONCATENATION → int8 FCs
 * (per-tensor symmetric int8 weights, int32 bias) → DEQUANTIZE → plan f32. The boundary stays float32.
 * Op versions are the minimal ones for the types used (spec §2): float ops v1; int8 FC v4; QUANTIZE,
 * DEQUANTIZE, CONCATENATION, TANH, LOGISTIC, MUL v2.
 */
import { ModelError } from '../../errors.js';
import type { MlpWeights } from '../../model/mlp-spec.js';
import { activate } from '../../model/mlp-spec.js';
import { planGraphArena } from './arena-plan.js';
import { SeededRandom } from '../../util/rng.js';
import {
  chooseActivationQParams, LOGISTIC_OUT, quantizeBias, quantizeWeightsPerTensor, TANH_OUT, type WeightBits,
  type Int8Layer, type Int8Network, type QParams,
} from './quant.js';
import {
  ActivationFunctionType, BuiltinOperator, TensorType, writeTfliteGraph,
  type GraphDef, type OpDef, type TensorDef,
} from './tflite-writer.js';

export type Quantization = 'fp32' | 'int8';

export interface MlpExportOptions {
  quantization: Quantization;
  /** batch dimension N of the exported graph (candidate plans per invoke); default 64 */
  candidates?: number;
  /** int8: bits used by the FC weights inside their int8 tensors (default 8; 6 → relaxed-SIMD kernel) */
  weightBits?: WeightBits;
  /** int8 calibration */
  calibration?: {
    /** normalized conditions, rows of condDim floats (e.g. calibration-conditions.bin) */
    conditions?: Float32Array;
    /**
     * number of (noise, condition) calibration pairs (default 1024). With fewer condition rows than
     * that, rows are reused with fresh noise; with more, an evenly strided subset is used.
     */
    samples?: number;
    seed?: number;
    /**
     * widen every calibrated activation range by this fraction of its width on each side, so inputs
     * slightly outside the calibration set do not saturate (default 0.1)
     */
    margin?: number;
    /** the noise input's range is at least ±noiseSigma (N(0,1) noise; default 4 → clipped with p≈6e-5) */
    noiseSigma?: number;
  };
  name?: string;
  description?: string;
  /** boundary tensor names (default: noise, condition → plan; the scorer uses points, goal → score) */
  ioNames?: { inputs: readonly [string, string]; output: string };
}

export interface MlpExport {
  bytes: Uint8Array;
  graph: GraphDef;
  quantization: Quantization;
  candidates: number;
  /** greedy lifetime plan of the non-constant tensors, 16-byte aligned (see arena-plan.ts) */
  arenaBytes: number;
  /** int8 only: the quantized network (what the .tflite contains), for the integer reference */
  int8?: Int8Network;
  /** int8 only: q-params of the tensors adjacent to the float boundary */
  boundaryQuantization?: Record<string, QParams>;
  calibration?: { samples: number; source: 'calibration-conditions' | 'standard-normal' };
}

export const SIGNATURE_KEY = 'serving_default';
export const DEFAULT_CALIBRATION_SAMPLES = 1024;
export const INPUT_NAMES = ['noise', 'condition'] as const;
export const OUTPUT_NAME = 'plan';

function f32Bytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true);
  return out;
}
function i32Bytes(a: Int32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setInt32(4 * i, a[i]!, true);
  return out;
}

function checkWeights(w: MlpWeights): void {
  const s = w.spec;
  const dims = [s.noiseDim + s.condDim, ...s.hidden, s.outputDim];
  if (w.layers.length !== dims.length - 1) throw new ModelError('E_MODEL_SHAPE', `MLP has ${w.layers.length} layers, spec needs ${dims.length - 1}`);
  w.layers.forEach((l, i) => {
    if (l.inDim !== dims[i] || l.outDim !== dims[i + 1] || l.W.length !== l.inDim * l.outDim || l.b.length !== l.outDim) {
      throw new ModelError('E_MODEL_SHAPE', `layer ${i}: expected ${dims[i]}→${dims[i + 1]}, got W ${l.W.length} b ${l.b.length} (${l.inDim}→${l.outDim})`);
    }
    for (const v of l.W) if (!Number.isFinite(v)) throw new ModelError('E_MODEL_SHAPE', `layer ${i}: non-finite weight`);
    for (const v of l.b) if (!Number.isFinite(v)) throw new ModelError('E_MODEL_SHAPE', `layer ${i}: non-finite bias`);
  });
}

/** Build + serialize. `writeMlpTflite` is the bytes-only shorthand. */
export function exportMlp(w: MlpWeights, opts: MlpExportOptions): MlpExport {
  checkWeights(w);
  const N = opts.candidates ?? 64;
  if (!Number.isInteger(N) || N < 1) throw new ModelError('E_MODEL_SHAPE', `candidates must be a positive integer, got ${N}`);
  if (opts.quantization === 'fp32') {
    const graph = buildFloatGraph(w, N, opts);
    return { bytes: writeTfliteGraph(graph), graph, quantization: 'fp32', candidates: N, arenaBytes: planGraphArena(graph).arenaBytes };
  }
  const cal = calibrate(w, opts.calibration ?? {});
  const net = quantizeNetwork(w, widen(cal.ranges, opts.calibration?.margin ?? 0.1), opts.weightBits ?? 8);
  const graph = buildInt8Graph(w, net, N, opts);
  return {
    bytes: writeTfliteGraph(graph), graph, quantization: 'int8', candidates: N, arenaBytes: planGraphArena(graph).arenaBytes,
    int8: net,
    boundaryQuantization: { noise: net.input, condition: net.input, plan: net.layers[net.layers.length - 1]!.fcOut },
    calibration: { samples: cal.samples, source: cal.source },
  };
}

export function writeMlpTflite(w: MlpWeights, opts: MlpExportOptions): Uint8Array {
  return exportMlp(w, opts).bytes;
}

// ---------------------------------------------------------------------------------------------
// calibration

interface Ranges {
  input: [number, number];
  /** per layer: FC output (pre-activation) and, for hidden layers, activation output */
  fc: Array<[number, number]>;
  act: Array<[number, number]>;
}

/**
 * The calibration inputs every exporter draws: `samples` rows of [noise N(0, 1), condition], the conditions
 * from the checkpoint's file (more rows than samples: an evenly strided subset, deterministic and covering the
 * file; fewer: cycled) or N(0, 1). `fill(s, x0)` writes sample s; the stream is the same for every exporter.
 */
export function calibrationInputs(c: NonNullable<MlpExportOptions['calibration']>, noiseDim: number, condDim: number): { samples: number; source: 'calibration-conditions' | 'standard-normal'; fill(s: number, x0: Float64Array): void } {
  const rng = new SeededRandom(c.seed ?? 0x5eed);
  const rows = c.conditions ? Math.floor(c.conditions.length / condDim) : 0;
  if (c.conditions && (c.conditions.length % condDim !== 0 || rows === 0)) {
    throw new ModelError('E_MODEL_SHAPE', `calibration conditions: ${c.conditions.length} floats is not a positive multiple of condDim ${condDim}`);
  }
  const samples = c.samples ?? DEFAULT_CALIBRATION_SAMPLES;
  if (!Number.isInteger(samples) || samples < 1) throw new ModelError('E_MODEL_SHAPE', `calibration samples must be ≥ 1, got ${samples}`);
  const stride = rows > samples ? rows / samples : 1;
  return {
    samples, source: rows > 0 ? 'calibration-conditions' : 'standard-normal',
    fill(s: number, x0: Float64Array): void {
      for (let i = 0; i < noiseDim; i++) x0[i] = Math.fround(rng.normal());
      if (rows > 0) {
        const r = Math.floor(s * stride) % rows;
        for (let i = 0; i < condDim; i++) x0[noiseDim + i] = c.conditions![r * condDim + i]!;
      } else {
        for (let i = 0; i < condDim; i++) x0[noiseDim + i] = Math.fround(rng.normal());
      }
    },
  };
}

function calibrate(w: MlpWeights, c: NonNullable<MlpExportOptions['calibration']>): { ranges: Ranges; samples: number; source: 'calibration-conditions' | 'standard-normal' } {
  const { noiseDim, condDim } = w.spec;
  const inputs = calibrationInputs(c, noiseDim, condDim);
  const samples = inputs.samples;
  const L = w.layers.length;
  const ranges: Ranges = {
    input: [Infinity, -Infinity],
    fc: Array.from({ length: L }, () => [Infinity, -Infinity] as [number, number]),
    act: Array.from({ length: L }, () => [Infinity, -Infinity] as [number, number]),
  };
  const upd = (r: [number, number], v: number): void => { if (v < r[0]) r[0] = v; if (v > r[1]) r[1] = v; };
  const x0 = new Float64Array(noiseDim + condDim);
  for (let s = 0; s < samples; s++) {
    inputs.fill(s, x0);
    for (const v of x0) upd(ranges.input, v);
    upd(ranges.input, -(c.noiseSigma ?? 4));
    upd(ranges.input, c.noiseSigma ?? 4);
    let x: Float64Array = x0;
    w.layers.forEach((l, li) => {
      const y = new Float64Array(l.outDim);
      const hidden = li < L - 1;
      for (let o = 0; o < l.outDim; o++) {
        let acc = l.b[o]!;
        const row = o * l.inDim;
        for (let i = 0; i < l.inDim; i++) acc += l.W[row + i]! * x[i]!;
        upd(ranges.fc[li]!, acc);
        const a = hidden ? activate(w.spec.activation, acc) : acc;
        if (hidden) upd(ranges.act[li]!, a);
        y[o] = a;
      }
      x = y;
    });
  }
  return { ranges, samples, source: inputs.source };
}

function widen(r: Ranges, margin: number): Ranges {
  const w = ([lo, hi]: [number, number]): [number, number] => [lo - margin * (hi - lo), hi + margin * (hi - lo)];
  // the input range is data + the fixed noise range: not widened
  return { input: r.input, fc: r.fc.map(w), act: r.act.map(w) };
}

function quantizeNetwork(w: MlpWeights, r: Ranges, weightBits: WeightBits): Int8Network {
  const act = w.spec.activation;
  const input = chooseActivationQParams(r.input[0], r.input[1]);
  let inQ = input;
  const layers: Int8Layer[] = w.layers.map((l, li) => {
    const hidden = li < w.layers.length - 1;
    const { q: wq, scale: wScale } = quantizeWeightsPerTensor(l.W, weightBits);
    const { q: bq, scale: biasScale } = quantizeBias(l.b, inQ.scale, wScale);
    const fcRange = r.fc[li]!;
    // relu is fused: the FC output tensor holds relu(z), so calibrate it on [0, max z]
    const fcOut = hidden && act === 'relu' ? chooseActivationQParams(0, fcRange[1]) : chooseActivationQParams(fcRange[0], fcRange[1]);
    const layer: Int8Layer = { inDim: l.inDim, outDim: l.outDim, wq, wScale, bq, biasScale, fcOut };
    if (hidden && act === 'tanh') layer.actOut = TANH_OUT;
    if (hidden && act === 'silu') layer.actOut = chooseActivationQParams(r.act[li]![0], r.act[li]![1]);
    inQ = layer.actOut ?? fcOut;
    return layer;
  });
  return { activation: act, noiseDim: w.spec.noiseDim, condDim: w.spec.condDim, input, layers };
}

// ---------------------------------------------------------------------------------------------
// graphs

function q(p: QParams): { scale: number[]; zeroPoint: number[] } {
  return { scale: [p.scale], zeroPoint: [p.zeroPoint] };
}

function ioNames(opts: MlpExportOptions): { inputs: readonly [string, string]; output: string } {
  return opts.ioNames ?? { inputs: INPUT_NAMES, output: OUTPUT_NAME };
}

function buildFloatGraph(w: MlpWeights, N: number, opts: MlpExportOptions): GraphDef {
  const { noiseDim, condDim, activation } = w.spec;
  const io = ioNames(opts);
  const tensors: TensorDef[] = [];
  const ops: OpDef[] = [];
  const add = (t: TensorDef): number => tensors.push(t) - 1;
  const noise = add({ name: io.inputs[0], shape: [N, noiseDim], type: TensorType.FLOAT32 });
  const cond = add({ name: io.inputs[1], shape: [N, condDim], type: TensorType.FLOAT32 });
  let x = add({ name: 'x0', shape: [N, noiseDim + condDim], type: TensorType.FLOAT32 });
  ops.push({ op: BuiltinOperator.CONCATENATION, version: 1, inputs: [noise, cond], outputs: [x], options: { kind: 'concat', axis: 1, fusedActivation: ActivationFunctionType.NONE } });
  w.layers.forEach((l, li) => {
    const last = li === w.layers.length - 1;
    const W = add({ name: `fc${li}/weights`, shape: [l.outDim, l.inDim], type: TensorType.FLOAT32, data: f32Bytes(l.W) });
    const b = add({ name: `fc${li}/bias`, shape: [l.outDim], type: TensorType.FLOAT32, data: f32Bytes(l.b) });
    const fused = !last && activation === 'relu' ? ActivationFunctionType.RELU : ActivationFunctionType.NONE;
    const z = add({ name: last ? io.output : `fc${li}/out`, shape: [N, l.outDim], type: TensorType.FLOAT32 });
    ops.push({ op: BuiltinOperator.FULLY_CONNECTED, version: 1, inputs: [x, W, b], outputs: [z], options: { kind: 'fc', fusedActivation: fused } });
    x = z;
    if (last || activation === 'relu') return;
    if (activation === 'tanh') {
      const h = add({ name: `act${li}/tanh`, shape: [N, l.outDim], type: TensorType.FLOAT32 });
      ops.push({ op: BuiltinOperator.TANH, version: 1, inputs: [z], outputs: [h], options: { kind: 'none' } });
      x = h;
    } else {
      const s = add({ name: `act${li}/sigmoid`, shape: [N, l.outDim], type: TensorType.FLOAT32 });
      const h = add({ name: `act${li}/silu`, shape: [N, l.outDim], type: TensorType.FLOAT32 });
      ops.push({ op: BuiltinOperator.LOGISTIC, version: 1, inputs: [z], outputs: [s], options: { kind: 'none' } });
      ops.push({ op: BuiltinOperator.MUL, version: 1, inputs: [z, s], outputs: [h], options: { kind: 'mul', fusedActivation: ActivationFunctionType.NONE } });
      x = h;
    }
  });
  return finishGraph(tensors, ops, noise, cond, x, w, opts, 'fp32');
}

function buildInt8Graph(w: MlpWeights, net: Int8Network, N: number, opts: MlpExportOptions): GraphDef {
  const { noiseDim, condDim, activation } = w.spec;
  const io = ioNames(opts);
  const tensors: TensorDef[] = [];
  const ops: OpDef[] = [];
  const add = (t: TensorDef): number => tensors.push(t) - 1;
  const noise = add({ name: io.inputs[0], shape: [N, noiseDim], type: TensorType.FLOAT32 });
  const cond = add({ name: io.inputs[1], shape: [N, condDim], type: TensorType.FLOAT32 });
  const noiseQ = add({ name: `${io.inputs[0]}_q`, shape: [N, noiseDim], type: TensorType.INT8, quant: q(net.input) });
  const condQ = add({ name: `${io.inputs[1]}_q`, shape: [N, condDim], type: TensorType.INT8, quant: q(net.input) });
  ops.push({ op: BuiltinOperator.QUANTIZE, version: 2, inputs: [noise], outputs: [noiseQ], options: { kind: 'quantize' } });
  ops.push({ op: BuiltinOperator.QUANTIZE, version: 2, inputs: [cond], outputs: [condQ], options: { kind: 'quantize' } });
  let x = add({ name: 'x0', shape: [N, noiseDim + condDim], type: TensorType.INT8, quant: q(net.input) });
  ops.push({ op: BuiltinOperator.CONCATENATION, version: 2, inputs: [noiseQ, condQ], outputs: [x], options: { kind: 'concat', axis: 1, fusedActivation: ActivationFunctionType.NONE } });
  net.layers.forEach((l, li) => {
    const last = li === net.layers.length - 1;
    const W = add({ name: `fc${li}/weights`, shape: [l.outDim, l.inDim], type: TensorType.INT8, data: new Uint8Array(l.wq.buffer, l.wq.byteOffset, l.wq.length), quant: { scale: [l.wScale], zeroPoint: [0] } });
    const b = add({ name: `fc${li}/bias`, shape: [l.outDim], type: TensorType.INT32, data: i32Bytes(l.bq), quant: { scale: [l.biasScale], zeroPoint: [0] } });
    const fused = !last && activation === 'relu' ? ActivationFunctionType.RELU : ActivationFunctionType.NONE;
    const z = add({ name: last ? `${io.output}_q` : `fc${li}/out`, shape: [N, l.outDim], type: TensorType.INT8, quant: q(l.fcOut) });
    ops.push({ op: BuiltinOperator.FULLY_CONNECTED, version: 4, inputs: [x, W, b], outputs: [z], options: { kind: 'fc', fusedActivation: fused } });
    x = z;
    if (last || activation === 'relu') return;
    if (activation === 'tanh') {
      const h = add({ name: `act${li}/tanh`, shape: [N, l.outDim], type: TensorType.INT8, quant: q(TANH_OUT) });
      ops.push({ op: BuiltinOperator.TANH, version: 2, inputs: [z], outputs: [h], options: { kind: 'none' } });
      x = h;
    } else {
      const s = add({ name: `act${li}/sigmoid`, shape: [N, l.outDim], type: TensorType.INT8, quant: q(LOGISTIC_OUT) });
      const h = add({ name: `act${li}/silu`, shape: [N, l.outDim], type: TensorType.INT8, quant: q(l.actOut!) });
      ops.push({ op: BuiltinOperator.LOGISTIC, version: 2, inputs: [z], outputs: [s], options: { kind: 'none' } });
      ops.push({ op: BuiltinOperator.MUL, version: 2, inputs: [z, s], outputs: [h], options: { kind: 'mul', fusedActivation: ActivationFunctionType.NONE } });
      x = h;
    }
  });
  const plan = add({ name: io.output, shape: [N, w.spec.outputDim], type: TensorType.FLOAT32 });
  ops.push({ op: BuiltinOperator.DEQUANTIZE, version: 2, inputs: [x], outputs: [plan], options: { kind: 'dequantize' } });
  return finishGraph(tensors, ops, noise, cond, plan, w, opts, 'int8');
}

function finishGraph(tensors: TensorDef[], ops: OpDef[], noise: number, cond: number, plan: number, w: MlpWeights, opts: MlpExportOptions, qz: Quantization): GraphDef {
  const s = w.spec;
  return {
    name: opts.name ?? 'kdp_generator',
    description: opts.description ?? `kdp generator MLP ${s.noiseDim}+${s.condDim}→[${s.hidden.join(',')}]→${s.outputDim} ${s.activation} ${qz}`,
    tensors, ops, inputs: [noise, cond], outputs: [plan],
    signature: {
      key: SIGNATURE_KEY,
      inputs: [{ name: ioNames(opts).inputs[0], tensor: noise }, { name: ioNames(opts).inputs[1], tensor: cond }],
      outputs: [{ name: ioNames(opts).output, tensor: plan }],
    },
  };
}
