/**
 * Greedy-by-size lifetime arena plan (the scheme TFLite Micro's GreedyMemoryPlanner uses).
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

export const ARENA_ALIGNMENT = 16;

export interface PlanItem { id: number; bytes: number; first: number; last: number }
export interface ArenaPlan { arenaBytes: number; offsets: Map<number, number> }

function alignUp(n: number, a: number): number { return Math.ceil(n / a) * a; }

export function greedyArenaPlan(items: PlanItem[], alignment = ARENA_ALIGNMENT): ArenaPlan {
  const order = [...items].sort((a, b) => b.bytes - a.bytes || a.first - b.first || a.id - b.id);
  const placed: Array<PlanItem & { offset: number; size: number }> = [];
  const offsets = new Map<number, number>();
  let arenaBytes = 0;
  for (const it of order) {
    const size = alignUp(Math.max(it.bytes, 0), alignment);
    const conflicts = placed
      .filter((p) => p.first <= it.last && it.first <= p.last)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const c of conflicts) {
      if (offset + size <= c.offset) break;
      offset = Math.max(offset, c.offset + c.size);
    }
    placed.push({ ...it, offset, size });
    offsets.set(it.id, offset);
    arenaBytes = Math.max(arenaBytes, offset + size);
  }
  return { arenaBytes, offsets };
}

const ELEM: Partial<Record<TensorType, number>> = {
  [TensorType.FLOAT32]: 4, [TensorType.INT32]: 4, [TensorType.INT8]: 1, [TensorType.UINT8]: 1, [TensorType.INT16]: 2,
};

/** Lifetimes from a GraphDef (ops in execution order). */
export function planGraphArena(g: GraphDef, alignment = ARENA_ALIGNMENT): ArenaPlan {
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
  const items: PlanItem[] = [...first.keys()].map((id) => {
    const t = g.tensors[id]!;
    return { id, bytes: t.shape.reduce((a, d) => a * d, 1) * (ELEM[t.type] ?? 4), first: first.get(id)!, last: last.get(id)! };
  });
  return greedyArenaPlan(items, alignment);
}
