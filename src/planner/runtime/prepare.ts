/**
 * Prepare phase (TFLite Micro's per-op Prepare): walks the operators once, checks every type, shape
 * and quantization rule, infers shapes for the requested batch, precomputes fixed-point multipliers,
 * packs constant weights, and emits
 *   - `regions`: every byte range the arena must hold — persistent blocks (packed weights, biases,
 *     lookup tables, constant operands) and planned blocks (activations, scratch) with lifetimes;
 *   - `nodes`: backend-neutral kernel descriptions referring to regions by id.
 * Nothing here touches the arena; allocate() turns this into offsets and bound kernels.
 */
import { ModelError, ShapeError } from '../../errors.js';
import { BuiltinOperator } from '../tflite/generated/tflite/builtin-operator.js';
import { foldI6Bias, fitsI6, packI6Weights } from './i6-layout.js';
import { alignUp } from './memory-planner.js';
import { foldNativeBias, nativeInPad, nativeOutPad, packNativeWeights } from './native-layout.js';
import { quantizeMultiplier, quantizedActivationRange, mulByQuantizedMultiplier, roundHalfAway, roundHalfEven } from './quant.js';
import type { AddI8Params, MulI8Params } from './reference-kernels.js';
import {
  dtypeBytes, MAX_TENSOR_ELEMENTS, numElements, typeName,
  type DType, type GraphDef, type OpDef, type Quant, type TensorDef,
} from './tflite-model.js';

/** The ops this runtime implements (the op resolver). */
export const SUPPORTED_OPS = [
  'FULLY_CONNECTED', 'ADD', 'MUL', 'CONCATENATION', 'RESHAPE', 'RELU', 'RELU6', 'RELU_N1_TO_1',
  'TANH', 'LOGISTIC', 'QUANTIZE', 'DEQUANTIZE',
] as const;
export type SupportedOp = (typeof SUPPORTED_OPS)[number];

export interface Region {
  id: number;
  name: string;
  bytes: number;
  /** persistent block contents (copied into the arena at allocate), or null for planned blocks */
  data: Uint8Array | null;
  firstUse: number;
  lastUse: number;
}

export type Ref = number;
type Act = 'none' | 'relu' | 'relu6' | 'relu_n1_to_1';

export type Node =
  | { kind: 'fc_f32'; op: number; x: Ref; xi: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; outDim: number; lo: number; hi: number }
  | { kind: 'fc_i8'; op: number; x: Ref; xs: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; inPad: number; outDim: number;
      inZp: number; mult: number; shift: number; fpScale: number; outZp: number; lo: number; hi: number;
      /** weights packed as int8 (batch < 4) instead of pre-widened i16 */
      w8: boolean }
  /** int8 FC with every weight in [-32, 31], on the relaxed-SIMD kernel (src/wasm/kdp_kernels_relaxed.ts) */
  | { kind: 'fc_i6'; op: number; x: Ref; xp: Ref; corr: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; inPad: number; outDim: number;
      mult: number; shift: number; fpScale: number; outZp: number; lo: number; hi: number }
  /** int8 FC on the native kernels (src/native/, layout in native-layout.ts) */
  | { kind: 'fc_q8n'; op: number; x: Ref; xp: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; inPad: number; outDim: number;
      mult: number; shift: number; fpScale: number; outZp: number; lo: number; hi: number; i6: boolean }
  | { kind: 'clamp_f32'; op: number; x: Ref; y: Ref; count: number; lo: number; hi: number }
  | { kind: 'tanh_f32' | 'logistic_f32'; op: number; x: Ref; y: Ref; count: number }
  | { kind: 'lut_i8'; op: number; x: Ref; y: Ref; count: number; lut: Ref }
  | { kind: 'quantize'; op: number; x: Ref; y: Ref; count: number; scale: number; invScale: number; zp: number }
  | { kind: 'dequantize'; op: number; x: Ref; y: Ref; count: number; scale: number; zp: number }
  | { kind: 'copy'; op: number; x: Ref; y: Ref; bytes: number }
  | { kind: 'add_f32' | 'mul_f32'; op: number; a: Ref; b: Ref; y: Ref; countA: number; countB: number; count: number; lo: number; hi: number }
  | { kind: 'add_i8'; op: number; a: Ref; b: Ref; y: Ref; countA: number; countB: number; count: number; p: AddI8Params }
  | { kind: 'mul_i8'; op: number; a: Ref; b: Ref; y: Ref; countA: number; countB: number; count: number; p: MulI8Params }
  | { kind: 'concat'; op: number; dtype: 'float32' | 'int8'; parts: Ref[]; partCounts: number[]; chunks: number[]; outer: number; y: Ref; count: number;
      scaled: { scales: number[]; zps: number[]; outScale: number; outZp: number } | null };

export interface BoundaryTensor {
  /** signature name when the model has a SignatureDef, else the tensor name */
  name: string;
  tensorName: string;
  tensor: number;
  shape: number[];
  dtype: 'float32';
  region: Ref;
}

export interface PreparedGraph {
  regions: Region[];
  nodes: Node[];
  inputs: BoundaryTensor[];
  outputs: BoundaryTensor[];
  /** batch dimension the model was exported with (dim 0 of input 0) and the one prepared */
  modelBatch: number;
  batch: number;
  /** inferred shape per tensor index (activations only; constants keep their declared shape) */
  shapes: Array<number[] | null>;
  opNames: string[];
}

/**
 * Integer numerics. 'tflite' (default): TFLite reference kernels — fixed-point multiplier + shift
 * (MultiplyByQuantizedMultiplier), round half away from zero. 'xnnpack': what TFLite's XNNPACK
 * delegate (and so tfjs-tflite) computes — fp32 requantization scale, round half to even — for
 * FULLY_CONNECTED, MUL, QUANTIZE and the TANH/LOGISTIC tables. The two differ by at most 1 LSB
 * per op on ties.
 */
export type Numerics = 'tflite' | 'xnnpack';

export interface PrepareOptions {
  numerics?: Numerics;
  /** restrict the resolver to these ops (TFLite Micro MicroMutableOpResolver style) */
  ops?: readonly string[];
  /** run the graph with this dim-0 size instead of the exported one */
  batch?: number;
  /** emit fc_i6 nodes (relaxed-SIMD kernel layout) for int8 FCs whose weights all lie in [-32, 31] */
  relaxedI6?: boolean;
  /**
   * emit fc_q8n nodes for the native kernels: the offset they add to the activations (128 on x86, 0 on
   * arm64) is folded into the bias; fp32 FCs keep their layout but need no interleave scratch
   */
  native?: { xOffset: number };
}

export const MAX_BATCH = 65536;

const unsupported = (msg: string, hint?: string): never => {
  throw new ModelError('E_MODEL_UNSUPPORTED_OP', msg, { hint: hint ?? `this runtime supports ${SUPPORTED_OPS.join(', ')} on float32 and int8 (per-tensor)` });
};
const shapeErr = (msg: string): never => {
  throw new ModelError('E_MODEL_SHAPE', msg, { hint: 're-export the model; its tensor shapes do not agree' });
};
const schemaErr = (msg: string): never => {
  throw new ModelError('E_MODEL_SCHEMA', msg, { hint: 're-export the model with `kdp export`' });
};

function actOf(code: number, where: string): Act {
  switch (code) {
    case 0: return 'none';
    case 1: return 'relu';
    case 2: return 'relu_n1_to_1';
    case 3: return 'relu6';
    default: return unsupported(`${where}: fused activation ${code === 4 ? 'TANH' : code === 5 ? 'SIGN_BIT' : code} is not supported`);
  }
}

function floatRange(a: Act): [number, number] {
  switch (a) {
    case 'none': return [-Infinity, Infinity];
    case 'relu': return [0, Infinity];
    case 'relu6': return [0, 6];
    case 'relu_n1_to_1': return [-1, 1];
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function prepareGraph(g: GraphDef, opts: PrepareOptions = {}): PreparedGraph {
  const allowed = new Set<string>(opts.ops ?? SUPPORTED_OPS);
  const xnn = opts.numerics === 'xnnpack';
  for (const name of allowed) {
    if (!(SUPPORTED_OPS as readonly string[]).includes(name)) unsupported(`op resolver: ${name} is not implemented by this runtime`);
  }
  const regions: Region[] = [];
  const nodes: Node[] = [];
  const nOps = g.ops.length;

  const firstInput = g.tensors[g.inputs[0]!]!;
  const modelBatch = firstInput.shape.length > 0 ? firstInput.shape[0]! : 1;
  const batch = opts.batch ?? modelBatch;
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) {
    throw new ShapeError('batch', `an integer in [1, ${MAX_BATCH}]`, String(batch));
  }
  const override = batch !== modelBatch;

  const shapes: Array<number[] | null> = g.tensors.map(() => null);
  const tensorRegion = new Map<number, Ref>();
  const constRegion = new Map<number, Ref>();
  const produced = new Set<number>();

  const addRegion = (name: string, bytes: number, data: Uint8Array | null, firstUse: number, lastUse: number): Ref => {
    regions.push({ id: regions.length, name, bytes, data, firstUse, lastUse });
    return regions.length - 1;
  };
  const persistent = (name: string, data: Uint8Array): Ref => addRegion(name, data.length, data, -1, nOps);

  const tensorName = (t: number): string => `tensor ${t} "${g.tensors[t]?.name ?? '?'}"`;
  const checkElements = (n: number, what: string): void => {
    if (!Number.isFinite(n) || n > MAX_TENSOR_ELEMENTS) shapeErr(`${what} would have ${n} elements (cap ${MAX_TENSOR_ELEMENTS})`);
  };

  // graph inputs
  for (const t of g.inputs) {
    const td = g.tensors[t]!;
    if (td.data) schemaErr(`graph input ${tensorName(t)} is a constant`);
    if (td.dtype !== 'float32') {
      unsupported(`graph input ${tensorName(t)} has type ${typeName(td.typeCode)}; this runtime needs float32 at the model boundary`,
        'export with QUANTIZE/DEQUANTIZE at the ends (float32 inputs and outputs)');
    }
    if (shapes[t]) continue;
    const s = td.shape.slice();
    if (s.length === 0) s.push(1);
    if (override) s[0] = batch;
    checkElements(numElements(s), tensorName(t));
    shapes[t] = s;
    // inputs stay valid for the whole invoke (the caller may invoke again without rewriting them)
    tensorRegion.set(t, addRegion(td.name, numElements(s) * 4, null, -1, nOps));
    produced.add(t);
  }

  /** Region of a tensor an op reads; constants become persistent blocks. Extends the lifetime. */
  const read = (t: number, op: number): Ref => {
    const td = g.tensors[t]!;
    if (td.data) {
      let r = constRegion.get(t);
      if (r === undefined) {
        if (!shapes[t]) shapes[t] = td.shape.slice();
        r = persistent(`const:${td.name}`, td.data);
        constRegion.set(t, r);
      }
      return r;
    }
    const r = tensorRegion.get(t);
    if (r === undefined || !produced.has(t)) return schemaErr(`operator ${op} reads ${tensorName(t)} before any operator writes it (operators must be in execution order)`);
    const reg = regions[r]!;
    reg.lastUse = Math.max(reg.lastUse, op);
    return r;
  };
  /** Declare the output tensor of an op with its inferred shape and dtype. */
  const write = (t: number, op: number, inferred: number[], dtype: DType): Ref => {
    const td = g.tensors[t]!;
    const where = `operator ${op} (${g.ops[op]!.name}) output ${tensorName(t)}`;
    if (td.data) schemaErr(`${where} is a constant`);
    if (produced.has(t)) schemaErr(`${where} is written twice`);
    if (td.dtype !== dtype) unsupported(`${where} has type ${typeName(td.typeCode)}, expected ${dtype === 'other' ? '?' : dtype.toUpperCase()}`);
    const declared = td.shape;
    const ok = override
      ? declared.length === inferred.length && declared.every((d, i) => i === 0 || d === inferred[i])
      : sameShape(declared, inferred) || (declared.length === 0 && numElements(inferred) === 1);
    if (!ok) shapeErr(`${where}: declared shape [${declared.join(',')}], inferred [${inferred.join(',')}]`);
    checkElements(numElements(inferred), where);
    shapes[t] = inferred;
    const r = addRegion(td.name, numElements(inferred) * dtypeBytes(dtype), null, op, op);
    tensorRegion.set(t, r);
    produced.add(t);
    return r;
  };
  const shapeOf = (t: number): number[] => shapes[t] ?? g.tensors[t]!.shape;

  const quantOf = (t: number, where: string): { scale: number; zp: number } => {
    const q: Quant | null = g.tensors[t]!.quant;
    if (!q || q.scale.length === 0) return unsupported(`${where}: int8 ${tensorName(t)} has no quantization parameters`);
    if (q.scale.length !== 1 || q.zeroPoint.length > 1) return unsupported(`${where}: ${tensorName(t)} is quantized per-channel (${q.scale.length} scales); only per-tensor int8 is supported`);
    const scale = q.scale[0]!;
    const zp = q.zeroPoint[0] ?? 0;
    if (!(scale > 0) || !Number.isFinite(scale)) schemaErr(`${where}: ${tensorName(t)} has quantization scale ${scale}`);
    if (!Number.isInteger(zp) || zp < -128 || zp > 127) schemaErr(`${where}: ${tensorName(t)} has int8 zero point ${zp}`);
    return { scale, zp };
  };

  const needInputs = (op: OpDef, min: number, max: number): void => {
    const real = op.inputs.filter((x) => x >= 0).length;
    if (op.inputs.length < min || op.inputs.length > max || op.inputs.slice(0, min).some((x) => x < 0)) {
      schemaErr(`operator ${op.index} (${op.name}) has ${real} inputs, expected ${min === max ? min : `${min}-${max}`}`);
    }
    if (op.outputs.length !== 1) schemaErr(`operator ${op.index} (${op.name}) has ${op.outputs.length} outputs, expected 1`);
  };
  const dtypeIn = (t: number, where: string, allowed: readonly DType[]): DType => {
    const d = g.tensors[t]!.dtype;
    if (!allowed.includes(d)) unsupported(`${where}: input ${tensorName(t)} has type ${typeName(g.tensors[t]!.typeCode)} (supported: ${allowed.map((a) => a.toUpperCase()).join(', ')})`);
    return d;
  };

  for (const op of g.ops) {
    const i = op.index;
    const where = `operator ${i} (${op.name})`;
    if (!(SUPPORTED_OPS as readonly string[]).includes(op.name)) unsupported(`unsupported op: ${op.name} (${where})`);
    if (!allowed.has(op.name)) unsupported(`unsupported op: ${op.name} is not registered in this interpreter's op resolver (${where})`);
    switch (op.code) {
      case BuiltinOperator.FULLY_CONNECTED: {
        needInputs(op, 2, 3);
        const [xt, wt] = [op.inputs[0]!, op.inputs[1]!];
        const bt = op.inputs[2] ?? -1;
        const o = op.options;
        if (o.weightsFormat !== 0) unsupported(`${where}: weights format ${o.weightsFormat} (shuffled) is not supported`);
        const act = actOf(o.fusedActivation, where);
        const wd = g.tensors[wt]!;
        if (!wd.data) unsupported(`${where}: weights ${tensorName(wt)} are not constant`);
        if (wd.shape.length !== 2) shapeErr(`${where}: weights ${tensorName(wt)} have shape [${wd.shape.join(',')}], expected [units, inputs]`);
        const [outDim, inDim] = [wd.shape[0]!, wd.shape[1]!];
        if (inDim === 0 || outDim === 0) shapeErr(`${where}: weights have an empty dimension`);
        const xs = shapeOf(xt);
        const xDtype = dtypeIn(xt, where, ['float32', 'int8']);
        const xn = numElements(xs);
        if (xn % inDim !== 0) shapeErr(`${where}: input ${tensorName(xt)} [${xs.join(',')}] is not a multiple of the weights' input size ${inDim}`);
        const rows = xn / inDim;
        const outShape = o.keepNumDims ? [...xs.slice(0, -1), outDim] : [rows, outDim];
        if (bt >= 0) {
          const bd = g.tensors[bt]!;
          if (!bd.data) unsupported(`${where}: bias ${tensorName(bt)} is not constant`);
          if (numElements(bd.shape) !== outDim) shapeErr(`${where}: bias ${tensorName(bt)} has ${numElements(bd.shape)} elements, expected ${outDim}`);
        }
        const x = read(xt, i);
        if (xDtype === 'float32') {
          if (wd.dtype !== 'float32') unsupported(`${where}: hybrid FULLY_CONNECTED (float32 input, ${typeName(wd.typeCode)} weights) is not supported`);
          if (bt >= 0 && g.tensors[bt]!.dtype !== 'float32') unsupported(`${where}: float32 FULLY_CONNECTED with ${typeName(g.tensors[bt]!.typeCode)} bias`);
          const outPad = alignUp(outDim, 8);
          const w = persistent(`fc${i}:W(packed ${outPad}x${inDim} f32)`, packF32Weights(wd.data!, outDim, inDim));
          let b: Ref = -1;
          if (bt >= 0) {
            const padded = new Uint8Array(outPad * 4);
            padded.set(g.tensors[bt]!.data!);
            b = persistent(`fc${i}:b`, padded);
          }
          const xi = addRegion(`fc${i}:scratch`, opts.native ? 0 : (rows - (rows % 4)) * inDim * 4, null, i, i);
          const y = write(op.outputs[0]!, i, outShape, 'float32');
          const [lo, hi] = floatRange(act);
          nodes.push({ kind: 'fc_f32', op: i, x, xi, w, b, y, rows, inDim, outDim, lo, hi });
        } else {
          if (wd.dtype !== 'int8') unsupported(`${where}: int8 FULLY_CONNECTED with ${typeName(wd.typeCode)} weights`);
          if (bt >= 0 && g.tensors[bt]!.dtype !== 'int32') unsupported(`${where}: int8 FULLY_CONNECTED needs an INT32 bias, got ${typeName(g.tensors[bt]!.typeCode)}`);
          const qi = quantOf(xt, where);
          const qw = quantOf(wt, where);
          if (qw.zp !== 0) unsupported(`${where}: weights zero point ${qw.zp} (TFLite int8 weights are symmetric, zero point 0)`);
          const qo = quantOf(op.outputs[0]!, where);
          const inPad = alignUp(inDim, 8);
          const outPad = alignUp(outDim, 8);
          const [mult, shift] = quantizeMultiplier((qi.scale * qw.scale) / qo.scale);
          const fpScale = xnn ? Math.fround(Math.fround(qi.scale * qw.scale) / qo.scale) : 0;
          const [lo, hi] = quantizedActivationRange(act, qo.scale, qo.zp);
          if (opts.native) {
            const bias = bt >= 0 ? new Int32Array(Uint8Array.from(g.tensors[bt]!.data!).buffer, 0, outDim) : null;
            const nIn = nativeInPad(inDim);
            const w = persistent(`fc${i}:W(packed ${nativeOutPad(outDim)}x${nIn} i8, native)`, packNativeWeights(wd.data!, outDim, inDim));
            const b = persistent(`fc${i}:bias(folded)`, foldNativeBias(wd.data!, bias, outDim, inDim, qi.zp, opts.native.xOffset));
            const xp = addRegion(`fc${i}:scratch`, rows * nIn, null, i, i);
            const y = write(op.outputs[0]!, i, outShape, 'int8');
            nodes.push({ kind: 'fc_q8n', op: i, x, xp, w, b, y, rows, inDim, inPad: nIn, outDim, mult, shift, fpScale, outZp: qo.zp, lo, hi, i6: fitsI6(wd.data!) });
            break;
          }
          if (opts.relaxedI6 && fitsI6(wd.data!)) {
            // copy before viewing as int32: the tensor data may be an unaligned view into the file (a Buffer)
            const bias = bt >= 0 ? new Int32Array(Uint8Array.from(g.tensors[bt]!.data!).buffer, 0, outDim) : null;
            const w = persistent(`fc${i}:W(packed ${outPad}x${inPad} u6)`, packI6Weights(wd.data!, outDim, inDim));
            const b = persistent(`fc${i}:bias(folded)`, foldI6Bias(wd.data!, bias, outDim, inDim, qi.zp));
            const xp = addRegion(`fc${i}:scratch`, rows * inPad, null, i, i);
            const corr = addRegion(`fc${i}:rowsums`, rows * 4, null, i, i);
            const y = write(op.outputs[0]!, i, outShape, 'int8');
            nodes.push({ kind: 'fc_i6', op: i, x, xp, corr, w, b, y, rows, inDim, inPad, outDim, mult, shift, fpScale, outZp: qo.zp, lo, hi });
            break;
          }
          // below 4 candidates the kernel only runs its 1-candidate path, which is bound by the bytes it
          // streams: keep int8 there; from 4 up, pre-widened i16 weights make the blocked path faster
          const w8 = rows < 4;
          const w = persistent(`fc${i}:W(packed ${outPad}x${inPad} ${w8 ? 'i8' : 'i16'})`, packInt8Weights(wd.data!, outDim, inDim, w8));
          let b: Ref = -1;
          if (bt >= 0) {
            const padded = new Uint8Array(outPad * 4);
            padded.set(g.tensors[bt]!.data!);
            b = persistent(`fc${i}:bias`, padded);
          }
          const xsRef = addRegion(`fc${i}:scratch`, rows * inPad * 2, null, i, i);
          const y = write(op.outputs[0]!, i, outShape, 'int8');
          nodes.push({ kind: 'fc_i8', op: i, x, xs: xsRef, w, b, y, rows, inDim, inPad, outDim, inZp: qi.zp, mult, shift, fpScale, outZp: qo.zp, lo, hi, w8 });
        }
        break;
      }
      case BuiltinOperator.ADD:
      case BuiltinOperator.MUL: {
        needInputs(op, 2, 2);
        const [at, bt] = [op.inputs[0]!, op.inputs[1]!];
        const act = actOf(op.options.fusedActivation, where);
        const da = dtypeIn(at, where, ['float32', 'int8']);
        const db = dtypeIn(bt, where, ['float32', 'int8']);
        if (da !== db) unsupported(`${where}: mixed input types ${da} and ${db}`);
        const sa = shapeOf(at);
        const sb = shapeOf(bt);
        const outShape = broadcastShape(sa, sb, where);
        const count = numElements(outShape);
        const a = read(at, i);
        const b = read(bt, i);
        const countA = numElements(sa);
        const countB = numElements(sb);
        if (da === 'float32') {
          const y = write(op.outputs[0]!, i, outShape, 'float32');
          const [lo, hi] = floatRange(act);
          nodes.push({ kind: op.code === BuiltinOperator.ADD ? 'add_f32' : 'mul_f32', op: i, a, b, y, countA, countB, count, lo, hi });
        } else {
          const qa = quantOf(at, where);
          const qb = quantOf(bt, where);
          const qo = quantOf(op.outputs[0]!, where);
          const y = write(op.outputs[0]!, i, outShape, 'int8');
          const [lo, hi] = quantizedActivationRange(act, qo.scale, qo.zp);
          if (op.code === BuiltinOperator.ADD) {
            const leftShift = 20;
            const twiceMax = 2 * Math.max(qa.scale, qb.scale);
            const [aMult, aShift] = quantizeMultiplier(qa.scale / twiceMax);
            const [bMult, bShift] = quantizeMultiplier(qb.scale / twiceMax);
            const [outMult, outShift] = quantizeMultiplier(twiceMax / ((1 << leftShift) * qo.scale));
            nodes.push({ kind: 'add_i8', op: i, a, b, y, countA, countB, count,
              p: { aZp: qa.zp, bZp: qb.zp, outZp: qo.zp, leftShift, aMult, aShift, bMult, bShift, outMult, outShift, lo, hi } });
          } else {
            const [mult, shift] = quantizeMultiplier((qa.scale * qb.scale) / qo.scale);
            const fpScale = xnn ? Math.fround(Math.fround(qa.scale * qb.scale) / qo.scale) : 0;
            nodes.push({ kind: 'mul_i8', op: i, a, b, y, countA, countB, count, p: { aZp: qa.zp, bZp: qb.zp, outZp: qo.zp, mult, shift, fpScale, lo, hi } });
          }
        }
        break;
      }
      case BuiltinOperator.CONCATENATION: {
        if (op.inputs.length < 1 || op.inputs.some((x) => x < 0) || op.outputs.length !== 1) schemaErr(`${where} needs ≥ 1 inputs and 1 output`);
        if (op.options.fusedActivation !== 0) unsupported(`${where}: fused activation on CONCATENATION is not supported`);
        const first = op.inputs[0]!;
        const dtype = dtypeIn(first, where, ['float32', 'int8']) as 'float32' | 'int8';
        const s0 = shapeOf(first);
        const rank = s0.length;
        let axis = op.options.axis;
        if (axis < 0) axis += rank;
        if (rank === 0 || axis < 0 || axis >= rank) shapeErr(`${where}: axis ${op.options.axis} is out of range for rank ${rank}`);
        const outShape = s0.slice();
        outShape[axis] = 0;
        for (const t of op.inputs) {
          if (dtypeIn(t, where, [dtype]) !== dtype) unsupported(`${where}: mixed input types`);
          const s = shapeOf(t);
          if (s.length !== rank || s.some((d, k) => k !== axis && d !== s0[k])) shapeErr(`${where}: input ${tensorName(t)} [${s.join(',')}] does not match [${s0.join(',')}] outside axis ${axis}`);
          outShape[axis] = outShape[axis]! + s[axis]!;
        }
        const outer = numElements(s0.slice(0, axis));
        const inner = numElements(s0.slice(axis + 1));
        const parts = op.inputs.map((t) => read(t, i));
        const partCounts = op.inputs.map((t) => numElements(shapeOf(t)));
        const chunks = op.inputs.map((t) => shapeOf(t)[axis]! * inner);
        let scaled: { scales: number[]; zps: number[]; outScale: number; outZp: number } | null = null;
        if (dtype === 'int8') {
          const qo = quantOf(op.outputs[0]!, where);
          const qs = op.inputs.map((t) => quantOf(t, where));
          if (qs.some((q) => q.scale !== qo.scale || q.zp !== qo.zp)) {
            scaled = { scales: qs.map((q) => q.scale), zps: qs.map((q) => q.zp), outScale: qo.scale, outZp: qo.zp };
          }
        }
        const y = write(op.outputs[0]!, i, outShape, dtype);
        nodes.push({ kind: 'concat', op: i, dtype, parts, partCounts, chunks, outer, y, count: numElements(outShape), scaled });
        break;
      }
      case BuiltinOperator.RESHAPE: {
        needInputs(op, 1, 2);
        const xt = op.inputs[0]!;
        const dtype = dtypeIn(xt, where, ['float32', 'int8']);
        const inShape = shapeOf(xt);
        const inN = numElements(inShape);
        const ot = op.outputs[0]!;
        let declared = g.tensors[ot]!.shape.slice();
        if (declared.length === 0 && op.options.newShape) declared = op.options.newShape.slice();
        const neg = declared.indexOf(-1);
        if (neg >= 0) {
          const rest = numElements(declared.filter((_, k) => k !== neg));
          if (rest <= 0 || inN % rest !== 0) shapeErr(`${where}: cannot reshape [${inShape.join(',')}] to [${declared.join(',')}]`);
          declared[neg] = inN / rest;
        }
        let outShape = declared;
        if (numElements(declared) !== inN) {
          const rest = numElements(declared.slice(1));
          if (!override || declared.length === 0 || rest <= 0 || inN % rest !== 0) shapeErr(`${where}: cannot reshape [${inShape.join(',')}] (${inN} elements) to [${declared.join(',')}]`);
          outShape = [inN / rest, ...declared.slice(1)];
        }
        if (dtype === 'int8') {
          const qi = quantOf(xt, where);
          const qo = quantOf(ot, where);
          if (qi.scale !== qo.scale || qi.zp !== qo.zp) unsupported(`${where}: int8 RESHAPE that changes quantization parameters`);
        }
        const x = read(xt, i);
        const y = write(ot, i, outShape, dtype);
        nodes.push({ kind: 'copy', op: i, x, y, bytes: inN * dtypeBytes(dtype) });
        break;
      }
      case BuiltinOperator.RELU:
      case BuiltinOperator.RELU6:
      case BuiltinOperator.RELU_N1_TO_1:
      case BuiltinOperator.TANH:
      case BuiltinOperator.LOGISTIC: {
        needInputs(op, 1, 1);
        const xt = op.inputs[0]!;
        const dtype = dtypeIn(xt, where, ['float32', 'int8']);
        const s = shapeOf(xt);
        const count = numElements(s);
        const x = read(xt, i);
        const ot = op.outputs[0]!;
        if (dtype === 'float32') {
          const y = write(ot, i, s.slice(), 'float32');
          if (op.code === BuiltinOperator.TANH) nodes.push({ kind: 'tanh_f32', op: i, x, y, count });
          else if (op.code === BuiltinOperator.LOGISTIC) nodes.push({ kind: 'logistic_f32', op: i, x, y, count });
          else {
            const [lo, hi] = floatRange(op.code === BuiltinOperator.RELU ? 'relu' : op.code === BuiltinOperator.RELU6 ? 'relu6' : 'relu_n1_to_1');
            nodes.push({ kind: 'clamp_f32', op: i, x, y, count, lo, hi });
          }
        } else {
          const qi = quantOf(xt, where);
          const qo = quantOf(ot, where);
          let lut: Int8Array;
          if (op.code === BuiltinOperator.TANH) lut = floatLut(qi, qo, Math.tanh, xnn);
          else if (op.code === BuiltinOperator.LOGISTIC) lut = floatLut(qi, qo, (v) => 1 / (1 + Math.exp(-v)), xnn);
          else lut = reluLut(qi, qo, op.code === BuiltinOperator.RELU ? 'relu' : op.code === BuiltinOperator.RELU6 ? 'relu6' : 'relu_n1_to_1');
          const lr = persistent(`op${i}:lut`, new Uint8Array(lut.buffer));
          const y = write(ot, i, s.slice(), 'int8');
          nodes.push({ kind: 'lut_i8', op: i, x, y, count, lut: lr });
        }
        break;
      }
      case BuiltinOperator.QUANTIZE: {
        needInputs(op, 1, 1);
        const xt = op.inputs[0]!;
        const ot = op.outputs[0]!;
        const dtype = dtypeIn(xt, where, ['float32', 'int8']);
        if (g.tensors[ot]!.dtype !== 'int8') unsupported(`${where}: QUANTIZE to ${typeName(g.tensors[ot]!.typeCode)} (only int8 is supported)`);
        const s = shapeOf(xt);
        const count = numElements(s);
        const qo = quantOf(ot, where);
        const x = read(xt, i);
        if (dtype === 'float32') {
          const y = write(ot, i, s.slice(), 'int8');
          nodes.push({ kind: 'quantize', op: i, x, y, count, scale: qo.scale, invScale: xnn ? Math.fround(1 / qo.scale) : 0, zp: qo.zp });
        } else {
          const qi = quantOf(xt, where);
          const [mult, shift] = quantizeMultiplier(qi.scale / qo.scale);
          const lut = new Int8Array(256);
          for (let v = -128; v <= 127; v++) {
            const r = mulByQuantizedMultiplier(v - qi.zp, mult, shift) + qo.zp;
            lut[v + 128] = r < -128 ? -128 : r > 127 ? 127 : r;
          }
          const lr = persistent(`op${i}:lut`, new Uint8Array(lut.buffer));
          const y = write(ot, i, s.slice(), 'int8');
          nodes.push({ kind: 'lut_i8', op: i, x, y, count, lut: lr });
        }
        break;
      }
      case BuiltinOperator.DEQUANTIZE: {
        needInputs(op, 1, 1);
        const xt = op.inputs[0]!;
        dtypeIn(xt, where, ['int8']);
        const s = shapeOf(xt);
        const qi = quantOf(xt, where);
        const x = read(xt, i);
        const y = write(op.outputs[0]!, i, s.slice(), 'float32');
        nodes.push({ kind: 'dequantize', op: i, x, y, count: numElements(s), scale: qi.scale, zp: qi.zp });
        break;
      }
      default:
        unsupported(`unsupported op: ${op.name} (${where})`);
    }
  }

  // graph outputs live to the end
  const boundary = (list: number[], sigList: Array<{ name: string; tensor: number }> | undefined, kind: 'input' | 'output'): BoundaryTensor[] =>
    list.map((t, k) => {
      const td: TensorDef = g.tensors[t]!;
      const r = tensorRegion.get(t);
      if (r === undefined || !produced.has(t)) return schemaErr(`graph ${kind} ${k} (${tensorName(t)}) is never written by any operator`);
      if (td.dtype !== 'float32') {
        return unsupported(`graph ${kind} ${tensorName(t)} has type ${typeName(td.typeCode)}; this runtime needs float32 at the model boundary`,
          'export with QUANTIZE/DEQUANTIZE at the ends (float32 inputs and outputs)');
      }
      if (kind === 'output') regions[r]!.lastUse = nOps;
      const sig = sigList?.find((m) => m.tensor === t);
      return { name: sig?.name ?? td.name, tensorName: td.name, tensor: t, shape: shapes[t]!, dtype: 'float32', region: r };
    });
  const inputs = boundary(g.inputs, g.signature?.inputs, 'input');
  const outputs = boundary(g.outputs, g.signature?.outputs, 'output');
  return { regions, nodes, inputs, outputs, modelBatch, batch, shapes, opNames: g.ops.map((o) => o.name) };
}

/** Output shape of a suffix broadcast (the only broadcast the kernels implement: an operand repeats). */
function broadcastShape(a: readonly number[], b: readonly number[], where: string): number[] {
  const [big, small] = numElements(a) >= numElements(b) ? [a, b] : [b, a];
  if (sameShape(a, b)) return a.slice();
  const ns = numElements(small);
  if (ns === 1 && small.every((d) => d === 1)) return big.slice();
  // strip leading 1s of the small operand; it must equal the trailing dims of the big one
  let k = 0;
  while (k < small.length - 1 && small[k] === 1) k++;
  const core = small.slice(k);
  const tail = big.slice(big.length - core.length);
  if (core.length <= big.length && sameShape(core, tail) && small.length <= big.length) return big.slice();
  return unsupported(`${where}: broadcast of [${a.join(',')}] with [${b.join(',')}] is not supported (only equal shapes, scalars and trailing-dimension broadcast)`);
}

/** Copy constant bytes into a fresh, 16-byte-aligned buffer (model data can sit at any offset). */
function alignedCopy(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  out.set(src);
  return out;
}

/** TFLite PopulateLookupTable: quantize(f(dequantize(q))) in float32, round half away from zero. */
function floatLut(qi: { scale: number; zp: number }, qo: { scale: number; zp: number }, f: (v: number) => number, halfEven: boolean): Int8Array {
  const lut = new Int8Array(256);
  const inv = Math.fround(1 / qo.scale);
  for (let v = -128; v <= 127; v++) {
    const deq = Math.fround(qi.scale * (v - qi.zp));
    const tr = Math.fround(f(deq));
    const q = (halfEven ? roundHalfEven(Math.fround(tr * inv)) : roundHalfAway(Math.fround(tr * inv))) + qo.zp;
    lut[v + 128] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
  return lut;
}

/** TFLite int8 RELU/RELU6/RELU_N1_TO_1: rescale by in/out scale, then clamp to the activation range. */
function reluLut(qi: { scale: number; zp: number }, qo: { scale: number; zp: number }, act: Act): Int8Array {
  const [mult, shift] = quantizeMultiplier(qi.scale / qo.scale);
  const [lo, hi] = quantizedActivationRange(act, qo.scale, qo.zp);
  const lut = new Int8Array(256);
  for (let v = -128; v <= 127; v++) {
    const r = qo.zp + mulByQuantizedMultiplier(v - qi.zp, mult, shift);
    lut[v + 128] = r < lo ? lo : r > hi ? hi : r;
  }
  return lut;
}

/**
 * int8 FC weights [outDim, inDim] → the kernel layout: widened to i16, [outPad/8][inPad/2][8 outputs]
 * [2 inputs] (zero-padded; outPad = outDim rounded up to 8); one 32-byte step holds one input pair of
 * 8 consecutive outputs. Element (o, i) lands at index packedIndex(o, i, inPad). `asInt8` keeps the
 * same order with int8 elements (the kernel widens on load).
 */
export function packInt8Weights(src: Uint8Array, outDim: number, inDim: number, asInt8 = false): Uint8Array {
  const inPad = alignUp(inDim, 8);
  const outPad = alignUp(outDim, 8);
  const out = asInt8 ? new Int8Array(outPad * inPad) : new Int16Array(outPad * inPad);
  const s8 = new Int8Array(src.buffer, src.byteOffset, src.byteLength);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) out[packedIndex(o, i, inPad)] = s8[o * inDim + i]!;
  }
  return new Uint8Array(out.buffer);
}

export function packedIndex(o: number, i: number, inPad: number): number {
  return (o >> 3) * inPad * 8 + (i >> 1) * 16 + (o & 7) * 2 + (i & 1);
}

/** f32 FC weights [outDim, inDim] → [outPad/8][inDim][8] (zero-padded outputs): element (o, i) at (o>>3)·inDim·8 + i·8 + (o&7). */
export function packF32Weights(src: Uint8Array, outDim: number, inDim: number): Uint8Array {
  const outPad = alignUp(outDim, 8);
  const out = new Float32Array(outPad * inDim);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) out[(o >> 3) * inDim * 8 + i * 8 + (o & 7)] = dv.getFloat32((o * inDim + i) * 4, true);
  }
  return new Uint8Array(out.buffer);
}
