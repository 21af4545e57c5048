/**
 * FULLY_CONNECTED: float32 (packed [outPad/8][inDim][8]) and int8 per-tensor, which prepare routes to
 * one of three kernels: the native module (fc_q8n), the relaxed-SIMD 6-bit kernel (fc_i6, weights all in
 * [-32, 31]) or the WASM int8 kernel (fc_i8). Requantization follows the chosen Numerics.
 */
import { KdpError } from '../../../errors.js';
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { packF32Weights, packInt8Weights } from '../fc-layout.js';
import { foldI6Bias, fitsI6, I6_OFFSET, packI6Weights } from '../i6-layout.js';
import { alignUp } from '../memory-planner.js';
import { foldNativeBias, nativeInPad, nativeOutPad, packNativeWeights } from '../native-layout.js';
import { quantizeMultiplier, quantizedActivationRange } from '../quant.js';
import * as ref from '../reference-kernels.js';
import { numElements, typeName, type OpDef } from '../tflite-model.js';
import { actOf, f32View, floatRange, i8View, kernels, type BindContext, type NativeOpDescriptor, type OpUnit, type PrepareContext, type Ref } from './op-unit.js';

export type FcNode =
  | { kind: 'fc_f32'; op: number; x: Ref; xi: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; outDim: number; lo: number; hi: number }
  | { kind: 'fc_i8'; op: number; x: Ref; xs: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; inPad: number; outDim: number;
      inZp: number; mult: number; shift: number; fpScale: number; outZp: number; lo: number; hi: number;
      /** weights packed as int8 (batch < 4) instead of pre-widened i16 */
      w8: boolean }
  /** int8 FC with every weight in [-32, 31], on the relaxed-SIMD kernel (src/wasm/kdp_kernels_relaxed.ts) */
  | { kind: 'fc_i6'; op: number; x: Ref; xp: Ref; corr: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; inPad: number; outDim: number;
      mult: number; shift: number; fpScale: number; outZp: number; lo: number; hi: number }
  /** int8 FC on the native kernels (src/native/, layout in native-layout.ts) */
  | { kind: 'fc_q8n'; op: number; x: Ref; xp: Ref; w: Ref; b: Ref; y: Ref; rows: number; inDim: number; inPad: number; outDim: number;
      mult: number; shift: number; fpScale: number; outZp: number; lo: number; hi: number; i6: boolean };

function prepare(ctx: PrepareContext, op: OpDef, where: string): void {
  const { g } = ctx;
  const i = op.index;
  ctx.needInputs(op, 2, 3);
  const [xt, wt] = [op.inputs[0]!, op.inputs[1]!];
  const bt = op.inputs[2] ?? -1;
  const o = op.options;
  if (o.weightsFormat !== 0) ctx.unsupported(`${where}: weights format ${o.weightsFormat} (shuffled) is not supported`);
  const act = actOf(ctx, o.fusedActivation, where);
  const wd = g.tensors[wt]!;
  if (!wd.data) ctx.unsupported(`${where}: weights ${ctx.tensorName(wt)} are not constant`);
  if (wd.shape.length !== 2) ctx.shapeErr(`${where}: weights ${ctx.tensorName(wt)} have shape [${wd.shape.join(',')}], expected [units, inputs]`);
  const [outDim, inDim] = [wd.shape[0]!, wd.shape[1]!];
  if (inDim === 0 || outDim === 0) ctx.shapeErr(`${where}: weights have an empty dimension`);
  const xs = ctx.shapeOf(xt);
  const xDtype = ctx.dtypeIn(xt, where, ['float32', 'int8']);
  const xn = numElements(xs);
  if (xn % inDim !== 0) ctx.shapeErr(`${where}: input ${ctx.tensorName(xt)} [${xs.join(',')}] is not a multiple of the weights' input size ${inDim}`);
  const rows = xn / inDim;
  const outShape = o.keepNumDims ? [...xs.slice(0, -1), outDim] : [rows, outDim];
  if (bt >= 0) {
    const bd = g.tensors[bt]!;
    if (!bd.data) ctx.unsupported(`${where}: bias ${ctx.tensorName(bt)} is not constant`);
    if (numElements(bd.shape) !== outDim) ctx.shapeErr(`${where}: bias ${ctx.tensorName(bt)} has ${numElements(bd.shape)} elements, expected ${outDim}`);
  }
  const x = ctx.read(xt, i);
  if (xDtype === 'float32') {
    if (wd.dtype !== 'float32') ctx.unsupported(`${where}: hybrid FULLY_CONNECTED (float32 input, ${typeName(wd.typeCode)} weights) is not supported`);
    if (bt >= 0 && g.tensors[bt]!.dtype !== 'float32') ctx.unsupported(`${where}: float32 FULLY_CONNECTED with ${typeName(g.tensors[bt]!.typeCode)} bias`);
    const outPad = alignUp(outDim, 8);
    const w = ctx.persistent(`fc${i}:W(packed ${outPad}x${inDim} f32)`, packF32Weights(wd.data!, outDim, inDim));
    let b: Ref = -1;
    if (bt >= 0) {
      const padded = new Uint8Array(outPad * 4);
      padded.set(g.tensors[bt]!.data!);
      b = ctx.persistent(`fc${i}:b`, padded);
    }
    const xi = ctx.scratch(`fc${i}:scratch`, ctx.native ? 0 : (rows - (rows % 4)) * inDim * 4, i);
    const y = ctx.write(op.outputs[0]!, i, outShape, 'float32');
    const [lo, hi] = floatRange(act);
    ctx.emit({ kind: 'fc_f32', op: i, x, xi, w, b, y, rows, inDim, outDim, lo, hi } satisfies FcNode);
    return;
  }
  if (wd.dtype !== 'int8') ctx.unsupported(`${where}: int8 FULLY_CONNECTED with ${typeName(wd.typeCode)} weights`);
  if (bt >= 0 && g.tensors[bt]!.dtype !== 'int32') ctx.unsupported(`${where}: int8 FULLY_CONNECTED needs an INT32 bias, got ${typeName(g.tensors[bt]!.typeCode)}`);
  const qi = ctx.quantOf(xt, where);
  const qw = ctx.quantOf(wt, where);
  if (qw.zp !== 0) ctx.unsupported(`${where}: weights zero point ${qw.zp} (TFLite int8 weights are symmetric, zero point 0)`);
  const qo = ctx.quantOf(op.outputs[0]!, where);
  const inPad = alignUp(inDim, 8);
  const outPad = alignUp(outDim, 8);
  const [mult, shift] = quantizeMultiplier((qi.scale * qw.scale) / qo.scale);
  const fpScale = ctx.xnn ? Math.fround(Math.fround(qi.scale * qw.scale) / qo.scale) : 0;
  const [lo, hi] = quantizedActivationRange(act, qo.scale, qo.zp);
  if (ctx.native) {
    const bias = bt >= 0 ? new Int32Array(Uint8Array.from(g.tensors[bt]!.data!).buffer, 0, outDim) : null;
    const nIn = nativeInPad(inDim);
    const w = ctx.persistent(`fc${i}:W(packed ${nativeOutPad(outDim)}x${nIn} i8, native)`, packNativeWeights(wd.data!, outDim, inDim));
    const b = ctx.persistent(`fc${i}:bias(folded)`, foldNativeBias(wd.data!, bias, outDim, inDim, qi.zp, ctx.native.xOffset));
    const xp = ctx.scratch(`fc${i}:scratch`, rows * nIn, i);
    const y = ctx.write(op.outputs[0]!, i, outShape, 'int8');
    ctx.emit({ kind: 'fc_q8n', op: i, x, xp, w, b, y, rows, inDim, inPad: nIn, outDim, mult, shift, fpScale, outZp: qo.zp, lo, hi, i6: fitsI6(wd.data!) } satisfies FcNode);
    return;
  }
  if (ctx.relaxedI6 && fitsI6(wd.data!)) {
    // copy before viewing as int32: the tensor data may be an unaligned view into the file (a Buffer)
    const bias = bt >= 0 ? new Int32Array(Uint8Array.from(g.tensors[bt]!.data!).buffer, 0, outDim) : null;
    const w = ctx.persistent(`fc${i}:W(packed ${outPad}x${inPad} u6)`, packI6Weights(wd.data!, outDim, inDim));
    const b = ctx.persistent(`fc${i}:bias(folded)`, foldI6Bias(wd.data!, bias, outDim, inDim, qi.zp));
    const xp = ctx.scratch(`fc${i}:scratch`, rows * inPad, i);
    const corr = ctx.scratch(`fc${i}:rowsums`, rows * 4, i);
    const y = ctx.write(op.outputs[0]!, i, outShape, 'int8');
    ctx.emit({ kind: 'fc_i6', op: i, x, xp, corr, w, b, y, rows, inDim, inPad, outDim, mult, shift, fpScale, outZp: qo.zp, lo, hi } satisfies FcNode);
    return;
  }
  // below 4 candidates the kernel only runs its 1-candidate path, which is bound by the bytes it
  // streams: keep int8 there; from 4 up, pre-widened i16 weights make the blocked path faster
  const w8 = rows < 4;
  const w = ctx.persistent(`fc${i}:W(packed ${outPad}x${inPad} ${w8 ? 'i8' : 'i16'})`, packInt8Weights(wd.data!, outDim, inDim, w8));
  let b: Ref = -1;
  if (bt >= 0) {
    const padded = new Uint8Array(outPad * 4);
    padded.set(g.tensors[bt]!.data!);
    b = ctx.persistent(`fc${i}:bias`, padded);
  }
  const xsRef = ctx.scratch(`fc${i}:scratch`, rows * inPad * 2, i);
  const y = ctx.write(op.outputs[0]!, i, outShape, 'int8');
  ctx.emit({ kind: 'fc_i8', op: i, x, xs: xsRef, w, b, y, rows, inDim, inPad, outDim, inZp: qi.zp, mult, shift, fpScale, outZp: qo.zp, lo, hi, w8 } satisfies FcNode);
}

function bindWasm(n: FcNode, bc: BindContext): () => void {
  const w = kernels(bc);
  const k = w.k;
  const abs = bc.abs;
  switch (n.kind) {
    case 'fc_f32': {
      const [x, xi, wt, b, y] = [abs(n.x), abs(n.xi), abs(n.w), n.b >= 0 ? abs(n.b) : 0, abs(n.y)];
      const { rows, inDim, outDim, lo, hi } = n;
      const hasB = n.b >= 0 ? 1 : 0;
      if (rows < 4) return () => k.fc_f32(x, xi, wt, b, y, rows, inDim, outDim, hasB, lo, hi);
      return () => {
        k.interleave_f32(x, xi, rows, inDim);
        k.fc_f32(x, xi, wt, b, y, rows, inDim, outDim, hasB, lo, hi);
      };
    }
    case 'fc_i8': {
      const [x, xs, wt, b, y] = [abs(n.x), abs(n.xs), abs(n.w), n.b >= 0 ? abs(n.b) : 0, abs(n.y)];
      const { rows, inDim, inPad, outDim, inZp, mult, shift, fpScale, outZp, lo, hi } = n;
      const hasB = n.b >= 0 ? 1 : 0;
      const w8 = n.w8 ? 1 : 0;
      return () => {
        k.expand_i8(x, xs, rows, inDim, inPad, inZp);
        k.fc_i8(xs, wt, b, y, rows, inPad, outDim, hasB, mult, shift, fpScale, outZp, lo, hi, w8);
      };
    }
    case 'fc_i6': {
      const r = w.r;
      if (!r) throw new KdpError('E_INTERNAL', 'fc_i6 node without the relaxed-SIMD module', { hint: 'report a bug; set KDP_RELAXED_SIMD=0 to work around it' });
      const [x, xp, corr, wt, b, y] = [abs(n.x), abs(n.xp), abs(n.corr), abs(n.w), abs(n.b), abs(n.y)];
      const { rows, inDim, inPad, outDim, mult, shift, fpScale, outZp, lo, hi } = n;
      return () => {
        r.pack_x(x, xp, corr, rows, inDim, inPad, I6_OFFSET);
        r.fc_i6(xp, corr, wt, b, y, rows, inPad, outDim, mult, shift, fpScale, outZp, lo, hi);
      };
    }
    case 'fc_q8n':
      throw new Error('internal: an fc_q8n node is bound by the native backend only');
  }
}

function bindReference(n: FcNode, bc: BindContext): () => void {
  switch (n.kind) {
    case 'fc_f32': {
      const x = f32View(bc, n.x, n.rows * n.inDim);
      const w = f32View(bc, n.w, Math.ceil(n.outDim / 8) * 8 * n.inDim);
      const b = n.b >= 0 ? f32View(bc, n.b, n.outDim) : null;
      const y = f32View(bc, n.y, n.rows * n.outDim);
      const { rows, inDim, outDim, lo, hi } = n;
      return () => ref.fcF32(x, w, b, y, rows, inDim, outDim, lo, hi);
    }
    case 'fc_i8': {
      const x = i8View(bc, n.x, n.rows * n.inDim);
      const wCount = Math.ceil(n.outDim / 8) * 8 * n.inPad;
      const w = n.w8 ? new Int8Array(bc.buffer, bc.abs(n.w), wCount) : new Int16Array(bc.buffer, bc.abs(n.w), wCount);
      const b = n.b >= 0 ? new Int32Array(bc.buffer, bc.abs(n.b), n.outDim) : null;
      const y = i8View(bc, n.y, n.rows * n.outDim);
      const { rows, inDim, inPad, outDim, inZp, mult, shift, fpScale, outZp, lo, hi } = n;
      return () => ref.fcI8(x, w, b, y, rows, inDim, inPad, outDim, inZp, mult, shift, fpScale, outZp, lo, hi);
    }
    case 'fc_i6': {
      const x = i8View(bc, n.x, n.rows * n.inDim);
      const w = new Uint8Array(bc.buffer, bc.abs(n.w), Math.ceil(n.outDim / 8) * 8 * n.inPad);
      const b = new Int32Array(bc.buffer, bc.abs(n.b), n.outDim);
      const y = i8View(bc, n.y, n.rows * n.outDim);
      const { rows, inDim, inPad, outDim, mult, shift, fpScale, outZp, lo, hi } = n;
      return () => ref.fcI6(x, w, b, y, rows, inDim, inPad, outDim, mult, shift, fpScale, outZp, lo, hi);
    }
    case 'fc_q8n':
      throw new Error('internal: an fc_q8n node is bound by the native backend only');
  }
}

/** The native module runs both FC kinds prepared for it (argument layout: `addOp` in src/native/kdp_native.c). */
function bindNative(n: FcNode, bc: BindContext): NativeOpDescriptor | null {
  const abs = bc.abs;
  if (n.kind === 'fc_q8n') {
    return { ints: [1, abs(n.x), abs(n.xp), abs(n.w), abs(n.b), abs(n.y), n.rows, n.inDim, n.inPad, n.outDim, n.mult, n.shift, n.outZp, n.lo, n.hi, n.i6 ? 1 : 0], floats: [n.fpScale, 0, 0] };
  }
  if (n.kind === 'fc_f32') {
    return { ints: [2, abs(n.x), 0, abs(n.w), n.b >= 0 ? abs(n.b) : -1, abs(n.y), n.rows, n.inDim, n.inDim, n.outDim, 0, 0, 0, 0, 0, 0], floats: [0, n.lo, n.hi] };
  }
  return null;
}

export const FULLY_CONNECTED: OpUnit<FcNode> = { name: 'FULLY_CONNECTED', code: BuiltinOperator.FULLY_CONNECTED, prepare, bindWasm, bindReference, bindNative };
