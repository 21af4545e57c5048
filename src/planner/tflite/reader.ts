/**
 * `readTflite(bytes)`: a validated, typed view of a .tflite file — the input of the interpreter.
 *
 * Everything is read through the bounds-checked `FbReader` (flatbuf.ts, the interpreter's reader too), never through flatc's
 * unchecked generated accessors, so corrupt or truncated input throws
 * `ModelError('E_MODEL_SCHEMA', …)` (structure) or `ModelError('E_MODEL_SHAPE', …)` (a constant's
 * byte size disagrees with its shape) instead of reading out of bounds.
 *
 * What is validated here (structure only; op semantics are the interpreter's job):
 *   - file identifier "TFL3", Model.version == 3, at least one subgraph, buffers[0] exists;
 *   - every offset / vtable / vector inside the buffer;
 *   - tensor.buffer < buffers.length; operator.opcode_index < operator_codes.length;
 *     operator and subgraph tensor indices in range (-1 allowed for optional operator inputs);
 *   - shapes non-negative; constant data byte length == product(shape) × element size;
 *   - signature tensor indices in range, subgraph index in range.
 *
 * Constant data are views into `bytes` (no copy): keep `bytes` alive and unmodified.
 * The opcode is resolved as max(deprecated_builtin_code, builtin_code), as TFLite ≥ 2.4 does.
 */
import { ModelError } from '../../errors.js';
import { FbReader, type Table } from './flatbuf.js';
import { BuiltinOperator } from './generated/tflite/builtin-operator.js';
import { BuiltinOptions } from './generated/tflite/builtin-options.js';
import { TensorType } from './generated/tflite/tensor-type.js';
import { ActivationFunctionType } from './generated/tflite/activation-function-type.js';

export { BuiltinOperator, BuiltinOptions, TensorType, ActivationFunctionType };

/** The schema version we read and write. */
export const TFLITE_SCHEMA_VERSION = 3;
export const TFLITE_FILE_IDENTIFIER = 'TFL3';

export interface ParsedQuantization {
  /** float32 scale per channel (length 1 for per-tensor) */
  scale: number[];
  /** zero point per channel (converted from int64; throws if it does not fit a safe integer) */
  zeroPoint: number[];
  quantizedDimension: number;
  min: number[] | null;
  max: number[] | null;
  /** QuantizationDetails union type (0 = none); non-zero means a custom/blockwise scheme */
  detailsType: number;
}

export interface ParsedTensor {
  index: number;
  name: string;
  shape: number[];
  shapeSignature: number[] | null;
  type: TensorType;
  typeName: string;
  /** element size in bytes, or 0 for types without a fixed size (STRING, RESOURCE, VARIANT, sub-byte) */
  elementSize: number;
  elementCount: number;
  buffer: number;
  /** constant data (view into the model bytes), or null for activations / I/O */
  data: Uint8Array | null;
  /** DataView over `data` (little-endian reads), or null */
  dataView: DataView | null;
  quantization: ParsedQuantization | null;
  isVariable: boolean;
  /** sparse tensors are not supported by our runtime; flagged so it can refuse them by name */
  isSparse: boolean;
}

export interface FullyConnectedOptionsP {
  kind: 'FullyConnectedOptions';
  fusedActivation: ActivationFunctionType;
  weightsFormat: number;
  keepNumDims: boolean;
  asymmetricQuantizeInputs: boolean;
  quantizedBiasType: TensorType;
}
export interface ConcatenationOptionsP { kind: 'ConcatenationOptions'; axis: number; fusedActivation: ActivationFunctionType }
export interface AddOptionsP { kind: 'AddOptions'; fusedActivation: ActivationFunctionType; potScaleInt16: boolean }
export interface SubOptionsP { kind: 'SubOptions'; fusedActivation: ActivationFunctionType; potScaleInt16: boolean }
export interface MulOptionsP { kind: 'MulOptions'; fusedActivation: ActivationFunctionType }
export interface ReshapeOptionsP { kind: 'ReshapeOptions'; newShape: number[] | null }
export interface SoftmaxOptionsP { kind: 'SoftmaxOptions'; beta: number }
/** Options tables without fields (QuantizeOptions, DequantizeOptions, …) and options we do not decode. */
export interface OtherOptionsP { kind: 'Other'; type: number; typeName: string }

export type ParsedOptions =
  | FullyConnectedOptionsP | ConcatenationOptionsP | AddOptionsP | SubOptionsP | MulOptionsP
  | ReshapeOptionsP | SoftmaxOptionsP | OtherOptionsP;

export interface ParsedOperatorCode {
  /** resolved: max(deprecatedBuiltinCode, builtinCodeField) */
  builtinCode: BuiltinOperator;
  opName: string;
  deprecatedBuiltinCode: number;
  builtinCodeField: number;
  version: number;
  customCode: string | null;
}

export interface ParsedOperator {
  index: number;
  opcodeIndex: number;
  builtinCode: BuiltinOperator;
  opName: string;
  version: number;
  customCode: string | null;
  /** tensor indices; -1 = optional input omitted */
  inputs: number[];
  outputs: number[];
  intermediates: number[];
  builtinOptionsType: number;
  options: ParsedOptions | null;
  hasCustomOptions: boolean;
  /** builtin_options_2 union type (StableHLO-era ops); 0 = none */
  builtinOptions2Type: number;
}

export interface ParsedSubgraph {
  name: string;
  tensors: ParsedTensor[];
  inputs: number[];
  outputs: number[];
  operators: ParsedOperator[];
}

export interface ParsedBuffer {
  /** data view into the model bytes; empty for the sentinel and for activations */
  data: Uint8Array;
  /** >1 when the data lives outside the flatbuffer (2 GB+ models); we do not support that (values past 2^53 saturate) */
  externalOffset: number;
  externalSize: number;
}

export interface ParsedTensorMap { name: string; tensorIndex: number }

export interface ParsedSignatureDef {
  key: string;
  inputs: ParsedTensorMap[];
  outputs: ParsedTensorMap[];
  subgraphIndex: number;
}

export interface ParsedModel {
  version: number;
  description: string | null;
  operatorCodes: ParsedOperatorCode[];
  subgraphs: ParsedSubgraph[];
  buffers: ParsedBuffer[];
  signatureDefs: ParsedSignatureDef[];
  /** Model.metadata names (e.g. "min_runtime_version") */
  metadataNames: string[];
  /** the bytes parsed (constant data are views into them) */
  bytes: Uint8Array;
}

/** Byte size of one element, 0 for variable-size or sub-byte types. */
export function tensorTypeSize(t: TensorType): number {
  switch (t) {
    case TensorType.FLOAT32: case TensorType.INT32: case TensorType.UINT32: return 4;
    case TensorType.FLOAT16: case TensorType.INT16: case TensorType.UINT16: case TensorType.BFLOAT16: return 2;
    case TensorType.INT64: case TensorType.UINT64: case TensorType.FLOAT64: case TensorType.COMPLEX64: return 8;
    case TensorType.COMPLEX128: return 16;
    case TensorType.UINT8: case TensorType.INT8: case TensorType.BOOL:
    case TensorType.FLOAT8_E4M3FN: case TensorType.FLOAT8_E5M2: return 1;
    default: return 0;
  }
}

export function tensorTypeName(t: number): string {
  return (TensorType as unknown as Record<number, string>)[t] ?? `UNKNOWN_TYPE_${t}`;
}

export function builtinOperatorName(code: number): string {
  return (BuiltinOperator as unknown as Record<number, string>)[code] ?? `UNKNOWN_OP_${code}`;
}

function builtinOptionsName(t: number): string {
  return (BuiltinOptions as unknown as Record<number, string>)[t] ?? `UNKNOWN_OPTIONS_${t}`;
}

const MAX_DIMS = 8;

/**
 * Parse and structurally validate a .tflite model. Throws `ModelError` (E_MODEL_SCHEMA, E_MODEL_SHAPE).
 * Cost: O(model structure); constant data are not copied.
 */
export function readTflite(bytes: Uint8Array): ParsedModel {
  if (!(bytes instanceof Uint8Array)) throw new ModelError('E_MODEL_SCHEMA', 'readTflite expects a Uint8Array');
  const fb: FbReader = new FbReader(bytes);
  if (bytes.length < 8) fb.fail(`file: only ${bytes.length} bytes`);
  const ident = String.fromCharCode(bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!);
  if (ident !== TFLITE_FILE_IDENTIFIER) {
    throw new ModelError('E_MODEL_SCHEMA', `not a TFLite model: file identifier "${printable(ident)}", expected "TFL3"`,
      { hint: 'pass a .tflite file (kdp export writes model.tflite)' });
  }
  const m = fb.root();
  // Model: version 0, operator_codes 1, subgraphs 2, description 3, buffers 4, metadata_buffer 5,
  //        metadata 6, signature_defs 7, external_buffer_groups 8, external_buffers 9
  const version = m.u32(0, 0);
  if (version !== TFLITE_SCHEMA_VERSION) {
    throw new ModelError('E_MODEL_SCHEMA', `unsupported TFLite schema version ${version} (expected ${TFLITE_SCHEMA_VERSION})`,
      { hint: 're-export the model with this version of kdp' });
  }
  const description = m.string(3) ?? null;

  const buffers: ParsedBuffer[] = (m.tables(4) ?? []).map((b) => ({
    // Buffer: data 0, offset 1, size 2
    data: b.bytes(0) ?? new Uint8Array(bytes.buffer, bytes.byteOffset, 0),
    externalOffset: b.u64(1),
    externalSize: b.u64(2),
  }));
  if (buffers.length === 0) fb.fail('model.buffers: missing (buffers[0] must be the empty sentinel)');

  const operatorCodes: ParsedOperatorCode[] = (m.tables(1) ?? []).map((oc) => {
    // OperatorCode: deprecated_builtin_code 0 (i8), custom_code 1, version 2 (=1), builtin_code 3 (i32)
    const deprecatedBuiltinCode = oc.i8(0, 0);
    const builtinCodeField = oc.i32(3, 0);
    const builtinCode = Math.max(deprecatedBuiltinCode, builtinCodeField) as BuiltinOperator;
    return {
      builtinCode, opName: builtinOperatorName(builtinCode), deprecatedBuiltinCode, builtinCodeField,
      version: oc.i32(2, 1), customCode: oc.string(1) ?? null,
    };
  });

  const subgraphTables = m.tables(2) ?? [];
  if (subgraphTables.length === 0) fb.fail('model.subgraphs: model has no subgraph');
  const subgraphs = subgraphTables.map((sg, si) => readSubgraph(fb, sg, si, buffers, operatorCodes));

  const signatureDefs: ParsedSignatureDef[] = (m.tables(7) ?? []).map((sd, i) => {
    // SignatureDef: inputs 0, outputs 1, signature_key 2, deprecated_tag 3, subgraph_index 4
    const subgraphIndex = sd.u32(4, 0);
    const found = subgraphs[subgraphIndex];
    if (!found) fb.fail(`model.signature_defs[${i}]: subgraph_index ${subgraphIndex} out of range`);
    const sub: ParsedSubgraph = found;
    const maps = (id: number, name: string): ParsedTensorMap[] => (sd.tables(id) ?? []).map((tm, k) => {
      // TensorMap: name 0, tensor_index 1
      const tensorIndex = tm.u32(1, 0);
      if (tensorIndex >= sub.tensors.length) fb.fail(`model.signature_defs[${i}].${name}[${k}]: tensor_index ${tensorIndex} out of range`);
      return { name: tm.string(0) ?? '', tensorIndex };
    });
    return { key: sd.string(2) ?? '', inputs: maps(0, 'inputs'), outputs: maps(1, 'outputs'), subgraphIndex };
  });

  const metadataNames = (m.tables(6) ?? []).map((md) => md.string(0) ?? '');

  return { version, description, operatorCodes, subgraphs, buffers, signatureDefs, metadataNames, bytes };
}

function readSubgraph(fb: FbReader, sg: Table, si: number, buffers: ParsedBuffer[], opcodes: ParsedOperatorCode[]): ParsedSubgraph {
  // SubGraph: tensors 0, inputs 1, outputs 2, operators 3, name 4
  const path = `model.subgraphs[${si}]`;
  const tensors = (sg.tables(0) ?? []).map((t, i) => readTensor(fb, t, i, `${path}.tensors[${i}]`, buffers));
  const n = tensors.length;
  const checkIdx = (list: number[], path: string, allowOptional: boolean): number[] => {
    for (const x of list) {
      if (!(x < n && (x >= 0 || (allowOptional && x === -1)))) fb.fail(`${path}: tensor index ${x} out of range (${n} tensors)`);
    }
    return list;
  };
  const inputs = checkIdx(sg.i32s(1) ?? [], `${path}.inputs`, false);
  const outputs = checkIdx(sg.i32s(2) ?? [], `${path}.outputs`, false);
  const operators = (sg.tables(3) ?? []).map((op, oi): ParsedOperator => {
    const opPath = `${path}.operators[${oi}]`;
    // Operator: opcode_index 0, inputs 1, outputs 2, builtin_options_type 3, builtin_options 4,
    //           custom_options 5, custom_options_format 6, mutating_variable_inputs 7, intermediates 8,
    //           large_custom_options_offset 9, large_custom_options_size 10,
    //           builtin_options_2_type 11, builtin_options_2 12, debug_metadata_index 13
    const opcodeIndex = op.u32(0, 0);
    const code = opcodes[opcodeIndex];
    if (!code) fb.fail(`${opPath}.opcode_index: ${opcodeIndex} out of range (${opcodes.length} operator codes)`);
    const builtinOptionsType = op.u8(3, 0);
    const optTable = op.table(4);
    if (optTable && builtinOptionsType === 0) fb.fail(`${opPath}: builtin_options present without a type`);
    return {
      index: oi, opcodeIndex, builtinCode: code.builtinCode, opName: code.opName, version: code.version, customCode: code.customCode,
      inputs: checkIdx(op.i32s(1) ?? [], `${opPath}.inputs`, true),
      outputs: checkIdx(op.i32s(2) ?? [], `${opPath}.outputs`, false),
      intermediates: checkIdx(op.i32s(8) ?? [], `${opPath}.intermediates`, false),
      builtinOptionsType,
      options: optTable ? readOptions(builtinOptionsType, optTable) : null,
      hasCustomOptions: op.has(5),
      builtinOptions2Type: op.u8(11, 0),
    };
  });
  return { name: sg.string(4) ?? `subgraph${si}`, tensors, inputs, outputs, operators };
}

function readTensor(fb: FbReader, t: Table, index: number, path: string, buffers: ParsedBuffer[]): ParsedTensor {
  // Tensor: shape 0, type 1, buffer 2, name 3, quantization 4, is_variable 5, sparsity 6,
  //         shape_signature 7, has_rank 8, variant_tensors 9, external_buffer 10
  const shape = t.i32s(0) ?? [];
  if (shape.length > MAX_DIMS) fb.fail(`${path}.shape: ${shape.length} dimensions (max ${MAX_DIMS})`);
  let elementCount = 1;
  for (const d of shape) {
    if (d < 0) fb.fail(`${path}.shape: negative dimension ${d}`);
    elementCount *= d;
  }
  if (elementCount > 0x7fffffff) fb.fail(`${path}.shape: ${elementCount} elements is too large`);
  const type = t.i8(1, 0) as TensorType;
  const bufferIndex = t.u32(2, 0);
  const buf = buffers[bufferIndex];
  if (!buf) fb.fail(`${path}.buffer: buffer index ${bufferIndex} out of range (${buffers.length} buffers)`);
  const name = t.string(3) ?? `tensor${index}`;
  const elementSize = tensorTypeSize(type);
  const data = bufferIndex !== 0 && buf.data.length > 0 ? buf.data : null;
  if (data && elementSize > 0 && data.length !== elementCount * elementSize) {
    throw new ModelError('E_MODEL_SHAPE',
      `tensor ${index} "${name}": constant data is ${data.length} bytes, shape [${shape.join(',')}] of ${tensorTypeName(type)} needs ${elementCount * elementSize}`);
  }
  let quantization: ParsedQuantization | null = null;
  const q = t.table(4);
  if (q) {
    // QuantizationParameters: min 0, max 1, scale 2, zero_point 3, details_type 4, details 5, quantized_dimension 6
    const scale = q.f32s(2) ?? [];
    const zeroPoint = q.i64s(3) ?? [];
    for (const z of zeroPoint) if (z > 2147483647 || z < -2147483648) fb.fail(`${path}.quantization.zero_point: ${z} does not fit int32`);
    if (scale.length > 0 || zeroPoint.length > 0 || q.has(4)) {
      quantization = {
        scale, zeroPoint, quantizedDimension: q.i32(6, 0),
        min: q.f32s(0) ?? null, max: q.f32s(1) ?? null, detailsType: q.u8(4, 0),
      };
    }
  }
  return {
    index, name, shape, shapeSignature: t.i32s(7) ?? null, type, typeName: tensorTypeName(type),
    elementSize, elementCount, buffer: bufferIndex, data,
    dataView: data ? new DataView(data.buffer, data.byteOffset, data.byteLength) : null,
    quantization, isVariable: t.bool(5), isSparse: t.has(6),
  };
}

function readOptions(type: number, o: Table): ParsedOptions {
  switch (type) {
    case BuiltinOptions.FullyConnectedOptions:
      // fused_activation_function 0, weights_format 1, keep_num_dims 2, asymmetric_quantize_inputs 3, quantized_bias_type 4
      return {
        kind: 'FullyConnectedOptions', fusedActivation: o.i8(0, 0), weightsFormat: o.i8(1, 0),
        keepNumDims: o.bool(2), asymmetricQuantizeInputs: o.bool(3),
        quantizedBiasType: o.i8(4, 0),
      };
    case BuiltinOptions.ConcatenationOptions:
      return { kind: 'ConcatenationOptions', axis: o.i32(0, 0), fusedActivation: o.i8(1, 0) };
    case BuiltinOptions.AddOptions:
      return { kind: 'AddOptions', fusedActivation: o.i8(0, 0), potScaleInt16: o.u8(1, 1) !== 0 };
    case BuiltinOptions.SubOptions:
      return { kind: 'SubOptions', fusedActivation: o.i8(0, 0), potScaleInt16: o.u8(1, 1) !== 0 };
    case BuiltinOptions.MulOptions:
      return { kind: 'MulOptions', fusedActivation: o.i8(0, 0) };
    case BuiltinOptions.ReshapeOptions:
      return { kind: 'ReshapeOptions', newShape: o.i32s(0) ?? null };
    case BuiltinOptions.SoftmaxOptions:
      return { kind: 'SoftmaxOptions', beta: o.f32(0, 0) };
    default:
      return { kind: 'Other', type, typeName: builtinOptionsName(type) };
  }
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/** Convenience: the main subgraph's tensor by index, with a typed error. */
export function tensorAt(sg: ParsedSubgraph, index: number): ParsedTensor {
  const t = sg.tensors[index];
  if (!t) throw new ModelError('E_MODEL_SCHEMA', `tensor index ${index} out of range (${sg.tensors.length} tensors)`);
  return t;
}

/** Read constant data as a typed array copy (float32 / int8 / int32 / uint8), little-endian. */
export function constantAsArray(t: ParsedTensor): Float32Array | Int8Array | Int32Array | Uint8Array {
  if (!t.data || !t.dataView) throw new ModelError('E_MODEL_SCHEMA', `tensor "${t.name}" has no constant data`);
  const n = t.elementCount;
  const dv = t.dataView;
  switch (t.type) {
    case TensorType.FLOAT32: { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = dv.getFloat32(4 * i, true); return a; }
    case TensorType.INT32: { const a = new Int32Array(n); for (let i = 0; i < n; i++) a[i] = dv.getInt32(4 * i, true); return a; }
    case TensorType.INT8: return new Int8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + n));
    case TensorType.UINT8: return t.data.slice();
    default: throw new ModelError('E_MODEL_UNSUPPORTED_OP', `constant of type ${t.typeName} in "${t.name}" is not supported`);
  }
}
