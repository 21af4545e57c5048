/**
 * CONCATENATION along any axis: row-chunk copies (WASM copy_rows), or — for int8 inputs whose
 * quantization differs from the output's — the TypeScript rescaling kernel on both backends.
 */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import * as ref from '../reference-kernels.js';
import { numElements, type OpDef } from '../tflite-model.js';
import { f32View, i8View, kernels, type BindContext, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

export interface ConcatNode {
  kind: 'concat'; op: number; dtype: 'float32' | 'int8'; parts: Ref[]; partCounts: number[]; chunks: number[]; outer: number; y: Ref; count: number;
  scaled: { scales: number[]; zps: number[]; outScale: number; outZp: number } | null;
}

function prepare(ctx: PrepareContext, op: OpDef, where: string): void {
  const i = op.index;
  if (op.inputs.length < 1 || op.inputs.some((x) => x < 0) || op.outputs.length !== 1) ctx.schemaErr(`${where} needs ≥ 1 inputs and 1 output`);
  if (op.options.fusedActivation !== 0) ctx.unsupported(`${where}: fused activation on CONCATENATION is not supported`);
  const first = op.inputs[0]!;
  const dtype = ctx.dtypeIn(first, where, ['float32', 'int8']) as 'float32' | 'int8';
  const s0 = ctx.shapeOf(first);
  const rank = s0.length;
  let axis = op.options.axis;
  if (axis < 0) axis += rank;
  if (rank === 0 || axis < 0 || axis >= rank) ctx.shapeErr(`${where}: axis ${op.options.axis} is out of range for rank ${rank}`);
  const outShape = s0.slice();
  outShape[axis] = 0;
  for (const t of op.inputs) {
    if (ctx.dtypeIn(t, where, [dtype]) !== dtype) ctx.unsupported(`${where}: mixed input types`);
    const s = ctx.shapeOf(t);
    if (s.length !== rank || s.some((d, k) => k !== axis && d !== s0[k])) ctx.shapeErr(`${where}: input ${ctx.tensorName(t)} [${s.join(',')}] does not match [${s0.join(',')}] outside axis ${axis}`);
    outShape[axis] = outShape[axis]! + s[axis]!;
  }
  const outer = numElements(s0.slice(0, axis));
  const inner = numElements(s0.slice(axis + 1));
  const parts = op.inputs.map((t) => ctx.read(t, i));
  const partCounts = op.inputs.map((t) => numElements(ctx.shapeOf(t)));
  const chunks = op.inputs.map((t) => ctx.shapeOf(t)[axis]! * inner);
  let scaled: ConcatNode['scaled'] = null;
  if (dtype === 'int8') {
    const qo = ctx.quantOf(op.outputs[0]!, where);
    const qs = op.inputs.map((t) => ctx.quantOf(t, where));
    if (qs.some((q) => q.scale !== qo.scale || q.zp !== qo.zp)) {
      scaled = { scales: qs.map((q) => q.scale), zps: qs.map((q) => q.zp), outScale: qo.scale, outZp: qo.zp };
    }
  }
  const y = ctx.write(op.outputs[0]!, i, outShape, dtype);
  ctx.emit({ kind: 'concat', op: i, dtype, parts, partCounts, chunks, outer, y, count: numElements(outShape), scaled } satisfies ConcatNode);
}

function bindWasm(n: ConcatNode, bc: BindContext): () => void {
  if (n.scaled) return bindReference(n, bc);
  const k = kernels(bc).k;
  const el = n.dtype === 'float32' ? 4 : 1;
  const rowBytes = n.chunks.reduce((s, c) => s + c, 0) * el;
  const parts = n.parts.map((p, i) => {
    const before = n.chunks.slice(0, i).reduce((s, c) => s + c, 0) * el;
    return { src: bc.abs(p), dst: bc.abs(n.y) + before, chunk: n.chunks[i]! * el };
  });
  const outer = n.outer;
  if (parts.length === 2) {
    const [p0, p1] = [parts[0]!, parts[1]!];
    return () => { k.copy_rows(p0.src, p0.dst, outer, p0.chunk, rowBytes); k.copy_rows(p1.src, p1.dst, outer, p1.chunk, rowBytes); };
  }
  const src = Int32Array.from(parts.map((p) => p.src));
  const dst = Int32Array.from(parts.map((p) => p.dst));
  const chunk = Int32Array.from(parts.map((p) => p.chunk));
  return () => { for (let i = 0; i < src.length; i++) k.copy_rows(src[i]!, dst[i]!, outer, chunk[i]!, rowBytes); };
}

function bindReference(n: ConcatNode, bc: BindContext): () => void {
  const { outer, chunks } = n;
  if (n.dtype === 'float32') {
    const parts = n.parts.map((p, k) => f32View(bc, p, n.partCounts[k]!));
    const y = f32View(bc, n.y, n.count);
    return () => ref.concatCopy(parts, chunks, y, outer);
  }
  const parts = n.parts.map((p, k) => i8View(bc, p, n.partCounts[k]!));
  const y = i8View(bc, n.y, n.count);
  const s = n.scaled;
  if (s) return () => ref.concatI8Scaled(parts, chunks, y, outer, s.scales, s.zps, s.outScale, s.outZp);
  return () => ref.concatCopy(parts, chunks, y, outer);
}

export const CONCATENATION: OpUnit<ConcatNode> = { name: 'CONCATENATION', code: BuiltinOperator.CONCATENATION, prepare, bindWasm, bindReference };
