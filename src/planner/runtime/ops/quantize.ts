/** QUANTIZE: float32 → int8 (scale, zero point; xnnpack numerics multiply by the fp32 inverse), or int8 → int8 rescale as a table. */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import * as ref from '../reference-kernels.js';
import { numElements, typeName, type OpDef } from '../tflite-model.js';
import { bindLutReference, bindLutWasm, rescaleLut, type LutNode } from './lut.js';
import { f32View, i8View, kernels, type BindContext, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

export type QuantizeNode = { kind: 'quantize'; op: number; x: Ref; y: Ref; count: number; scale: number; invScale: number; zp: number } | LutNode;

function prepare(ctx: PrepareContext, op: OpDef, where: string): void {
  const i = op.index;
  ctx.needInputs(op, 1, 1);
  const xt = op.inputs[0]!;
  const ot = op.outputs[0]!;
  const dtype = ctx.dtypeIn(xt, where, ['float32', 'int8']);
  if (ctx.g.tensors[ot]!.dtype !== 'int8') ctx.unsupported(`${where}: QUANTIZE to ${typeName(ctx.g.tensors[ot]!.typeCode)} (only int8 is supported)`);
  const s = ctx.shapeOf(xt);
  const count = numElements(s);
  const qo = ctx.quantOf(ot, where);
  const x = ctx.read(xt, i);
  if (dtype === 'float32') {
    const y = ctx.write(ot, i, s.slice(), 'int8');
    ctx.emit({ kind: 'quantize', op: i, x, y, count, scale: qo.scale, invScale: ctx.xnn ? Math.fround(1 / qo.scale) : 0, zp: qo.zp } satisfies QuantizeNode);
    return;
  }
  const lut = rescaleLut(ctx.quantOf(xt, where), qo);
  const lr = ctx.persistent(`op${i}:lut`, new Uint8Array(lut.buffer));
  const y = ctx.write(ot, i, s.slice(), 'int8');
  ctx.emit({ kind: 'lut_i8', op: i, x, y, count, lut: lr } satisfies QuantizeNode);
}

function bindWasm(n: QuantizeNode, bc: BindContext): () => void {
  if (n.kind === 'lut_i8') return bindLutWasm(n, bc);
  const k = kernels(bc).k;
  const [x, y, c, s, inv, z] = [bc.abs(n.x), bc.abs(n.y), n.count, n.scale, n.invScale, n.zp];
  return () => k.quantize_f32_i8(x, y, c, s, inv, z);
}

function bindReference(n: QuantizeNode, bc: BindContext): () => void {
  if (n.kind === 'lut_i8') return bindLutReference(n, bc);
  const x = f32View(bc, n.x, n.count), y = i8View(bc, n.y, n.count);
  const { scale, invScale, zp } = n;
  return () => ref.quantizeF32I8(x, y, scale, invScale, zp);
}

export const QUANTIZE: OpUnit<QuantizeNode> = { name: 'QUANTIZE', code: BuiltinOperator.QUANTIZE, prepare, bindWasm, bindReference };
