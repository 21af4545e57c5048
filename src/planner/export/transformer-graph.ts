/**
 * The transformer generator (model/transformer-spec.ts) as a TFLite graph, fp32 or full-integer int8.
 *
 *   noise, condition → CONCATENATION → x0 [N, in] → trunk FCs (RELU fused) → FC → h0 [N, T·C]
 *   → RESHAPE [N·T, C]; per block:
 *       FC q (1/√C folded into its weights), FC k, FC v on [N·T, C] → RESHAPE each to [N, T, C]
 *       BATCH_MATMUL(q, k, adj_y) → scores [N, T, T] → SOFTMAX → BATCH_MATMUL(·, v) → [N, T, C]
 *       → RESHAPE [N·T, C] → FC o → ADD h → FC (RELU) → FC → ADD
 *   → FC head [N·T, stepDim] → RESHAPE [N, T·stepDim] → FC with a 0/1 selection matrix → plan [N, outDim]
 *     (drops s₀ — there is no SLICE op in this runtime, and the selection costs T·stepDim·outDim MACs)
 *
 * int8: per-tensor symmetric weights (8 or 6 bits), activations calibrated on the float64 reference
 * forward (`transformerForwardReference`), SOFTMAX out at TFLite's 1/256, −128; QUANTIZE / DEQUANTIZE at
 * the float32 boundary, as the MLP export.
 */
import { ModelError } from '../../errors.js';
import { transformerForwardReference, transformerIoSpec, transformerLayout, type DenseOffsets, type TransformerSpec } from '../../model/transformer-spec.js';
import { planGraphArena } from './arena-plan.js';
import { calibrationInputs, INPUT_NAMES, OUTPUT_NAME, SIGNATURE_KEY, type MlpExport, type MlpExportOptions } from './mlp-graph.js';
import { chooseActivationQParams, quantizeBias, quantizeWeightsPerTensor, type QParams } from './quant.js';
import { ActivationFunctionType, BuiltinOperator, TensorType, writeTfliteGraph, type GraphDef, type OpDef, type TensorDef } from './tflite-writer.js';

const SOFTMAX_OUT: QParams = { scale: 1 / 256, zeroPoint: -128 };

function f32Bytes(a: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true);
  return out;
}
function i32Bytes(a: Int32Array | number[]): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setInt32(4 * i, a[i]!, true);
  return out;
}

type Range = [number, number];

/** Ranges of every named intermediate over calibration samples (noise N(0,1), conditions from the file or N(0,1)). */
function calibrate(spec: TransformerSpec, p: Float32Array, c: NonNullable<MlpExportOptions['calibration']>): { ranges: Map<string, Range>; samples: number; source: 'calibration-conditions' | 'standard-normal' } {
  const { noiseDim, condDim } = spec;
  const inputs = calibrationInputs(c, noiseDim, condDim);
  const samples = inputs.samples;
  const ranges = new Map<string, Range>();
  const observe = (name: string, v: ArrayLike<number>): void => {
    const r = ranges.get(name) ?? ([Infinity, -Infinity] as Range);
    for (let i = 0; i < v.length; i++) { const x = v[i]!; if (x < r[0]) r[0] = x; if (x > r[1]) r[1] = x; }
    ranges.set(name, r);
  };
  const x0 = new Float64Array(noiseDim + condDim);
  const out = new Float64Array(transformerIoSpec(spec).outputDim);
  for (let s = 0; s < samples; s++) {
    inputs.fill(s, x0);
    transformerForwardReference(spec, p, x0, out, observe);
  }
  const sigma = c.noiseSigma ?? 4;
  observe('input', [-sigma, sigma]);
  return { ranges, samples, source: inputs.source };
}

export function exportTransformer(spec: TransformerSpec, params: Float32Array, opts: MlpExportOptions): MlpExport {
  const L = transformerLayout(spec);
  if (params.length !== L.total) throw new ModelError('E_MODEL_SHAPE', `transformer weights: ${params.length} floats, the shape needs ${L.total}`);
  for (let i = 0; i < params.length; i++) if (!Number.isFinite(params[i]!)) throw new ModelError('E_MODEL_SHAPE', `transformer weights: non-finite value at index ${i}`);
  const N = opts.candidates ?? 64;
  if (!Number.isInteger(N) || N < 1) throw new ModelError('E_MODEL_SHAPE', `candidates must be a positive integer, got ${N}`);
  const int8 = opts.quantization === 'int8';
  const cal = int8 ? calibrate(spec, params, opts.calibration ?? {}) : null;
  const margin = opts.calibration?.margin ?? 0.1;
  const qOf = (name: string, relu = false): QParams => {
    const r = cal!.ranges.get(name);
    if (!r) throw new Error(`internal: no calibration range for ${name}`);
    const m = name === 'input' ? 0 : margin * (r[1] - r[0]);
    return chooseActivationQParams(relu ? 0 : r[0] - m, r[1] + m);
  };
  const weightBits = opts.weightBits ?? 8;
  const T = spec.horizon, C = spec.channels, sd = spec.stepDim, io = transformerIoSpec(spec);
  const inDim = spec.noiseDim + spec.condDim;

  const tensors: TensorDef[] = [];
  const ops: OpDef[] = [];
  const add = (t: TensorDef): number => tensors.push(t) - 1;
  const qz = (p: QParams | undefined): Partial<TensorDef> => (p ? { quant: { scale: [p.scale], zeroPoint: [p.zeroPoint] } } : {});
  /** an activation tensor (int8 with `p`, or float32) */
  const act = (name: string, shape: number[], p?: QParams): number => add({ name, shape, type: int8 ? TensorType.INT8 : TensorType.FLOAT32, ...qz(int8 ? p : undefined) });
  const v = int8 ? 2 : 1;
  const fc = (name: string, x: number, xq: QParams | undefined, W: ArrayLike<number>, b: ArrayLike<number>, d: { inDim: number; outDim: number }, rows: number, relu: boolean, outQ?: QParams): number => {
    const y = act(`${name}/out`, [rows, d.outDim], outQ);
    let wt: number, bt: number;
    if (int8) {
      const wq = quantizeWeightsPerTensor(Float32Array.from(W), weightBits);
      const bq = quantizeBias(Float32Array.from(b), xq!.scale, wq.scale);
      wt = add({ name: `${name}/weights`, shape: [d.outDim, d.inDim], type: TensorType.INT8, data: new Uint8Array(wq.q.buffer), quant: { scale: [wq.scale], zeroPoint: [0] } });
      bt = add({ name: `${name}/bias`, shape: [d.outDim], type: TensorType.INT32, data: i32Bytes(bq.q), quant: { scale: [bq.scale], zeroPoint: [0] } });
    } else {
      wt = add({ name: `${name}/weights`, shape: [d.outDim, d.inDim], type: TensorType.FLOAT32, data: f32Bytes(W) });
      bt = add({ name: `${name}/bias`, shape: [d.outDim], type: TensorType.FLOAT32, data: f32Bytes(b) });
    }
    ops.push({ op: BuiltinOperator.FULLY_CONNECTED, version: int8 ? 4 : 1, inputs: [x, wt, bt], outputs: [y], options: { kind: 'fc', fusedActivation: relu ? ActivationFunctionType.RELU : ActivationFunctionType.NONE } });
    return y;
  };
  const dense = (name: string, x: number, xq: QParams | undefined, d: DenseOffsets, rows: number, relu: boolean, outQ?: QParams, scale = 1): number => {
    const W = params.subarray(d.W, d.W + d.inDim * d.outDim), b = params.subarray(d.b, d.b + d.outDim);
    return fc(name, x, xq, scale === 1 ? W : W.map((w) => w * scale), scale === 1 ? b : b.map((w) => w * scale), d, rows, relu, outQ);
  };
  const reshape = (name: string, x: number, shape: number[], p?: QParams): number => {
    const y = act(name, shape, p);
    const s = add({ name: `${name}/shape`, shape: [shape.length], type: TensorType.INT32, data: i32Bytes(shape) });
    ops.push({ op: BuiltinOperator.RESHAPE, version: 1, inputs: [x, s], outputs: [y], options: { kind: 'none' } });
    return y;
  };
  const sum = (name: string, a: number, b: number, p?: QParams): number => {
    const y = act(name, [N * T, C], p);
    ops.push({ op: BuiltinOperator.ADD, version: v, inputs: [a, b], outputs: [y], options: { kind: 'add', fusedActivation: ActivationFunctionType.NONE } });
    return y;
  };
  const Q = (name: string, relu = false): QParams | undefined => (int8 ? qOf(name, relu) : undefined);

  const names = opts.ioNames ?? { inputs: INPUT_NAMES, output: OUTPUT_NAME };
  const noise = add({ name: names.inputs[0], shape: [N, spec.noiseDim], type: TensorType.FLOAT32 });
  const cond = add({ name: names.inputs[1], shape: [N, spec.condDim], type: TensorType.FLOAT32 });
  const inQ = Q('input');
  let a = noise, b = cond;
  if (int8) {
    a = act(`${names.inputs[0]}_q`, [N, spec.noiseDim], inQ); b = act(`${names.inputs[1]}_q`, [N, spec.condDim], inQ);
    ops.push({ op: BuiltinOperator.QUANTIZE, version: 2, inputs: [noise], outputs: [a], options: { kind: 'quantize' } });
    ops.push({ op: BuiltinOperator.QUANTIZE, version: 2, inputs: [cond], outputs: [b], options: { kind: 'quantize' } });
  }
  let x = act('x0', [N, inDim], inQ);
  ops.push({ op: BuiltinOperator.CONCATENATION, version: v, inputs: [a, b], outputs: [x], options: { kind: 'concat', axis: 1, fusedActivation: ActivationFunctionType.NONE } });
  let xq = inQ;
  L.trunk.forEach((d, i) => { const oq = Q(`trunk${i}`, true); x = dense(`trunk${i}`, x, xq, d, N, true, oq); xq = oq; });
  const h0q = Q('h0');
  const e = dense('expand', x, xq, L.embed, N, false, h0q);
  let h = reshape('h0', e, [N * T, C], h0q);
  let hq = h0q;
  const s = 1 / Math.sqrt(C);
  L.blocks.forEach((blk, l) => {
    const p = `b${l}`;
    const [qq, kq, vq] = [Q(`${p}.q`), Q(`${p}.k`), Q(`${p}.v`)];
    const q3 = reshape(`${p}/q3`, dense(`${p}/q`, h, hq, blk.q, N * T, false, qq, s), [N, T, C], qq);
    const k3 = reshape(`${p}/k3`, dense(`${p}/k`, h, hq, blk.k, N * T, false, kq), [N, T, C], kq);
    const v3 = reshape(`${p}/v3`, dense(`${p}/v`, h, hq, blk.v, N * T, false, vq), [N, T, C], vq);
    const sc = act(`${p}/scores`, [N, T, T], Q(`${p}.scores`));
    ops.push({ op: BuiltinOperator.BATCH_MATMUL, version: v, inputs: [q3, k3], outputs: [sc], options: { kind: 'batch_matmul', adjX: false, adjY: true } });
    const att = act(`${p}/attention`, [N, T, T], int8 ? SOFTMAX_OUT : undefined);
    ops.push({ op: BuiltinOperator.SOFTMAX, version: v, inputs: [sc], outputs: [att], options: { kind: 'softmax', beta: 1 } });
    const cq = Q(`${p}.ctx`);
    const ctx3 = act(`${p}/ctx3`, [N, T, C], cq);
    ops.push({ op: BuiltinOperator.BATCH_MATMUL, version: v, inputs: [att, v3], outputs: [ctx3], options: { kind: 'batch_matmul', adjX: false, adjY: false } });
    const ctx = reshape(`${p}/ctx`, ctx3, [N * T, C], cq);
    const h1q = Q(`${p}.h1`);
    const h1 = sum(`${p}/h1`, h, dense(`${p}/o`, ctx, cq, blk.o, N * T, false, Q(`${p}.proj`)), h1q);
    const f1q = Q(`${p}.ff1`, true);
    const f1 = dense(`${p}/ff1`, h1, h1q, blk.f1, N * T, true, f1q);
    const h2q = Q(`${p}.h2`);
    h = sum(`${p}/h2`, h1, dense(`${p}/ff2`, f1, f1q, blk.f2, N * T, false, Q(`${p}.ff2`)), h2q);
    hq = h2q;
  });
  const yq = Q('head');
  const y = reshape('steps', dense('head', h, hq, L.head, N * T, false, yq), [N, T * sd], yq);
  // s₀ dropped by a selection matrix: plan[j] = steps[clampDims + j]
  const sel = new Float32Array(io.outputDim * T * sd);
  for (let j = 0; j < io.outputDim; j++) sel[j * T * sd + spec.clampDims + j] = 1;
  const planQ = int8 ? yq : undefined;
  let plan = fc(int8 ? `${names.output}_q` : names.output, y, yq, sel, new Float32Array(io.outputDim), { inDim: T * sd, outDim: io.outputDim }, N, false, planQ);
  if (int8) {
    const f = add({ name: names.output, shape: [N, io.outputDim], type: TensorType.FLOAT32 });
    ops.push({ op: BuiltinOperator.DEQUANTIZE, version: 2, inputs: [plan], outputs: [f], options: { kind: 'dequantize' } });
    plan = f;
  } else {
    tensors[plan]!.name = names.output;
  }
  const graph: GraphDef = {
    name: opts.name ?? 'kdp_generator',
    description: opts.description ?? `kdp generator transformer T ${T} C ${C} L ${spec.layers} ${opts.quantization}`,
    tensors, ops, inputs: [noise, cond], outputs: [plan],
    signature: { key: SIGNATURE_KEY, inputs: [{ name: names.inputs[0], tensor: noise }, { name: names.inputs[1], tensor: cond }], outputs: [{ name: names.output, tensor: plan }] },
  };
  return {
    bytes: writeTfliteGraph(graph), graph, quantization: opts.quantization, candidates: N, arenaBytes: planGraphArena(graph).arenaBytes,
    ...(int8 ? { boundaryQuantization: { noise: inQ!, condition: inQ!, plan: planQ! }, calibration: { samples: cal!.samples, source: cal!.source } } : {}),
  };
}
