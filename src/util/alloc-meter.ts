/**
 * What a loop allocates: GC events and young-generation growth over n iterations, the one method the
 * benchmark (`kdp bench`) and the zero-allocation tests share.
 *
 * Young-generation bytes (new + new large object space) between two reads with no GC in between are
 * what JavaScript allocated; unlike heapUsed they do not move with concurrent old-space sweeping or
 * JIT code. Each window starts after a GC (when --expose-gc) and a pause; the probes' own cost is an
 * empty window before and after, the smaller one removed. Only GCs that *start* while the loop runs
 * count: when a synchronous loop of more than a few seconds hands the thread back, V8 runs deferred
 * housekeeping (observed: an incremental marking flagged "external memory" right after the loop),
 * which says nothing about the loop.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface AllocationReport {
  gcCount: number;
  /** young-generation growth minus the probe cost; with GCs in the window, heapUsed growth (coarser) */
  heapGrowthBytes: number;
}

function youngBytes(): number {
  let n = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') n += s.space_used_size;
  return n;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `loop(n)` runs n iterations (it is first run for min(n, 5000) so it is compiled before measuring). */
export async function measureAllocations(loop: (n: number) => void | Promise<void>, n: number): Promise<AllocationReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const window = async (count: number): Promise<{ bytes: number; gcs: number }> => {
    gc?.();
    await pause(50);
    const starts: number[] = [];
    const obs = new PerformanceObserver((list) => { for (const en of list.getEntries()) starts.push(en.startTime); });
    obs.observe({ entryTypes: ['gc'] });
    const y1 = youngBytes();
    const h1 = process.memoryUsage().heapUsed;
    const t1 = performance.now();
    await loop(count);
    const t2 = performance.now();
    const h2 = process.memoryUsage().heapUsed;
    const y2 = youngBytes();
    await pause(20);
    obs.disconnect();
    const gcs = starts.filter((t) => t >= t1 && t <= t2).length;
    return { bytes: gcs === 0 ? y2 - y1 : h2 - h1, gcs };
  };
  await loop(Math.min(n, 5000));
  const probe1 = await window(0);
  const run = await window(n);
  const probe2 = await window(0);
  const probe = Math.min(probe1.bytes, probe2.bytes);
  return { gcCount: run.gcs, heapGrowthBytes: run.gcs === 0 ? run.bytes - probe : run.bytes };
}
