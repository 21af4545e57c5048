/**
 * A self-attention block as .tflite for the runtime's tests (the attention ops in context, not the
 * exporter): x [B, T·D] → RESHAPE [B·T, D] → three FCs (Q with the 1/√C scale folded in, K, V) →
 * RESHAPE [B, T, C] → Q·Kᵀ (BATCH_MATMUL adj_y) → SOFTMAX → ·V (BATCH_MATMUL) → RESHAPE [B·T, C] →
 * FC C → D → RESHAPE [B, T·D]. int8: per-tensor, calibrated by a float64 forward of the same block.
 */
import { Rng } from '../../src/util/rng.js';
import { activationQParams, GraphBuilder, quantizeWeights, type QParams } from './graph-builder.js';

export interface AttentionGraphOptions { batch: number; tokens: number; channels: number; quant: 'fp32' | 'int8'; seed: number; dModel?: number }

export function attentionGraph(o: AttentionGraphOptions): { bytes: Uint8Array; inputSize: number; outStep: number } {
  const { batch: B, tokens: T, channels: C } = o;
  const D = o.dModel ?? 4;
  const rng = new Rng(o.seed);
  const mat = (rows: number, cols: number, s: number): Float32Array => Float32Array.from({ length: rows * cols }, () => (rng.uniform() * 2 - 1) * s);
  const Wq = mat(C, D, 1 / Math.sqrt(C)), Wk = mat(C, D, 1), Wv = mat(C, D, 1), Wo = mat(D, C, 0.5);
  const bq = mat(1, C, 0.1), bk = mat(1, C, 0.1), bv = mat(1, C, 0.1), bo = mat(1, D, 0.1);

  // float64 forward on calibration rows: ranges of every intermediate
  const ranges: Record<string, [number, number]> = {};
  const see = (k: string, v: number): void => { const r = (ranges[k] ??= [Infinity, -Infinity]); r[0] = Math.min(r[0], v); r[1] = Math.max(r[1], v); };
  const fc = (x: number[], W: Float32Array, b: Float32Array, out: number, key: string): number[] => Array.from({ length: out }, (_, r) => {
    let s = b[r]!;
    for (let i = 0; i < x.length; i++) s += W[r * x.length + i]! * x[i]!;
    see(key, s);
    return s;
  });
  for (let c = 0; c < 32; c++) {
    const tok = Array.from({ length: T }, (_, t) => Array.from({ length: D }, (_, i) => { const v = Math.sin(c * 12.9898 + (t * D + i) * 78.233); see('x', v); return v; }));
    const q = tok.map((x) => fc(x, Wq, bq, C, 'q')), k = tok.map((x) => fc(x, Wk, bk, C, 'k')), v = tok.map((x) => fc(x, Wv, bv, C, 'v'));
    for (let t = 0; t < T; t++) {
      const logits = k.map((kk) => { const s = q[t]!.reduce((a, qi, i) => a + qi * kk[i]!, 0); see('s', s); return s; });
      const mx = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - mx));
      const sum = e.reduce((a, b) => a + b, 0);
      const ctx = Array.from({ length: C }, (_, j) => { const a = e.reduce((acc, w, s) => acc + (w / sum) * v[s]![j]!, 0); see('ctx', a); return a; });
      fc(ctx, Wo, bo, D, 'out');
    }
  }
  const int8 = o.quant === 'int8';
  const qp = (k: string): QParams => activationQParams(ranges[k]![0] * 1.1, ranges[k]![1] * 1.1);
  const g = new GraphBuilder();
  const x = g.input('x', [B, T * D]);
  const shape = (name: string, s: number[]): number => g.constI32(name, [s.length], Int32Array.from(s));
  const act = (name: string, s: number[], q?: QParams): number => (int8 ? g.tensor(name, s, 'int8', q) : g.tensor(name, s));
  let xin = x;
  const qx = qp('x');
  if (int8) { xin = g.tensor('x_q', [B, T * D], 'int8', qx); g.op('QUANTIZE', [x], [xin], { version: 2 }); }
  const xt = act('tokens', [B * T, D], qx); g.op('RESHAPE', [xin, shape('tok_shape', [B * T, D])], [xt]);
  const dense = (name: string, inp: number, inQ: QParams, W: Float32Array, b: Float32Array, rows: number, cols: number, outQ: QParams): number => {
    const y = act(name, [B * T, rows], outQ);
    if (int8) {
      const wq = quantizeWeights(W);
      const bias = Int32Array.from(b, (v) => Math.round(v / (inQ.scale * wq.scale)));
      g.op('FULLY_CONNECTED', [inp, g.constI8(`${name}_w`, [rows, cols], wq.q, { scale: wq.scale, zeroPoint: 0 }), g.constI32(`${name}_b`, [rows], bias, { scale: inQ.scale * wq.scale, zeroPoint: 0 })], [y], { version: 4 });
    } else {
      g.op('FULLY_CONNECTED', [inp, g.constF32(`${name}_w`, [rows, cols], W), g.constF32(`${name}_b`, [rows], b)], [y]);
    }
    return y;
  };
  const split = (name: string, flat: number, q: QParams): number => {
    const y = act(name, [B, T, C], q); g.op('RESHAPE', [flat, shape(`${name}_shape`, [B, T, C])], [y]); return y;
  };
  const q = split('q3', dense('q', xt, qx, Wq, bq, C, D, qp('q')), qp('q'));
  const k = split('k3', dense('k', xt, qx, Wk, bk, C, D, qp('k')), qp('k'));
  const v = split('v3', dense('v', xt, qx, Wv, bv, C, D, qp('v')), qp('v'));
  const s = act('scores', [B, T, T], qp('s')); g.op('BATCH_MATMUL', [q, k], [s], { adjY: true, version: int8 ? 2 : 1 });
  const a = act('attn', [B, T, T], { scale: 1 / 256, zeroPoint: -128 }); g.op('SOFTMAX', [s], [a], { beta: 1, version: int8 ? 2 : 1 });
  const cx = act('ctx', [B, T, C], qp('ctx')); g.op('BATCH_MATMUL', [a, v], [cx], { version: int8 ? 2 : 1 });
  const cf = act('ctx_flat', [B * T, C], qp('ctx')); g.op('RESHAPE', [cx, shape('ctx_shape', [B * T, C])], [cf]);
  const out = dense('proj', cf, qp('ctx'), Wo, bo, D, C, qp('out'));
  const of = act('out_flat', [B, T * D], qp('out')); g.op('RESHAPE', [out, shape('out_shape', [B, T * D])], [of]);
  let y = of;
  if (int8) { y = g.tensor('y', [B, T * D]); g.op('DEQUANTIZE', [of], [y], { version: 2 }); }
  g.output(y);
  return { bytes: g.finish(), inputSize: T * D, outStep: int8 ? qp('out').scale : 0 };
}
