/**
 * A tiny hand-written ONNX (protobuf) encoder and a .tflite → ONNX translation of the graphs the
 * exporter writes, so `kdp bench --backend onnx` runs the same network in onnxruntime-node.
 *
 * Mapping (opset 13): FULLY_CONNECTED → Gemm(transB=1) [+ Relu/Clip for the fused activation],
 * CONCATENATION → Concat, ADD/MUL → Add/Mul, RESHAPE → Reshape, RELU → Relu, RELU6 → Clip,
 * TANH → Tanh, LOGISTIC → Sigmoid. int8 graphs become the *float* equivalent: weights and biases
 * are dequantized (W = s_w·q, b = s_in·s_w·q_b) and QUANTIZE/DEQUANTIZE become identities, so ORT
 * computes the same network in fp32.
 *
 * With `{ quant: 'int8' }` the int8 graph is written in ONNX's QDQ form instead: weights as int8
 * initializers and biases as int32, each behind a DequantizeLinear (per-tensor scale, zero point 0);
 * every int8 activation tensor becomes QuantizeLinear → DequantizeLinear with its TFLite scale and
 * zero point (QUANTIZE is that pair, DEQUANTIZE an identity). onnxruntime's graph optimizer fuses
 * DQ → Gemm → [Relu] → Q into its integer kernels (QGemm / QLinear*), so this times ORT's own int8 path.
 */
import { ModelError } from '../errors.js';
import type { GraphDef, TensorDef } from '../planner/runtime/tflite-model.js';

// ---- protobuf wire encoding -------------------------------------------------------------------

class Pb {
  private readonly chunks: number[] = [];
  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      this.chunks.push(byte);
    } while (x !== 0n);
  }
  private key(field: number, wire: number): void { this.varint((field << 3) | wire); }
  int(field: number, v: number | bigint): this { this.key(field, 0); this.varint(v); return this; }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true);
    this.chunks.push(...b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2); this.varint(b.length);
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i]!);
    return this;
  }
  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }
  msg(field: number, m: Pb): this { return this.bytes(field, m.finish()); }
  finish(): Uint8Array { return Uint8Array.from(this.chunks); }
}

const FLOAT = 1;
const INT8 = 3;
const INT32 = 6;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

function tensorProto(name: string, dims: number[], data: Float32Array | BigInt64Array | Int8Array | Int32Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  t.int(2, data instanceof Float32Array ? FLOAT : data instanceof Int8Array ? INT8 : data instanceof Int32Array ? INT32 : INT64);
  t.string(8, name);
  t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return t;
}

function valueInfo(name: string, dims: number[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, new Pb().int(1, d));
  const tensorType = new Pb().int(1, FLOAT).msg(2, shape);
  return new Pb().string(1, name).msg(2, new Pb().msg(1, tensorType));
}

interface Attr { name: string; i?: number; f?: number }
function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Attr[] = []): Pb {
  const n = new Pb();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  for (const a of attrs) {
    const p = new Pb().string(1, a.name);
    if (a.f !== undefined) p.float(2, a.f).int(20, ATTR_FLOAT);
    else p.int(3, a.i ?? 0).int(20, ATTR_INT);
    n.msg(5, p);
  }
  return n;
}

// ---- translation ------------------------------------------------------------------------------

function floatData(t: TensorDef): Float32Array {
  if (!t.data) throw new ModelError('E_MODEL_UNSUPPORTED_OP', `onnx: tensor "${t.name}" is not constant`);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const n = t.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  const s = t.quant?.scale[0] ?? 1;
  for (let i = 0; i < n; i++) {
    out[i] = t.dtype === 'float32' ? dv.getFloat32(4 * i, true) : t.dtype === 'int8' ? dv.getInt8(i) * s : t.dtype === 'int32' ? dv.getInt32(4 * i, true) * s : NaN;
  }
  return out;
}

function rawInts(t: TensorDef): Int8Array | Int32Array {
  if (!t.data) throw new ModelError('E_MODEL_UNSUPPORTED_OP', `onnx: tensor "${t.name}" is not constant`);
  const n = t.shape.reduce((a, d) => a * d, 1);
  if (t.dtype === 'int8') return Int8Array.from(new Int8Array(t.data.buffer, t.data.byteOffset, n));
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Int32Array.from({ length: n }, (_, i) => dv.getInt32(4 * i, true));
}

export interface OnnxOptions {
  /** 'fp32' (default): the float equivalent; 'int8': QDQ form, run by ORT's integer kernels */
  quant?: 'fp32' | 'int8';
}

/** Translate a parsed .tflite graph to an ONNX model with batch `batch` (opset 13). */
export function tfliteToOnnx(g: GraphDef, batch: number, opts: OnnxOptions = {}): Uint8Array {
  const qdq = opts.quant === 'int8';
  const graph = new Pb();
  const name = (t: number): string => `t${t}`;
  const alias = new Map<number, string>();
  const ref = (t: number): string => alias.get(t) ?? name(t);
  const withBatch = (shape: number[]): number[] => (shape.length ? [batch, ...shape.slice(1)] : shape);
  let k = 0;
  const initialized = new Set<number>();
  const init = (t: number, data: Float32Array, dims: number[]): string => {
    if (!initialized.has(t)) { graph.msg(5, tensorProto(name(t), dims, data)); initialized.add(t); }
    return name(t);
  };
  /** constant int8/int32 tensor `t` behind a DequantizeLinear (zero point 0); returns the float name */
  const dq = (t: number, data: Int8Array | Int32Array, dims: number[], scale: number): string => {
    const q = `${name(t)}_q`, sc = `${name(t)}_s`, zp = `${name(t)}_z`;
    graph.msg(5, tensorProto(q, dims, data));
    graph.msg(5, tensorProto(sc, [], Float32Array.of(scale)));
    graph.msg(5, tensorProto(zp, [], data instanceof Int8Array ? Int8Array.of(0) : Int32Array.of(0)));
    graph.msg(1, node('DequantizeLinear', [q, sc, zp], [name(t)], `n${k++}`));
    return name(t);
  };
  /** QDQ mode: an int8 activation tensor is computed in float as `<name>_f`, then Q → DQ to `<name>` */
  const quantized = (t: number): boolean => qdq && g.tensors[t]!.dtype === 'int8' && !g.tensors[t]!.data && !!g.tensors[t]!.quant;
  const qdqAfter = (t: number): void => {
    const q = g.tensors[t]!.quant!;
    const f = `${name(t)}_f`, sc = `${name(t)}_s`, zp = `${name(t)}_z`;
    graph.msg(5, tensorProto(sc, [], Float32Array.of(q.scale[0]!)));
    graph.msg(5, tensorProto(zp, [], Int8Array.of(q.zeroPoint[0]!)));
    graph.msg(1, node('QuantizeLinear', [f, sc, zp], [`${name(t)}_q8`], `n${k++}`));
    graph.msg(1, node('DequantizeLinear', [`${name(t)}_q8`, sc, zp], [name(t)], `n${k++}`));
  };
  const fused = (out: string, act: number): Pb[] => {
    if (act === 0) return [];
    const pre = `${out}_pre`;
    if (act === 1) return [node('Relu', [pre], [out], `n${k++}`)];
    const [lo, hi] = act === 3 ? [0, 6] : [-1, 1];
    const l = `c${k}_lo`; const h = `c${k}_hi`;
    graph.msg(5, tensorProto(l, [], Float32Array.of(lo)));
    graph.msg(5, tensorProto(h, [], Float32Array.of(hi)));
    return [node('Clip', [pre, l, h], [out], `n${k++}`)];
  };
  for (const op of g.ops) {
    const outQ = quantized(op.outputs[0]!) && op.name !== 'DEQUANTIZE';
    const out = outQ ? `${name(op.outputs[0]!)}_f` : name(op.outputs[0]!);
    const act = op.options.fusedActivation;
    const y = act === 0 ? out : `${out}_pre`;
    switch (op.name) {
      case 'FULLY_CONNECTED': {
        const w = g.tensors[op.inputs[1]!]!;
        const x = g.tensors[op.inputs[0]!]!;
        const bt = op.inputs[2] ?? -1;
        if (qdq && w.dtype === 'int8') {
          const inputs = [ref(op.inputs[0]!), dq(op.inputs[1]!, rawInts(w), w.shape, w.quant?.scale[0] ?? 1)];
          if (bt >= 0) {
            const b = g.tensors[bt]!;
            const bs = b.quant?.scale[0] ?? (x.quant?.scale[0] ?? 1) * (w.quant?.scale[0] ?? 1);
            inputs.push(dq(bt, rawInts(b), [b.shape.reduce((a, d) => a * d, 1)], bs));
          }
          graph.msg(1, node('Gemm', inputs, [y], `n${k++}`, [{ name: 'transB', i: 1 }]));
          for (const n of fused(out, act)) graph.msg(1, n);
          break;
        }
        const wf = floatData(w);
        const inputs = [ref(op.inputs[0]!), init(op.inputs[1]!, wf, w.shape)];
        if (bt >= 0) {
          const b = g.tensors[bt]!;
          const bf = floatData(b);
          if (b.dtype === 'int32' && !b.quant) {
            const s = (x.quant?.scale[0] ?? 1) * (w.quant?.scale[0] ?? 1);
            for (let i = 0; i < bf.length; i++) bf[i] = bf[i]! * s;
          }
          inputs.push(init(bt, bf, [bf.length]));
        }
        graph.msg(1, node('Gemm', inputs, [y], `n${k++}`, [{ name: 'transB', i: 1 }]));
        for (const n of fused(out, act)) graph.msg(1, n);
        break;
      }
      case 'CONCATENATION':
        graph.msg(1, node('Concat', op.inputs.map(ref), [out], `n${k++}`, [{ name: 'axis', i: op.options.axis }]));
        break;
      case 'ADD': case 'MUL': {
        const ins = op.inputs.map((t) => (g.tensors[t]!.data ? init(t, floatData(g.tensors[t]!), g.tensors[t]!.shape) : ref(t)));
        graph.msg(1, node(op.name === 'ADD' ? 'Add' : 'Mul', ins, [y], `n${k++}`));
        for (const n of fused(out, act)) graph.msg(1, n);
        break;
      }
      case 'RESHAPE': {
        const shapeName = `s${k}`;
        graph.msg(5, tensorProto(shapeName, [2], BigInt64Array.from(withBatch(g.tensors[op.outputs[0]!]!.shape).map(BigInt))));
        graph.msg(1, node('Reshape', [ref(op.inputs[0]!), shapeName], [out], `n${k++}`));
        break;
      }
      case 'RELU': graph.msg(1, node('Relu', [ref(op.inputs[0]!)], [out], `n${k++}`)); break;
      case 'TANH': graph.msg(1, node('Tanh', [ref(op.inputs[0]!)], [out], `n${k++}`)); break;
      case 'LOGISTIC': graph.msg(1, node('Sigmoid', [ref(op.inputs[0]!)], [out], `n${k++}`)); break;
      case 'QUANTIZE': case 'DEQUANTIZE':
        if (outQ) graph.msg(1, node('Identity', [ref(op.inputs[0]!)], [out], `n${k++}`));
        else alias.set(op.outputs[0]!, ref(op.inputs[0]!));
        break;
      default:
        throw new ModelError('E_MODEL_UNSUPPORTED_OP', `onnx translation: ${op.name} is not mapped`);
    }
    if (outQ) qdqAfter(op.outputs[0]!);
  }
  graph.string(2, 'kdp');
  for (const t of g.inputs) graph.msg(11, valueInfo(name(t), withBatch(g.tensors[t]!.shape)));
  // graph outputs may be aliases (… → DEQUANTIZE → output): add an Identity under the output's name
  for (const t of g.outputs) {
    if (alias.has(t)) graph.msg(1, node('Identity', [ref(t)], [name(t)], `n${k++}`));
    graph.msg(12, valueInfo(name(t), withBatch(g.tensors[t]!.shape)));
  }
  const model = new Pb().int(1, 8).string(2, 'kdp-edge').msg(7, graph).msg(8, new Pb().string(1, '').int(2, 13));
  return model.finish();
}
