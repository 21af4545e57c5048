/**
 * The seam every TFLite op implements (TFLite Micro's TFLMRegistration idea: one unit per op with its
 * Prepare and its kernels). An op module exports one `OpUnit`: `prepare` checks the operator's types,
 * shapes and quantization and emits backend-neutral nodes through the `PrepareContext`; `bindWasm` /
 * `bindReference` turn one of its nodes into a closure over fixed arena offsets (called once, at
 * allocate(); the closure is what invoke() runs, so it must not allocate). Adding an op is one module
 * plus one line in `builtin-ops.ts`.
 */
import type { DType, GraphDef, OpDef } from '../tflite-model.js';
import type { KernelInstance } from '../wasm-kernels.js';

/** A region id (an arena block) as emitted by prepare. */
export type Ref = number;

/** What every node carries; each op module declares its own node types on top. */
export interface NodeBase {
  /** kernel name, e.g. 'fc_i8' (reported by Interpreter.kernelKinds) */
  kind: string;
  /** operator index in the graph */
  op: number;
}

export type Act = 'none' | 'relu' | 'relu6' | 'relu_n1_to_1';

/**
 * Integer numerics. 'tflite': TFLite reference kernels — fixed-point multiplier + shift
 * (MultiplyByQuantizedMultiplier), round half away from zero. 'xnnpack': what TFLite's XNNPACK
 * delegate (and so tfjs-tflite) computes — fp32 requantization scale, round half to even — for
 * FULLY_CONNECTED, MUL, QUANTIZE and the TANH/LOGISTIC tables. The two differ by at most 1 LSB
 * per op on ties.
 */
export type Numerics = 'tflite' | 'xnnpack';

export interface QuantParams { scale: number; zp: number }

/** The prepare phase's services, shared by every op (prepare.ts implements them). */
export interface PrepareContext {
  readonly g: GraphDef;
  /** xnnpack numerics (fp32 requantization scale, round half to even) */
  readonly xnn: boolean;
  /** emit fc_i6 nodes for int8 FCs whose weights fit in 6 bits */
  readonly relaxedI6: boolean;
  /** native FC kernels: the activation offset they fold into the bias, or null */
  readonly native: { xOffset: number } | null;
  /** the graph runs with a batch (dim 0) other than the exported one */
  readonly batchOverride: boolean;
  /** Region of a tensor the op reads (constants become persistent blocks); extends its lifetime. */
  read(t: number, op: number): Ref;
  /** Declare the op's output tensor with its inferred shape and dtype (checked against the model). */
  write(t: number, op: number, inferred: number[], dtype: DType): Ref;
  /** A persistent block (packed weights, tables) copied into the arena at allocate. */
  persistent(name: string, data: Uint8Array): Ref;
  /** A scratch block live only during operator `op`. */
  scratch(name: string, bytes: number, op: number): Ref;
  shapeOf(t: number): number[];
  quantOf(t: number, where: string): QuantParams;
  needInputs(op: OpDef, min: number, max: number): void;
  dtypeIn(t: number, where: string, allowed: readonly DType[]): DType;
  tensorName(t: number): string;
  emit<N extends NodeBase>(node: N): void;
  unsupported(msg: string, hint?: string): never;
  shapeErr(msg: string): never;
  schemaErr(msg: string): never;
}

/** What a binder gets at allocate(): absolute arena offsets and the memory that holds them. */
export interface BindContext {
  abs(id: Ref): number;
  buffer: ArrayBuffer;
  /** the WASM kernels (wasm and native backends; null on the reference backend) */
  wasm: KernelInstance | null;
}

/** Arguments of one FULLY_CONNECTED-like node for the native module (src/native, `addOp`). */
export interface NativeOpDescriptor { ints: number[]; floats: number[] }

export interface OpUnit<N extends NodeBase = NodeBase> {
  /** TFLite builtin operator name, e.g. 'FULLY_CONNECTED' */
  readonly name: string;
  /** TFLite BuiltinOperator code */
  readonly code: number;
  prepare(ctx: PrepareContext, op: OpDef, where: string): void;
  bindWasm(n: N, b: BindContext): () => void;
  bindReference(n: N, b: BindContext): () => void;
  /** native backend: the node's descriptor for the native module, or null to run it on WASM */
  bindNative?(n: N, b: BindContext): NativeOpDescriptor | null;
}

/** A WASM binder needs the kernel instance; the wasm and native backends always have one. */
export function kernels(b: BindContext): KernelInstance {
  if (!b.wasm) throw new Error('internal: a WASM binder ran without the WASM kernels');
  return b.wasm;
}

export const f32View = (b: BindContext, id: Ref, count: number): Float32Array => new Float32Array(b.buffer, b.abs(id), count);
export const i8View = (b: BindContext, id: Ref, count: number): Int8Array => new Int8Array(b.buffer, b.abs(id), count);

/** Fused activation code (TFLite ActivationFunctionType) → the clamp it means. */
export function actOf(ctx: PrepareContext, code: number, where: string): Act {
  switch (code) {
    case 0: return 'none';
    case 1: return 'relu';
    case 2: return 'relu_n1_to_1';
    case 3: return 'relu6';
    default: return ctx.unsupported(`${where}: fused activation ${code === 4 ? 'TANH' : code === 5 ? 'SIGN_BIT' : code} is not supported`);
  }
}

export function floatRange(a: Act): [number, number] {
  switch (a) {
    case 'none': return [-Infinity, Infinity];
    case 'relu': return [0, Infinity];
    case 'relu6': return [0, 6];
    case 'relu_n1_to_1': return [-1, 1];
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
