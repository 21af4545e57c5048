/**
 * Loader: .tflite bytes → a small, validated graph description (GraphDef) the interpreter prepares.
 * Reads with the bounds-checked FbReader, so any byte string either parses or throws a ModelError.
 * Only structure is checked here (identifier, version, indices, buffer sizes, tensor size caps);
 * per-op type/shape/quantization rules live in the op units, ops/*.ts (the "Prepare" phase).
 */
import { ModelError } from '../../errors.js';
import { BuiltinOperator } from '../tflite/generated/tflite/builtin-operator.js';
import { TensorType } from '../tflite/generated/tflite/tensor-type.js';
import { FbReader, type Table } from '../tflite/flatbuf.js';

export const TFLITE_SCHEMA_VERSION = 3;
/** Hard caps: a model over these is refused at load (keeps a corrupt file from planning a 2^40-byte arena). */
export const MAX_TENSOR_ELEMENTS = 1 << 26;
export const MAX_RANK = 6;
export const MAX_TENSORS = 4096;
export const MAX_OPS = 4096;

export type DType = 'float32' | 'int8' | 'int32' | 'int64' | 'other';

export interface Quant {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TensorDef {
  index: number;
  name: string;
  shape: number[];
  typeCode: number;
  dtype: DType;
  /** Constant data (from the model's buffers), or null for activations / inputs. */
  data: Uint8Array | null;
  quant: Quant | null;
  isVariable: boolean;
}

export interface OpOptions {
  fusedActivation: number;
  /** FULLY_CONNECTED */
  keepNumDims: boolean;
  weightsFormat: number;
  asymmetricQuantizeInputs: boolean;
  /** CONCATENATION */
  axis: number;
  /** RESHAPE */
  newShape: number[] | null;
  /** ADD (int16 only) */
  potScaleInt16: boolean;
  /** BATCH_MATMUL: transpose the last two dims of the left / right operand */
  adjX: boolean;
  adjY: boolean;
  /** SOFTMAX: exp(beta · x) (the schema's default, as in TFLite, is 0) */
  beta: number;
}

export interface OpDef {
  index: number;
  code: number;
  name: string;
  version: number;
  inputs: number[];
  outputs: number[];
  optionsType: number;
  options: OpOptions;
}

export interface SignatureDef {
  key: string;
  inputs: Array<{ name: string; tensor: number }>;
  outputs: Array<{ name: string; tensor: number }>;
}

export interface GraphDef {
  version: number;
  description: string;
  tensors: TensorDef[];
  ops: OpDef[];
  inputs: number[];
  outputs: number[];
  signature: SignatureDef | null;
}

export function opName(code: number): string {
  const n = (BuiltinOperator as unknown as Record<number, string | undefined>)[code];
  return n ?? `BUILTIN_${code}`;
}

export function typeName(code: number): string {
  const n = (TensorType as unknown as Record<number, string | undefined>)[code];
  return n ?? `TYPE_${code}`;
}

function dtypeOf(code: number): DType {
  switch (code) {
    case TensorType.FLOAT32: return 'float32';
    case TensorType.INT8: return 'int8';
    case TensorType.INT32: return 'int32';
    case TensorType.INT64: return 'int64';
    default: return 'other';
  }
}

export function dtypeBytes(d: DType): number {
  switch (d) {
    case 'float32': case 'int32': return 4;
    case 'int8': return 1;
    case 'int64': return 8;
    case 'other': return 0;
  }
}

export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const schema = (msg: string): never => {
  throw new ModelError('E_MODEL_SCHEMA', msg, { hint: 're-export the model with `kdp export`' });
};

/** Parse and structurally validate a .tflite file. Throws ModelError for anything malformed. */
export function parseTflite(bytes: Uint8Array): GraphDef {
  if (!(bytes instanceof Uint8Array)) schema('model bytes must be a Uint8Array');
  if (bytes.byteLength < 8) schema(`model file is truncated (${bytes.byteLength} bytes)`);
  const ident = String.fromCharCode(bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!);
  if (ident !== 'TFL3') {
    throw new ModelError('E_MODEL_SCHEMA', `not a TFLite model: file identifier is "${ident.replace(/[^\x20-\x7e]/g, '?')}", expected "TFL3"`,
      { hint: 'pass a .tflite file written by `kdp export` (or any TFLite converter)' });
  }
  const r = new FbReader(bytes);
  const model = r.root();
  const version = model.u32(0, 0);
  if (version !== TFLITE_SCHEMA_VERSION) {
    throw new ModelError('E_MODEL_SCHEMA', `unsupported TFLite schema version ${version} (this runtime reads version ${TFLITE_SCHEMA_VERSION})`,
      { hint: 're-export the model; schema version 3 is what every current TFLite writer emits' });
  }
  const description = model.string(3) ?? '';

  // operator codes
  const codeTables = model.tables(1) ?? [];
  const opcodes = codeTables.map((t) => {
    const deprecated = t.i8(0, 0);
    const builtin = t.i32(3, 0);
    const custom = t.string(1);
    return { code: Math.max(deprecated, builtin), version: t.i32(2, 1), custom };
  });

  // buffers
  const bufferTables = model.tables(4) ?? [];
  const buffers: Array<Uint8Array | null> = bufferTables.map((t, i) => {
    if (t.u64(1) > 1 || t.u64(2) > 0) schema(`buffer ${i} uses external (offset/size) storage, which this runtime does not read`);
    const d = t.bytes(0);
    return d && d.length > 0 ? d : null;
  });

  const subgraphs = model.tables(2) ?? [];
  const sg = subgraphs[0];
  if (!sg) return schema('model has no subgraph');

  const tensorTables = sg.tables(0) ?? [];
  if (tensorTables.length > MAX_TENSORS) schema(`model has ${tensorTables.length} tensors (cap ${MAX_TENSORS})`);
  const tensors = tensorTables.map((t, i) => readTensor(t, i, buffers));

  const checkIndex = (idx: number, what: string, allowOptional: boolean): void => {
    if (allowOptional && idx === -1) return;
    if (!Number.isInteger(idx) || idx < 0 || idx >= tensors.length) schema(`${what} refers to tensor ${idx}, but the subgraph has ${tensors.length} tensors`);
  };
  const inputs = sg.i32s(1) ?? [];
  const outputs = sg.i32s(2) ?? [];
  inputs.forEach((i, k) => checkIndex(i, `subgraph input ${k}`, false));
  outputs.forEach((i, k) => checkIndex(i, `subgraph output ${k}`, false));
  if (inputs.length === 0) schema('model has no inputs');
  if (outputs.length === 0) schema('model has no outputs');

  const opTables = sg.tables(3) ?? [];
  if (opTables.length > MAX_OPS) schema(`model has ${opTables.length} operators (cap ${MAX_OPS})`);
  const ops: OpDef[] = opTables.map((t, i) => {
    const opcodeIndex = t.u32(0, 0);
    const oc = opcodes[opcodeIndex];
    if (!oc) return schema(`operator ${i} uses opcode index ${opcodeIndex}, but the model has ${opcodes.length} operator codes`);
    if (oc.code === BuiltinOperator.CUSTOM || oc.custom !== undefined) {
      throw new ModelError('E_MODEL_UNSUPPORTED_OP', `unsupported op: custom op "${oc.custom ?? '?'}" (operator ${i})`,
        { hint: 'this runtime supports FULLY_CONNECTED, BATCH_MATMUL, SOFTMAX, ADD, MUL, CONCATENATION, RESHAPE, RELU, RELU6, TANH, LOGISTIC, QUANTIZE, DEQUANTIZE' });
    }
    const opInputs = t.i32s(1) ?? [];
    const opOutputs = t.i32s(2) ?? [];
    opInputs.forEach((x, k) => checkIndex(x, `operator ${i} (${opName(oc.code)}) input ${k}`, true));
    opOutputs.forEach((x, k) => checkIndex(x, `operator ${i} (${opName(oc.code)}) output ${k}`, false));
    const optionsType = t.u8(3, 0);
    const opt = t.table(4);
    const options: OpOptions = {
      fusedActivation: 0, keepNumDims: false, weightsFormat: 0, asymmetricQuantizeInputs: false, axis: 0, newShape: null, potScaleInt16: false,
      adjX: false, adjY: false, beta: 0,
    };
    if (opt) {
      switch (oc.code) {
        case BuiltinOperator.FULLY_CONNECTED:
          options.fusedActivation = opt.i8(0, 0); options.weightsFormat = opt.i8(1, 0);
          options.keepNumDims = opt.bool(2); options.asymmetricQuantizeInputs = opt.bool(3);
          break;
        case BuiltinOperator.ADD:
          options.fusedActivation = opt.i8(0, 0); options.potScaleInt16 = opt.u8(1, 1) !== 0;
          break;
        case BuiltinOperator.MUL:
          options.fusedActivation = opt.i8(0, 0);
          break;
        case BuiltinOperator.CONCATENATION:
          options.axis = opt.i32(0, 0); options.fusedActivation = opt.i8(1, 0);
          break;
        case BuiltinOperator.RESHAPE:
          options.newShape = opt.i32s(0) ?? null;
          break;
        case BuiltinOperator.BATCH_MATMUL:
          options.adjX = opt.bool(0); options.adjY = opt.bool(1); options.asymmetricQuantizeInputs = opt.bool(2);
          break;
        case BuiltinOperator.SOFTMAX:
          options.beta = opt.f32(0, 0);
          break;
        default:
          break;
      }
    }
    return { index: i, code: oc.code, name: opName(oc.code), version: oc.version, inputs: opInputs, outputs: opOutputs, optionsType, options };
  });

  let signature: SignatureDef | null = null;
  const sigs = model.tables(7) ?? [];
  const sig0 = sigs.find((s) => s.u32(4, 0) === 0);
  if (sig0) {
    const readMap = (id: number): Array<{ name: string; tensor: number }> => (sig0.tables(id) ?? []).map((m, k) => {
      const tensor = m.u32(1, 0);
      checkIndex(tensor, `signature tensor map ${k}`, false);
      return { name: m.string(0) ?? `t${tensor}`, tensor };
    });
    signature = { key: sig0.string(2) ?? '', inputs: readMap(0), outputs: readMap(1) };
  }

  return { version, description, tensors, ops, inputs, outputs, signature };
}

function readTensor(t: Table, i: number, buffers: Array<Uint8Array | null>): TensorDef {
  const name = t.string(3) ?? `tensor${i}`;
  const shape = t.i32s(0) ?? [];
  if (shape.length > MAX_RANK) schema(`tensor ${i} "${name}" has rank ${shape.length} (cap ${MAX_RANK})`);
  let n = 1;
  for (const d of shape) {
    if (d < 0) schema(`tensor ${i} "${name}" has a dynamic or negative dimension ${d} (shape [${shape.join(',')}])`);
    n *= d;
  }
  if (n > MAX_TENSOR_ELEMENTS) schema(`tensor ${i} "${name}" has ${n} elements (cap ${MAX_TENSOR_ELEMENTS})`);
  const typeCode = t.i8(1, 0);
  const dtype = dtypeOf(typeCode);
  const bufferIndex = t.u32(2, 0);
  if (bufferIndex >= Math.max(1, buffers.length)) schema(`tensor ${i} "${name}" refers to buffer ${bufferIndex}, but the model has ${buffers.length} buffers`);
  const data = bufferIndex === 0 ? null : buffers[bufferIndex] ?? null;
  if (data && dtype !== 'other' && data.length !== n * dtypeBytes(dtype)) {
    schema(`tensor ${i} "${name}" (${typeName(typeCode)} [${shape.join(',')}]) has ${data.length} data bytes, expected ${n * dtypeBytes(dtype)}`);
  }
  let quant: Quant | null = null;
  const q = t.table(4);
  if (q) {
    const scale = q.f32s(2) ?? [];
    const zeroPoint = q.i64s(3) ?? [];
    if (scale.length > 0 || zeroPoint.length > 0) quant = { scale, zeroPoint, quantizedDimension: q.i32(6, 0) };
  }
  if (t.has(6)) {
    throw new ModelError('E_MODEL_UNSUPPORTED_OP', `unsupported tensor: tensor ${i} "${name}" is sparse`, { hint: 'export dense weights' });
  }
  return { index: i, name, shape, typeCode, dtype, data, quant, isVariable: t.bool(5) };
}
