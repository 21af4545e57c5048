/**
 * BATCH_MATMUL, rank 3 only: [B, M, K] × [B, K, N] → [B, M, N], with adj_x / adj_y transposing the
 * last two dims of an operand (attention's Q·Kᵀ is adj_y). Both operands have the same batch: TFLite's
 * broadcasting of the batch dims is refused with a typed error rather than half-implemented. int8 is
 * per-tensor with any zero points, int32 accumulation and FULLY_CONNECTED's fixed-point requantization
 * (TFLite's kernel runs it for int8 under every delegate, so there is no XNNPACK variant).
 */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { alignUp } from '../memory-planner.js';
import { quantizeMultiplier } from '../quant.js';
import * as ref from '../reference-kernels.js';
import type { BmmDims, BmmI8Params } from '../reference-kernels.js';
import type { OpDef } from '../tflite-model.js';
import { f32View, i8View, kernels, type BindContext, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

export type BmmNode =
  | { kind: 'bmm_f32'; op: number; x: Ref; y: Ref; out: Ref; d: BmmDims }
  /** scratch: the WASM kernel's packed i16 operands ((M + N) · kPad i16) */
  | { kind: 'bmm_i8'; op: number; x: Ref; y: Ref; out: Ref; scratch: Ref; d: BmmDims; p: BmmI8Params };

function prepare(ctx: PrepareContext, op: OpDef, where: string): void {
  const i = op.index;
  ctx.needInputs(op, 2, 2);
  const [xt, yt] = [op.inputs[0]!, op.inputs[1]!];
  const { adjX, adjY } = op.options;
  if (op.options.asymmetricQuantizeInputs) ctx.unsupported(`${where}: hybrid (asymmetric_quantize_inputs) BATCH_MATMUL is not supported`);
  const dx = ctx.dtypeIn(xt, where, ['float32', 'int8']);
  const dy = ctx.dtypeIn(yt, where, ['float32', 'int8']);
  if (dx !== dy) ctx.unsupported(`${where}: mixed input types ${dx} and ${dy} (hybrid BATCH_MATMUL is not supported)`);
  const sx = ctx.shapeOf(xt);
  const sy = ctx.shapeOf(yt);
  if (sx.length !== 3 || sy.length !== 3) {
    ctx.shapeErr(`${where}: inputs have shapes [${sx.join(',')}] and [${sy.join(',')}]; this runtime's BATCH_MATMUL takes rank 3 ([B, M, K] × [B, K, N])`);
  }
  if (sx[0] !== sy[0]) {
    ctx.shapeErr(`${where}: batch ${sx[0]} of ${ctx.tensorName(xt)} differs from batch ${sy[0]} of ${ctx.tensorName(yt)} (batch broadcasting is not supported)`);
  }
  const [batch, m, k] = adjX ? [sx[0]!, sx[2]!, sx[1]!] : [sx[0]!, sx[1]!, sx[2]!];
  const [ky, n] = adjY ? [sy[2]!, sy[1]!] : [sy[1]!, sy[2]!];
  if (k !== ky) {
    ctx.shapeErr(`${where}: inner dimensions differ — ${ctx.tensorName(xt)} [${sx.join(',')}]${adjX ? ' (adj_x)' : ''} has K = ${k}, ${ctx.tensorName(yt)} [${sy.join(',')}]${adjY ? ' (adj_y)' : ''} has K = ${ky}`);
  }
  if (m === 0 || n === 0 || k === 0) ctx.shapeErr(`${where}: empty dimension in [${sx.join(',')}] × [${sy.join(',')}]`);
  const d: BmmDims = { batch, m, k, n, adjX, adjY };
  const x = ctx.read(xt, i);
  const y = ctx.read(yt, i);
  const ot = op.outputs[0]!;
  if (dx === 'float32') {
    const out = ctx.write(ot, i, [batch, m, n], 'float32');
    ctx.emit({ kind: 'bmm_f32', op: i, x, y, out, d } satisfies BmmNode);
    return;
  }
  const qx = ctx.quantOf(xt, where);
  const qy = ctx.quantOf(yt, where);
  const qo = ctx.quantOf(ot, where);
  const [mult, shift] = quantizeMultiplier((qx.scale * qy.scale) / qo.scale);
  const out = ctx.write(ot, i, [batch, m, n], 'int8');
  const scratch = ctx.scratch(`bmm${i}:packed`, (m + n) * alignUp(k, 8) * 2, i);
  ctx.emit({ kind: 'bmm_i8', op: i, x, y, out, scratch, d, p: { xZp: qx.zp, yZp: qy.zp, outZp: qo.zp, mult, shift } } satisfies BmmNode);
}

function bindWasm(nd: BmmNode, bc: BindContext): () => void {
  const kk = kernels(bc).k;
  const [x, y, out] = [bc.abs(nd.x), bc.abs(nd.y), bc.abs(nd.out)];
  const { batch, m, k, n } = nd.d;
  const [ax, ay] = [nd.d.adjX ? 1 : 0, nd.d.adjY ? 1 : 0];
  if (nd.kind === 'bmm_f32') return () => kk.bmm_f32(x, y, out, batch, m, k, n, ax, ay);
  const { xZp, yZp, mult, shift, outZp } = nd.p;
  const scratch = bc.abs(nd.scratch);
  return () => kk.bmm_i8(x, y, out, batch, m, k, n, ax, ay, xZp, yZp, mult, shift, outZp, scratch);
}

function bindReference(nd: BmmNode, bc: BindContext): () => void {
  const { batch, m, k, n } = nd.d;
  const d = nd.d;
  if (nd.kind === 'bmm_f32') {
    const x = f32View(bc, nd.x, batch * m * k), y = f32View(bc, nd.y, batch * k * n), out = f32View(bc, nd.out, batch * m * n);
    return () => ref.bmmF32(x, y, out, d);
  }
  const x = i8View(bc, nd.x, batch * m * k), y = i8View(bc, nd.y, batch * k * n), out = i8View(bc, nd.out, batch * m * n);
  const p = nd.p;
  return () => ref.bmmI8(x, y, out, d, p);
}

export const BATCH_MATMUL: OpUnit<BmmNode> = { name: 'BATCH_MATMUL', code: BuiltinOperator.BATCH_MATMUL, prepare, bindWasm, bindReference };
