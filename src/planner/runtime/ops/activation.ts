/**
 * The unary activations (RELU, RELU6, RELU_N1_TO_1, TANH, LOGISTIC) share one shape: float32 runs a
 * WASM/TS kernel, int8 compiles to a lookup table. `activationOp` builds the unit for one of them from
 * its float kernel and its int8 table.
 */
import * as ref from '../reference-kernels.js';
import type { OpDef } from '../tflite-model.js';
import { bindLutReference, bindLutWasm, type LutNode } from './lut.js';
import { f32View, kernels, type BindContext, type OpUnit, type PrepareContext, type QuantParams, type Ref } from './op-unit.js';

export type UnaryF32Node =
  | { kind: 'clamp_f32'; op: number; x: Ref; y: Ref; count: number; lo: number; hi: number }
  | { kind: 'tanh_f32' | 'logistic_f32'; op: number; x: Ref; y: Ref; count: number };
export type ActivationNode = UnaryF32Node | LutNode;

export interface ActivationSpec {
  name: string;
  code: number;
  /** the float32 node for count elements (x, y already placed) */
  float(op: number, x: Ref, y: Ref, count: number): UnaryF32Node;
  /** the int8 table for these input/output quantizations */
  lut(qi: QuantParams, qo: QuantParams, xnn: boolean): Int8Array;
}

export function activationOp(spec: ActivationSpec): OpUnit<ActivationNode> {
  const prepare = (ctx: PrepareContext, op: OpDef, where: string): void => {
    const i = op.index;
    ctx.needInputs(op, 1, 1);
    const xt = op.inputs[0]!;
    const dtype = ctx.dtypeIn(xt, where, ['float32', 'int8']);
    const s = ctx.shapeOf(xt);
    const count = s.reduce((a, d) => a * d, 1);
    const x = ctx.read(xt, i);
    const ot = op.outputs[0]!;
    if (dtype === 'float32') {
      const y = ctx.write(ot, i, s.slice(), 'float32');
      ctx.emit(spec.float(i, x, y, count));
      return;
    }
    const lut = spec.lut(ctx.quantOf(xt, where), ctx.quantOf(ot, where), ctx.xnn);
    const lr = ctx.persistent(`op${i}:lut`, new Uint8Array(lut.buffer));
    const y = ctx.write(ot, i, s.slice(), 'int8');
    ctx.emit({ kind: 'lut_i8', op: i, x, y, count, lut: lr } satisfies LutNode);
  };

  const bindWasm = (n: ActivationNode, bc: BindContext): () => void => {
    if (n.kind === 'lut_i8') return bindLutWasm(n, bc);
    const k = kernels(bc).k;
    const [x, y, c] = [bc.abs(n.x), bc.abs(n.y), n.count];
    switch (n.kind) {
      case 'clamp_f32': { const [lo, hi] = [n.lo, n.hi]; return () => k.clamp_f32(x, y, c, lo, hi); }
      case 'tanh_f32': return () => k.tanh_f32(x, y, c);
      case 'logistic_f32': return () => k.logistic_f32(x, y, c);
    }
  };

  const bindReference = (n: ActivationNode, bc: BindContext): () => void => {
    if (n.kind === 'lut_i8') return bindLutReference(n, bc);
    const x = f32View(bc, n.x, n.count), y = f32View(bc, n.y, n.count);
    switch (n.kind) {
      case 'clamp_f32': { const { lo, hi } = n; return () => ref.clampF32(x, y, lo, hi); }
      case 'tanh_f32': return () => ref.tanhF32(x, y);
      case 'logistic_f32': return () => ref.logisticF32(x, y);
    }
  };

  return { name: spec.name, code: spec.code, prepare, bindWasm, bindReference };
}
