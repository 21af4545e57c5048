/**
 * Prepare phase (TFLite Micro's per-op Prepare): walks the operators once, looks each up in the op
 * resolver and lets its unit (ops/*.ts) check every type, shape and quantization rule, infer shapes
 * for the requested batch, precompute fixed-point multipliers and pack constant weights. It emits
 *   - `regions`: every byte range the arena must hold — persistent blocks (packed weights, biases,
 *     lookup tables, constant operands) and planned blocks (activations, scratch) with lifetimes;
 *   - `nodes`: backend-neutral kernel descriptions referring to regions by id, each with its unit.
 * Nothing here touches the arena; allocate() turns this into offsets and bound kernels.
 */
import { ModelError, ShapeError } from '../../errors.js';
import { builtinResolver, SUPPORTED_OPS } from './ops/builtin-ops.js';
import type { OpResolver } from './ops/op-resolver.js';
import type { NodeBase, Numerics, OpUnit, PrepareContext, QuantParams, Ref } from './ops/op-unit.js';
import { sameShape } from './ops/op-unit.js';
import {
  dtypeBytes, MAX_TENSOR_ELEMENTS, numElements, typeName,
  type DType, type GraphDef, type OpDef, type Quant, type TensorDef,
} from './tflite-model.js';

export { SUPPORTED_OPS };
export type { Numerics, Ref };
export type Node = NodeBase;

export interface Region {
  id: number;
  name: string;
  bytes: number;
  /** persistent block contents (copied into the arena at allocate), or null for planned blocks */
  data: Uint8Array | null;
  firstUse: number;
  lastUse: number;
}

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
  /** the op unit that emitted each node (binds it at allocate) */
  nodeUnits: OpUnit[];
  inputs: BoundaryTensor[];
  outputs: BoundaryTensor[];
  /** batch dimension the model was exported with (dim 0 of input 0) and the one prepared */
  modelBatch: number;
  batch: number;
  /** inferred shape per tensor index (activations only; constants keep their declared shape) */
  shapes: Array<number[] | null>;
  opNames: string[];
}

export interface PrepareOptions {
  numerics?: Numerics;
  /** the op resolver (default: every builtin op, or `ops`) */
  resolver?: OpResolver;
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

export function prepareGraph(g: GraphDef, opts: PrepareOptions = {}): PreparedGraph {
  const resolver = opts.resolver ?? builtinResolver(opts.ops);
  const xnn = opts.numerics === 'xnnpack';
  const regions: Region[] = [];
  const nodes: Node[] = [];
  const nodeUnits: OpUnit[] = [];
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

  const quantOf = (t: number, where: string): QuantParams => {
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

  const ctx: PrepareContext = {
    g, xnn, relaxedI6: opts.relaxedI6 === true, native: opts.native ?? null, batchOverride: override,
    read, write, persistent, shapeOf, quantOf, needInputs, dtypeIn, tensorName,
    scratch: (name, bytes, op) => addRegion(name, bytes, null, op, op),
    emit: (node) => { nodes.push(node); nodeUnits.push(current!); },
    unsupported, shapeErr, schemaErr,
  };
  let current: OpUnit | undefined;
  for (const op of g.ops) {
    const where = `operator ${op.index} (${op.name})`;
    current = resolver.find(op.code);
    if (!current) {
      if (!(SUPPORTED_OPS as readonly string[]).includes(op.name)) unsupported(`unsupported op: ${op.name} (${where})`);
      unsupported(`unsupported op: ${op.name} is not registered in this interpreter's op resolver (${where})`);
    }
    current!.prepare(ctx, op, where);
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
  return { regions, nodes, nodeUnits, inputs, outputs, modelBatch, batch, shapes, opNames: g.ops.map((o) => o.name) };
}

