/**
 * Greedy-by-size memory planner (the TFLite Micro GreedyMemoryPlanner idea, written from its
 * description): buffers are placed largest first, each at the lowest aligned offset that does not
 * overlap any already placed buffer whose lifetime [firstUse, lastUse] intersects its own.
 */

export interface BufferRequest {
  size: number;
  /** first operator index that writes or reads it (-1 = before the first op, e.g. graph inputs) */
  firstUse: number;
  /** last operator index that reads it (ops.length = after the last op, e.g. graph outputs) */
  lastUse: number;
}

export interface MemoryPlan {
  offsets: number[];
  /** bytes the plan needs (max over buffers of offset + size, aligned) */
  totalBytes: number;
}

export const ARENA_ALIGN = 16;

export function alignUp(n: number, a = ARENA_ALIGN): number {
  return Math.ceil(n / a) * a;
}

export function planGreedy(reqs: readonly BufferRequest[], align = ARENA_ALIGN): MemoryPlan {
  const order = reqs.map((_, i) => i).sort((a, b) => {
    const ra = reqs[a]!;
    const rb = reqs[b]!;
    return rb.size - ra.size || ra.firstUse - rb.firstUse || a - b;
  });
  const offsets = new Array<number>(reqs.length).fill(0);
  const placed: number[] = [];
  let total = 0;
  for (const i of order) {
    const r = reqs[i]!;
    const size = alignUp(r.size, align);
    // live buffers that overlap in time, sorted by offset
    const live = placed
      .filter((j) => { const q = reqs[j]!; return q.firstUse <= r.lastUse && r.firstUse <= q.lastUse; })
      .sort((a, b) => offsets[a]! - offsets[b]!);
    let candidate = 0;
    for (const j of live) {
      const start = offsets[j]!;
      const end = start + alignUp(reqs[j]!.size, align);
      if (candidate + size <= start) break;
      candidate = Math.max(candidate, end);
    }
    offsets[i] = candidate;
    placed.push(i);
    total = Math.max(total, candidate + size);
  }
  return { offsets, totalBytes: total };
}
