/** RESHAPE: a byte copy into the output's block (one -1 dimension inferred; dim 0 follows a batch override). */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { dtypeBytes, numElements, type OpDef } from '../tflite-model.js';
import { kernels, type BindContext, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

export interface CopyNode { kind: 'copy'; op: number; x: Ref; y: Ref; bytes: number }

function prepare(ctx: PrepareContext, op: OpDef, where: string): void {
  const i = op.index;
  ctx.needInputs(op, 1, 2);
  const xt = op.inputs[0]!;
  const dtype = ctx.dtypeIn(xt, where, ['float32', 'int8']);
  const inShape = ctx.shapeOf(xt);
  const inN = numElements(inShape);
  const ot = op.outputs[0]!;
  let declared = ctx.g.tensors[ot]!.shape.slice();
  if (declared.length === 0 && op.options.newShape) declared = op.options.newShape.slice();
  const neg = declared.indexOf(-1);
  if (neg >= 0) {
    const rest = numElements(declared.filter((_, k) => k !== neg));
    if (rest <= 0 || inN % rest !== 0) ctx.shapeErr(`${where}: cannot reshape [${inShape.join(',')}] to [${declared.join(',')}]`);
    declared[neg] = inN / rest;
  }
  let outShape = declared;
  if (numElements(declared) !== inN) {
    const rest = numElements(declared.slice(1));
    // under a batch override the declared shape keeps the exported dim 0
    if (!ctx.batchOverride || declared.length === 0 || rest <= 0 || inN % rest !== 0) ctx.shapeErr(`${where}: cannot reshape [${inShape.join(',')}] (${inN} elements) to [${declared.join(',')}]`);
    outShape = [inN / rest, ...declared.slice(1)];
  }
  if (dtype === 'int8') {
    const qi = ctx.quantOf(xt, where);
    const qo = ctx.quantOf(ot, where);
    if (qi.scale !== qo.scale || qi.zp !== qo.zp) ctx.unsupported(`${where}: int8 RESHAPE that changes quantization parameters`);
  }
  const x = ctx.read(xt, i);
  const y = ctx.write(ot, i, outShape, dtype);
  ctx.emit({ kind: 'copy', op: i, x, y, bytes: inN * dtypeBytes(dtype) } satisfies CopyNode);
}

function bindWasm(n: CopyNode, bc: BindContext): () => void {
  const k = kernels(bc).k;
  const [x, y, bytes] = [bc.abs(n.x), bc.abs(n.y), n.bytes];
  return () => k.copy_rows(x, y, 1, bytes, 0);
}

function bindReference(n: CopyNode, bc: BindContext): () => void {
  const u8 = new Uint8Array(bc.buffer);
  const [x, y, bytes] = [bc.abs(n.x), bc.abs(n.y), n.bytes];
  return () => { u8.copyWithin(y, x, x + bytes); };
}

export const RESHAPE: OpUnit<CopyNode> = { name: 'RESHAPE', code: BuiltinOperator.RESHAPE, prepare, bindWasm, bindReference };
