/**
 * A small, generic TFLite flatbuffer writer: `GraphDef` (tensors, operators, one subgraph, one
 * SignatureDef) → `.tflite` bytes, using the flatc-generated builders in ../tflite/generated.
 *
 * Structure it always emits (each item was verified against TFLite 2.2, tfjs-tflite, LiteRT.js and
 * ArmNN — see specs/tflite-runtime.md §2):
 *   - file identifier "TFL3", Model.version = 3;
 *   - operator_codes: one per distinct (op, version), with BOTH deprecated_builtin_code
 *     (= min(code, 127)) and builtin_code set;
 *   - buffers[0] = empty sentinel; every constant tensor gets its own buffer ≥ 1; activations and
 *     I/O use buffer 0 (field omitted); constant data vectors aligned to 16 bytes;
 *   - a SignatureDef (default key 'serving_default') over subgraph 0.
 */
import * as flatbuffers from 'flatbuffers';
import { ModelError } from '../../errors.js';
import { BuiltinOperator } from '../tflite/generated/tflite/builtin-operator.js';
import { BuiltinOptions } from '../tflite/generated/tflite/builtin-options.js';
import { ActivationFunctionType } from '../tflite/generated/tflite/activation-function-type.js';
import { TensorType } from '../tflite/generated/tflite/tensor-type.js';
import { Model } from '../tflite/generated/tflite/model.js';
import { OperatorCode } from '../tflite/generated/tflite/operator-code.js';
import { Operator } from '../tflite/generated/tflite/operator.js';
import { SubGraph } from '../tflite/generated/tflite/sub-graph.js';
import { Tensor } from '../tflite/generated/tflite/tensor.js';
import { Buffer as TflBuffer } from '../tflite/generated/tflite/buffer.js';
import { QuantizationParameters } from '../tflite/generated/tflite/quantization-parameters.js';
import { FullyConnectedOptions } from '../tflite/generated/tflite/fully-connected-options.js';
import { ConcatenationOptions } from '../tflite/generated/tflite/concatenation-options.js';
import { MulOptions } from '../tflite/generated/tflite/mul-options.js';
import { AddOptions } from '../tflite/generated/tflite/add-options.js';
import { QuantizeOptions } from '../tflite/generated/tflite/quantize-options.js';
import { DequantizeOptions } from '../tflite/generated/tflite/dequantize-options.js';
import { BatchMatMulOptions } from '../tflite/generated/tflite/batch-mat-mul-options.js';
import { SoftmaxOptions } from '../tflite/generated/tflite/softmax-options.js';
import { ReshapeOptions } from '../tflite/generated/tflite/reshape-options.js';
import { SignatureDef } from '../tflite/generated/tflite/signature-def.js';
import { TensorMap } from '../tflite/generated/tflite/tensor-map.js';

export { BuiltinOperator, ActivationFunctionType, TensorType };

export interface QuantParams {
  /** per-tensor: one entry */
  scale: number[];
  zeroPoint: number[];
  quantizedDimension?: number;
  min?: number[];
  max?: number[];
}

export interface TensorDef {
  name: string;
  shape: number[];
  type: TensorType;
  /** constant data, little-endian, row-major; absent for activations and I/O */
  data?: Uint8Array;
  quant?: QuantParams;
}

export type OpOptions =
  | { kind: 'fc'; fusedActivation: ActivationFunctionType }
  | { kind: 'concat'; axis: number; fusedActivation: ActivationFunctionType }
  | { kind: 'mul'; fusedActivation: ActivationFunctionType }
  | { kind: 'add'; fusedActivation: ActivationFunctionType }
  | { kind: 'quantize' }
  | { kind: 'dequantize' }
  /** adj_x / adj_y transpose the last two dims of the left / right operand */
  | { kind: 'batch_matmul'; adjX: boolean; adjY: boolean }
  | { kind: 'softmax'; beta: number }
  | { kind: 'reshape'; newShape: number[] }
  | { kind: 'none' };

export interface OpDef {
  op: BuiltinOperator;
  version: number;
  inputs: number[];
  outputs: number[];
  options: OpOptions;
}

export interface GraphDef {
  name: string;
  description: string;
  tensors: TensorDef[];
  inputs: number[];
  outputs: number[];
  ops: OpDef[];
  signature: { key: string; inputs: Array<{ name: string; tensor: number }>; outputs: Array<{ name: string; tensor: number }> };
}

const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;
const DATA_ALIGNMENT = 16;

/** Serialize a graph. Throws ModelError('E_MODEL_SHAPE') if a constant's size disagrees with its shape. */
export function writeTfliteGraph(g: GraphDef): Uint8Array {
  validateGraph(g);
  const constBytes = g.tensors.reduce((n, t) => n + (t.data?.length ?? 0), 0);
  // Always an integer: a non-integer initial size silently corrupts the output (spec §2).
  const b = new flatbuffers.Builder(Math.ceil(constBytes + 4096 + g.tensors.length * 256));

  // Buffers: [0] sentinel, then one per constant tensor (in tensor order).
  const bufferOffsets: flatbuffers.Offset[] = [];
  TflBuffer.startBuffer(b);
  bufferOffsets.push(TflBuffer.endBuffer(b));
  const tensorBuffer = new Array<number>(g.tensors.length).fill(0);
  g.tensors.forEach((t, i) => {
    if (!t.data) return;
    const dataOff = alignedByteVector(b, t.data);
    TflBuffer.startBuffer(b);
    TflBuffer.addData(b, dataOff);
    tensorBuffer[i] = bufferOffsets.length;
    bufferOffsets.push(TflBuffer.endBuffer(b));
  });

  // Tensors.
  const tensorOffsets = g.tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = Tensor.createShapeVector(b, t.shape);
    let quant = 0;
    if (t.quant) {
      const scale = QuantizationParameters.createScaleVector(b, t.quant.scale);
      const zp = QuantizationParameters.createZeroPointVector(b, t.quant.zeroPoint.map((z) => BigInt(z)));
      const min = t.quant.min ? QuantizationParameters.createMinVector(b, t.quant.min) : 0;
      const max = t.quant.max ? QuantizationParameters.createMaxVector(b, t.quant.max) : 0;
      QuantizationParameters.startQuantizationParameters(b);
      if (min) QuantizationParameters.addMin(b, min);
      if (max) QuantizationParameters.addMax(b, max);
      QuantizationParameters.addScale(b, scale);
      QuantizationParameters.addZeroPoint(b, zp);
      QuantizationParameters.addQuantizedDimension(b, t.quant.quantizedDimension ?? 0);
      quant = QuantizationParameters.endQuantizationParameters(b);
    }
    Tensor.startTensor(b);
    Tensor.addShape(b, shape);
    Tensor.addType(b, t.type);
    if (tensorBuffer[i]) Tensor.addBuffer(b, tensorBuffer[i]!);
    Tensor.addName(b, name);
    if (quant) Tensor.addQuantization(b, quant);
    return Tensor.endTensor(b);
  });

  // Operator codes: one per distinct (op, version), in first-use order.
  const codeKeys: string[] = [];
  const codes: Array<{ op: BuiltinOperator; version: number }> = [];
  const opcodeIndex = g.ops.map((o) => {
    const key = `${o.op}/${o.version}`;
    let idx = codeKeys.indexOf(key);
    if (idx < 0) { idx = codeKeys.length; codeKeys.push(key); codes.push({ op: o.op, version: o.version }); }
    return idx;
  });
  const codeOffsets = codes.map((c) =>
    OperatorCode.createOperatorCode(b, Math.min(c.op, PLACEHOLDER_FOR_GREATER_OP_CODES), 0, c.version, c.op));

  // Operators.
  const opOffsets = g.ops.map((o, i) => {
    const inputs = Operator.createInputsVector(b, o.inputs);
    const outputs = Operator.createOutputsVector(b, o.outputs);
    const [optType, optOff] = writeOptions(b, o.options);
    Operator.startOperator(b);
    Operator.addOpcodeIndex(b, opcodeIndex[i]!);
    Operator.addInputs(b, inputs);
    Operator.addOutputs(b, outputs);
    if (optType !== BuiltinOptions.NONE) {
      Operator.addBuiltinOptionsType(b, optType);
      Operator.addBuiltinOptions(b, optOff);
    }
    return Operator.endOperator(b);
  });

  const sgName = b.createString(g.name);
  const sgTensors = SubGraph.createTensorsVector(b, tensorOffsets);
  const sgInputs = SubGraph.createInputsVector(b, g.inputs);
  const sgOutputs = SubGraph.createOutputsVector(b, g.outputs);
  const sgOps = SubGraph.createOperatorsVector(b, opOffsets);
  SubGraph.startSubGraph(b);
  SubGraph.addTensors(b, sgTensors);
  SubGraph.addInputs(b, sgInputs);
  SubGraph.addOutputs(b, sgOutputs);
  SubGraph.addOperators(b, sgOps);
  SubGraph.addName(b, sgName);
  const subgraph = SubGraph.endSubGraph(b);

  const tensorMaps = (list: Array<{ name: string; tensor: number }>): flatbuffers.Offset[] => list.map((m) => {
    const n = b.createString(m.name);
    TensorMap.startTensorMap(b);
    TensorMap.addName(b, n);
    TensorMap.addTensorIndex(b, m.tensor);
    return TensorMap.endTensorMap(b);
  });
  const sigIn = SignatureDef.createInputsVector(b, tensorMaps(g.signature.inputs));
  const sigOut = SignatureDef.createOutputsVector(b, tensorMaps(g.signature.outputs));
  const sigKey = b.createString(g.signature.key);
  SignatureDef.startSignatureDef(b);
  SignatureDef.addInputs(b, sigIn);
  SignatureDef.addOutputs(b, sigOut);
  SignatureDef.addSignatureKey(b, sigKey);
  SignatureDef.addSubgraphIndex(b, 0);
  const sig = SignatureDef.endSignatureDef(b);

  const desc = b.createString(g.description);
  const codesVec = Model.createOperatorCodesVector(b, codeOffsets);
  const sgVec = Model.createSubgraphsVector(b, [subgraph]);
  const bufVec = Model.createBuffersVector(b, bufferOffsets);
  const sigVec = Model.createSignatureDefsVector(b, [sig]);
  Model.startModel(b);
  Model.addVersion(b, 3);
  Model.addOperatorCodes(b, codesVec);
  Model.addSubgraphs(b, sgVec);
  Model.addDescription(b, desc);
  Model.addBuffers(b, bufVec);
  Model.addSignatureDefs(b, sigVec);
  Model.finishModelBuffer(b, Model.endModel(b));
  // asUint8Array() is a view into the builder's (larger) buffer: copy so the result owns its ArrayBuffer.
  return b.asUint8Array().slice();
}

/** A [ubyte] vector whose first data byte is 16-byte aligned (flatc's createDataVector ignores force_align). */
function alignedByteVector(b: flatbuffers.Builder, data: Uint8Array): flatbuffers.Offset {
  b.startVector(1, data.length, DATA_ALIGNMENT);
  for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]!);
  return b.endVector();
}

function writeOptions(b: flatbuffers.Builder, o: OpOptions): [BuiltinOptions, flatbuffers.Offset] {
  switch (o.kind) {
    case 'fc':
      FullyConnectedOptions.startFullyConnectedOptions(b);
      FullyConnectedOptions.addFusedActivationFunction(b, o.fusedActivation);
      return [BuiltinOptions.FullyConnectedOptions, FullyConnectedOptions.endFullyConnectedOptions(b)];
    case 'concat':
      ConcatenationOptions.startConcatenationOptions(b);
      ConcatenationOptions.addAxis(b, o.axis);
      ConcatenationOptions.addFusedActivationFunction(b, o.fusedActivation);
      return [BuiltinOptions.ConcatenationOptions, ConcatenationOptions.endConcatenationOptions(b)];
    case 'mul':
      MulOptions.startMulOptions(b);
      MulOptions.addFusedActivationFunction(b, o.fusedActivation);
      return [BuiltinOptions.MulOptions, MulOptions.endMulOptions(b)];
    case 'add':
      AddOptions.startAddOptions(b);
      AddOptions.addFusedActivationFunction(b, o.fusedActivation);
      return [BuiltinOptions.AddOptions, AddOptions.endAddOptions(b)];
    case 'quantize':
      QuantizeOptions.startQuantizeOptions(b);
      return [BuiltinOptions.QuantizeOptions, QuantizeOptions.endQuantizeOptions(b)];
    case 'dequantize':
      DequantizeOptions.startDequantizeOptions(b);
      return [BuiltinOptions.DequantizeOptions, DequantizeOptions.endDequantizeOptions(b)];
    case 'batch_matmul':
      BatchMatMulOptions.startBatchMatMulOptions(b);
      BatchMatMulOptions.addAdjX(b, o.adjX);
      BatchMatMulOptions.addAdjY(b, o.adjY);
      return [BuiltinOptions.BatchMatMulOptions, BatchMatMulOptions.endBatchMatMulOptions(b)];
    case 'softmax':
      SoftmaxOptions.startSoftmaxOptions(b);
      SoftmaxOptions.addBeta(b, o.beta);
      return [BuiltinOptions.SoftmaxOptions, SoftmaxOptions.endSoftmaxOptions(b)];
    case 'reshape': {
      const shape = ReshapeOptions.createNewShapeVector(b, o.newShape);
      ReshapeOptions.startReshapeOptions(b);
      ReshapeOptions.addNewShape(b, shape);
      return [BuiltinOptions.ReshapeOptions, ReshapeOptions.endReshapeOptions(b)];
    }
    case 'none':
      return [BuiltinOptions.NONE, 0];
  }
}

const TYPE_SIZE: Partial<Record<TensorType, number>> = {
  [TensorType.FLOAT32]: 4, [TensorType.INT32]: 4, [TensorType.INT8]: 1, [TensorType.UINT8]: 1, [TensorType.INT16]: 2,
};

function validateGraph(g: GraphDef): void {
  const n = g.tensors.length;
  const inRange = (i: number): boolean => Number.isInteger(i) && i >= 0 && i < n;
  g.tensors.forEach((t) => {
    if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ModelError('E_MODEL_SHAPE', `tensor "${t.name}": bad shape [${t.shape.join(',')}]`);
    if (t.data) {
      const need = t.shape.reduce((a, d) => a * d, 1) * (TYPE_SIZE[t.type] ?? 1);
      if (t.data.length !== need) throw new ModelError('E_MODEL_SHAPE', `tensor "${t.name}": ${t.data.length} data bytes, shape needs ${need}`);
    }
  });
  for (const o of g.ops) {
    for (const i of [...o.inputs, ...o.outputs]) if (!inRange(i)) throw new ModelError('E_MODEL_SHAPE', `operator ${BuiltinOperator[o.op]}: tensor index ${i} out of range`);
  }
  for (const i of [...g.inputs, ...g.outputs]) if (!inRange(i)) throw new ModelError('E_MODEL_SHAPE', `graph I/O tensor index ${i} out of range`);
}
