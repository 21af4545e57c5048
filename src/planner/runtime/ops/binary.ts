/**
 * ADD and MUL share everything but the arithmetic: type checks, the suffix broadcast (the only one the
 * kernels implement: an operand repeats), the float clamp and the int8 requantization. `binaryOp`
 * builds the unit for one of them.
 */
import { numElements, type OpDef } from '../tflite-model.js';
import { quantizeMultiplier, quantizedActivationRange } from '../quant.js';
import * as ref from '../reference-kernels.js';
import type { AddI8Params, MulI8Params } from '../reference-kernels.js';
import { actOf, f32View, floatRange, i8View, kernels, sameShape, type BindContext, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

interface BinaryBase { op: number; a: Ref; b: Ref; y: Ref; countA: number; countB: number; count: number }
export type BinaryNode =
  | BinaryBase & { kind: 'add_f32' | 'mul_f32'; lo: number; hi: number }
  | BinaryBase & { kind: 'add_i8'; p: AddI8Params }
  | BinaryBase & { kind: 'mul_i8'; p: MulI8Params };

/** Output shape of a suffix broadcast. */
function broadcastShape(ctx: PrepareContext, a: readonly number[], b: readonly number[], where: string): number[] {
  const [big, small] = numElements(a) >= numElements(b) ? [a, b] : [b, a];
  if (sameShape(a, b)) return a.slice();
  const ns = numElements(small);
  if (ns === 1 && small.every((d) => d === 1)) return big.slice();
  // strip leading 1s of the small operand; it must equal the trailing dims of the big one
  let k = 0;
  while (k < small.length - 1 && small[k] === 1) k++;
  const core = small.slice(k);
  const tail = big.slice(big.length - core.length);
  if (core.length <= big.length && sameShape(core, tail) && small.length <= big.length) return big.slice();
  return ctx.unsupported(`${where}: broadcast of [${a.join(',')}] with [${b.join(',')}] is not supported (only equal shapes, scalars and trailing-dimension broadcast)`);
}

export function binaryOp(name: 'ADD' | 'MUL', code: number): OpUnit<BinaryNode> {
  const isAdd = name === 'ADD';
  const prepare = (ctx: PrepareContext, op: OpDef, where: string): void => {
    const i = op.index;
    ctx.needInputs(op, 2, 2);
    const [at, bt] = [op.inputs[0]!, op.inputs[1]!];
    const act = actOf(ctx, op.options.fusedActivation, where);
    const da = ctx.dtypeIn(at, where, ['float32', 'int8']);
    const db = ctx.dtypeIn(bt, where, ['float32', 'int8']);
    if (da !== db) ctx.unsupported(`${where}: mixed input types ${da} and ${db}`);
    const sa = ctx.shapeOf(at);
    const sb = ctx.shapeOf(bt);
    const outShape = broadcastShape(ctx, sa, sb, where);
    const count = numElements(outShape);
    const a = ctx.read(at, i);
    const b = ctx.read(bt, i);
    const countA = numElements(sa);
    const countB = numElements(sb);
    if (da === 'float32') {
      const y = ctx.write(op.outputs[0]!, i, outShape, 'float32');
      const [lo, hi] = floatRange(act);
      ctx.emit({ kind: isAdd ? 'add_f32' : 'mul_f32', op: i, a, b, y, countA, countB, count, lo, hi } satisfies BinaryNode);
      return;
    }
    const qa = ctx.quantOf(at, where);
    const qb = ctx.quantOf(bt, where);
    const qo = ctx.quantOf(op.outputs[0]!, where);
    const y = ctx.write(op.outputs[0]!, i, outShape, 'int8');
    const [lo, hi] = quantizedActivationRange(act, qo.scale, qo.zp);
    if (isAdd) {
      const leftShift = 20;
      const twiceMax = 2 * Math.max(qa.scale, qb.scale);
      const [aMult, aShift] = quantizeMultiplier(qa.scale / twiceMax);
      const [bMult, bShift] = quantizeMultiplier(qb.scale / twiceMax);
      const [outMult, outShift] = quantizeMultiplier(twiceMax / ((1 << leftShift) * qo.scale));
      ctx.emit({ kind: 'add_i8', op: i, a, b, y, countA, countB, count,
        p: { aZp: qa.zp, bZp: qb.zp, outZp: qo.zp, leftShift, aMult, aShift, bMult, bShift, outMult, outShift, lo, hi } } satisfies BinaryNode);
    } else {
      const [mult, shift] = quantizeMultiplier((qa.scale * qb.scale) / qo.scale);
      const fpScale = ctx.xnn ? Math.fround(Math.fround(qa.scale * qb.scale) / qo.scale) : 0;
      ctx.emit({ kind: 'mul_i8', op: i, a, b, y, countA, countB, count, p: { aZp: qa.zp, bZp: qb.zp, outZp: qo.zp, mult, shift, fpScale, lo, hi } } satisfies BinaryNode);
    }
  };

  const bindWasm = (n: BinaryNode, bc: BindContext): () => void => {
    const k = kernels(bc).k;
    const [a, b, y, c, na, nb] = [bc.abs(n.a), bc.abs(n.b), bc.abs(n.y), n.count, n.countA, n.countB];
    switch (n.kind) {
      case 'add_f32': case 'mul_f32': {
        const [lo, hi] = [n.lo, n.hi];
        return n.kind === 'add_f32' ? () => k.add_f32(a, b, y, c, na, nb, lo, hi) : () => k.mul_f32(a, b, y, c, na, nb, lo, hi);
      }
      case 'add_i8': {
        const p = n.p;
        const [aZp, bZp, ls, am, as, bm, bs, om, os, oz, lo, hi] = [p.aZp, p.bZp, p.leftShift, p.aMult, p.aShift, p.bMult, p.bShift, p.outMult, p.outShift, p.outZp, p.lo, p.hi];
        return () => k.add_i8(a, b, y, c, na, nb, aZp, bZp, ls, am, as, bm, bs, om, os, oz, lo, hi);
      }
      case 'mul_i8': {
        const p = n.p;
        const [aZp, bZp, m, sh, fp, oz, lo, hi] = [p.aZp, p.bZp, p.mult, p.shift, p.fpScale, p.outZp, p.lo, p.hi];
        return () => k.mul_i8(a, b, y, c, na, nb, aZp, bZp, m, sh, fp, oz, lo, hi);
      }
    }
  };

  const bindReference = (n: BinaryNode, bc: BindContext): () => void => {
    switch (n.kind) {
      case 'add_f32': case 'mul_f32': {
        const a = f32View(bc, n.a, n.countA), b = f32View(bc, n.b, n.countB), y = f32View(bc, n.y, n.count);
        const { lo, hi } = n;
        return n.kind === 'add_f32' ? () => ref.addF32(a, b, y, lo, hi) : () => ref.mulF32(a, b, y, lo, hi);
      }
      case 'add_i8': { const a = i8View(bc, n.a, n.countA), b = i8View(bc, n.b, n.countB), y = i8View(bc, n.y, n.count); const p = n.p; return () => ref.addI8(a, b, y, p); }
      case 'mul_i8': { const a = i8View(bc, n.a, n.countA), b = i8View(bc, n.b, n.countB), y = i8View(bc, n.y, n.count); const p = n.p; return () => ref.mulI8(a, b, y, p); }
    }
  };

  return { name, code, prepare, bindWasm, bindReference };
}
