/**
 * The exporter's activation arena figure (`MlpExport.arenaBytes`), placed by the runtime's planner
 * (runtime/memory-planner.ts, greedy by size: the scheme TFLite Micro's GreedyMemoryPlanner uses).
 *
 * Every non-constant tensor (graph inputs, activations, graph outputs) gets an offset in one arena;
 * two tensors may share bytes only if their lifetimes [first op that writes/needs it, last op that
 * reads it] do not overlap. Graph inputs live from op 0, graph outputs until the last op. Tensors are
 * placed largest first, each at the lowest 16-byte-aligned offset that does not collide with an
 * already placed, lifetime-overlapping tensor. `arenaBytes` is the end of the highest placement.
 *
 * This is a *plan*, not an upper bound: it excludes constants (they stay in the model bytes) and any
 * kernel scratch (e.g. int32 accumulators) a runtime may add.
 */
import type { GraphDef } from './tflite-writer.js';
import { TensorType } from '../tflite/generated/tflite/tensor-type.js';
import { ARENA_ALIGN, planGreedy } from '../runtime/memory-planner.js';

export interface ArenaPlan { arenaBytes: number; offsets: Map<number, number> }

const ELEM: Partial<Record<TensorType, number>> = {
  [TensorType.FLOAT32]: 4, [TensorType.INT32]: 4, [TensorType.INT8]: 1, [TensorType.UINT8]: 1, [TensorType.INT16]: 2,
};

/** Lifetimes from a GraphDef (ops in execution order). */
export function planGraphArena(g: GraphDef, alignment = ARENA_ALIGN): ArenaPlan {
  const lastOp = Math.max(0, g.ops.length - 1);
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const touch = (t: number, i: number): void => {
    if (g.tensors[t]?.data) return;
    if (!first.has(t)) first.set(t, i);
    last.set(t, Math.max(last.get(t) ?? i, i));
  };
  for (const t of g.inputs) touch(t, 0);
  g.ops.forEach((o, i) => { for (const t of o.inputs) if (t >= 0) touch(t, i); for (const t of o.outputs) touch(t, i); });
  for (const t of g.outputs) touch(t, lastOp);
  const ids = [...first.keys()];
  const plan = planGreedy(ids.map((id) => {
    const t = g.tensors[id]!;
    return { size: t.shape.reduce((a, d) => a * d, 1) * (ELEM[t.type] ?? 4), firstUse: first.get(id)!, lastUse: last.get(id)! };
  }), alignment);
  return { arenaBytes: plan.totalBytes, offsets: new Map(ids.map((id, k) => [id, plan.offsets[k]!])) };
}
