/** DEQUANTIZE: int8 → float32, (q − zero point) · scale. */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import * as ref from '../reference-kernels.js';
import { numElements, type OpDef } from '../tflite-model.js';
import { f32View, i8View, kernels, type BindContext, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

export interface DequantizeNode { kind: 'dequantize'; op: number; x: Ref; y: Ref; count: number; scale: number; zp: number }

function prepare(ctx: PrepareContext, op: OpDef, where: string): void {
  const i = op.index;
  ctx.needInputs(op, 1, 1);
  const xt = op.inputs[0]!;
  ctx.dtypeIn(xt, where, ['int8']);
  const s = ctx.shapeOf(xt);
  const qi = ctx.quantOf(xt, where);
  const x = ctx.read(xt, i);
  const y = ctx.write(op.outputs[0]!, i, s.slice(), 'float32');
  ctx.emit({ kind: 'dequantize', op: i, x, y, count: numElements(s), scale: qi.scale, zp: qi.zp } satisfies DequantizeNode);
}

function bindWasm(n: DequantizeNode, bc: BindContext): () => void {
  const k = kernels(bc).k;
  const [x, y, c, s, z] = [bc.abs(n.x), bc.abs(n.y), n.count, n.scale, n.zp];
  return () => k.dequantize_i8_f32(x, y, c, s, z);
}

function bindReference(n: DequantizeNode, bc: BindContext): () => void {
  const x = i8View(bc, n.x, n.count), y = f32View(bc, n.y, n.count);
  const { scale, zp } = n;
  return () => ref.dequantizeI8F32(x, y, scale, zp);
}

export const DEQUANTIZE: OpUnit<DequantizeNode> = { name: 'DEQUANTIZE', code: BuiltinOperator.DEQUANTIZE, prepare, bindWasm, bindReference };
