/**
 * SOFTMAX over the last axis with beta (SoftmaxOptions). int8 follows TFLite's conventions: the output
 * is scale 1/256, zero point −128 (anything else is refused, as TFLite does), computed by TFLite's
 * float lookup-table kernel (a 256-entry exp table per op, a persistent arena block).
 */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import * as ref from '../reference-kernels.js';
import { numElements, type OpDef } from '../tflite-model.js';
import { f32View, i8View, kernels, type BindContext, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

export type SoftmaxNode =
  | { kind: 'softmax_f32'; op: number; x: Ref; y: Ref; rows: number; last: number; beta: number }
  | { kind: 'softmax_i8'; op: number; x: Ref; y: Ref; rows: number; last: number; table: Ref; outScale: number; outZp: number };

/** TFLite's int8 softmax output quantization. */
export const SOFTMAX_I8_SCALE = 1 / 256;
export const SOFTMAX_I8_ZP = -128;

function prepare(ctx: PrepareContext, op: OpDef, where: string): void {
  const i = op.index;
  ctx.needInputs(op, 1, 1);
  const xt = op.inputs[0]!;
  const dtype = ctx.dtypeIn(xt, where, ['float32', 'int8']);
  const s = ctx.shapeOf(xt);
  if (s.length < 1) ctx.shapeErr(`${where}: input ${ctx.tensorName(xt)} is a scalar; SOFTMAX needs at least one axis`);
  const last = s[s.length - 1]!;
  const count = numElements(s);
  if (last === 0 || count === 0) ctx.shapeErr(`${where}: input ${ctx.tensorName(xt)} [${s.join(',')}] is empty`);
  const beta = op.options.beta;
  if (!Number.isFinite(beta)) ctx.schemaErr(`${where}: beta is ${beta}`);
  const x = ctx.read(xt, i);
  const ot = op.outputs[0]!;
  if (dtype === 'float32') {
    const y = ctx.write(ot, i, s.slice(), 'float32');
    ctx.emit({ kind: 'softmax_f32', op: i, x, y, rows: count / last, last, beta } satisfies SoftmaxNode);
    return;
  }
  const qi = ctx.quantOf(xt, where);
  const qo = ctx.quantOf(ot, where);
  if (Math.abs(qo.scale - SOFTMAX_I8_SCALE) > SOFTMAX_I8_SCALE * 1e-3 || qo.zp !== SOFTMAX_I8_ZP) {
    ctx.unsupported(`${where}: int8 SOFTMAX output has scale ${qo.scale}, zero point ${qo.zp}; TFLite's int8 softmax needs scale 1/256, zero point -128`);
  }
  const t = ref.softmaxTable(qi.scale, beta);
  const table = ctx.persistent(`op${i}:softmax-table`, new Uint8Array(t.buffer));
  const y = ctx.write(ot, i, s.slice(), 'int8');
  ctx.emit({ kind: 'softmax_i8', op: i, x, y, rows: count / last, last, table, outScale: Math.fround(qo.scale), outZp: qo.zp } satisfies SoftmaxNode);
}

function bindWasm(n: SoftmaxNode, bc: BindContext): () => void {
  const k = kernels(bc).k;
  const [x, y, rows, last] = [bc.abs(n.x), bc.abs(n.y), n.rows, n.last];
  if (n.kind === 'softmax_f32') { const beta = n.beta; return () => k.softmax_f32(x, y, rows, last, beta); }
  const [t, sc, zp] = [bc.abs(n.table), n.outScale, n.outZp];
  return () => k.softmax_i8(x, y, rows, last, t, sc, zp);
}

function bindReference(n: SoftmaxNode, bc: BindContext): () => void {
  const count = n.rows * n.last;
  const last = n.last;
  if (n.kind === 'softmax_f32') {
    const x = f32View(bc, n.x, count), y = f32View(bc, n.y, count);
    const beta = n.beta;
    return () => ref.softmaxF32(x, y, last, beta);
  }
  const x = i8View(bc, n.x, count), y = i8View(bc, n.y, count);
  const table = f32View(bc, n.table, 256);
  const { outScale, outZp } = n;
  return () => ref.softmaxI8(x, y, last, table, outScale, outZp);
}

export const SOFTMAX: OpUnit<SoftmaxNode> = { name: 'SOFTMAX', code: BuiltinOperator.SOFTMAX, prepare, bindWasm, bindReference };
