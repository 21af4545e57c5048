/**
 * The benchmark procedure (shaped like TFLite's benchmark_model): init, first inference, warm-up,
 * timed iterations (per-iteration latency), then an *untimed* pass of the same count that measures
 * GC events (PerformanceObserver 'gc') and heap growth — performance.now() itself allocates a little,
 * so allocation is measured without the timer in the loop. `runInterleaved` alternates two engines
 * in blocks so both see the same machine load (ratios on a shared machine).
 */
import { performance } from 'node:perf_hooks';
import { measureAllocations, type AllocationReport } from '../util/alloc-meter.js';
import type { BackendName, Engine, KernelReport } from './engines.js';
import { hostPlatform, type PlatformInfo } from '../util/platform.js';
import { summarize, type LatencyStats } from '../util/latency-stats.js';

export interface BenchOptions {
  iterations: number;
  warmup: number;
  /** loop rate (Hz) that defines the deadline: 1e6 / rate µs */
  rate: number;
  /** pace the timed loop at `rate` (spin-wait to each slot) instead of running back-to-back */
  paced?: boolean;
  /** interleaving block size for runInterleaved */
  block?: number;
}

export interface BenchResult {
  backend: BackendName;
  candidates: number;
  iterations: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  meanUs: number;
  gcCount: number;
  heapGrowthBytes: number;
  arenaBytes: number | null;
  deadlineMisses: number;
  // benchmark_model-style extras
  /** engine internals (kdp: FC kernels), text report only */
  detail?: string;
  initMs: number;
  firstUs: number;
  warmupAvgUs: number;
  minUs: number;
  maxUs: number;
  stdUs: number;
  deadlineUs: number;
  rssBytes: number;
  paced: boolean;
  /** CPU, SIMD features, engine, cores, emulation (util/platform.ts) */
  platform: PlatformInfo;
  kernels?: KernelReport;
}

function fillInputs(e: Engine): void {
  e.inputs.forEach((v, k) => { for (let i = 0; i < v.length; i++) v[i] = Math.sin(i * 0.7 + k) * 1.3; });
}

async function once(e: Engine): Promise<number> {
  const t0 = performance.now();
  if (e.sync) e.run(); else await e.run();
  return (performance.now() - t0) * 1000;
}

/** Timed iterations into `out` starting at `from`; returns deadline misses. */
async function timedBlock(e: Engine, out: Float64Array, from: number, n: number, deadlineUs: number, paced: boolean, slot0: { t: number }): Promise<number> {
  let misses = 0;
  const periodMs = deadlineUs / 1000;
  for (let i = 0; i < n; i++) {
    if (paced) {
      slot0.t += periodMs;
      while (performance.now() < slot0.t) { /* spin to the slot */ }
    }
    const t0 = performance.now();
    if (e.sync) e.run(); else await e.run();
    const us = (performance.now() - t0) * 1000;
    out[from + i] = us;
    if (us > deadlineUs) misses++;
  }
  return misses;
}

async function untimed(e: Engine, n: number): Promise<void> {
  if (e.sync) { for (let i = 0; i < n; i++) e.run(); } else { for (let i = 0; i < n; i++) await e.run(); }
}

/** Untimed pass: GC events and heap growth over `n` iterations (util/alloc-meter.ts). */
const allocationPass = (e: Engine, n: number): Promise<AllocationReport> => measureAllocations((k) => untimed(e, k), n);

function result(e: Engine, candidates: number, o: BenchOptions, s: LatencyStats, misses: number, initMs: number, firstUs: number,
  warmupAvgUs: number, alloc: { gcCount: number; heapGrowthBytes: number }): BenchResult {
  return {
    backend: e.name, candidates, iterations: s.count,
    p50Us: s.p50Us, p99Us: s.p99Us, p999Us: s.p999Us, meanUs: s.meanUs,
    gcCount: alloc.gcCount, heapGrowthBytes: alloc.heapGrowthBytes, arenaBytes: e.arenaBytes, deadlineMisses: misses,
    initMs, firstUs, warmupAvgUs, minUs: s.minUs, maxUs: s.maxUs, stdUs: s.stdUs, deadlineUs: 1e6 / o.rate,
    rssBytes: process.memoryUsage().rss, paced: o.paced ?? false, platform: hostPlatform(),
    ...(e.detail !== undefined ? { detail: e.detail } : {}), ...(e.kernels !== undefined ? { kernels: e.kernels } : {}),
  };
}

async function warm(e: Engine, n: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await once(e);
  return n ? sum / n : 0;
}

export async function runSingle(e: Engine, candidates: number, initMs: number, o: BenchOptions): Promise<BenchResult> {
  fillInputs(e);
  const firstUs = await once(e);
  const warmupAvgUs = await warm(e, o.warmup);
  const lat = new Float64Array(o.iterations);
  const deadlineUs = 1e6 / o.rate;
  const misses = await timedBlock(e, lat, 0, o.iterations, deadlineUs, o.paced ?? false, { t: performance.now() });
  const alloc = await allocationPass(e, o.iterations);
  return result(e, candidates, o, summarize(lat), misses, initMs, firstUs, warmupAvgUs, alloc);
}

/** Two engines, timed in alternating blocks in this process. */
export async function runInterleaved(a: Engine, b: Engine, candidates: number, init: [number, number], o: BenchOptions): Promise<[BenchResult, BenchResult]> {
  const [ra, rb] = await runInterleavedAll([a, b], candidates, init, o);
  return [ra!, rb!];
}

/** Any number of engines, timed in alternating blocks in this process (all see the same machine load). */
export async function runInterleavedAll(es: readonly Engine[], candidates: number, init: readonly number[], o: BenchOptions): Promise<BenchResult[]> {
  for (const e of es) fillInputs(e);
  const first: number[] = [];
  for (const e of es) first.push(await once(e));
  const warmAvg: number[] = [];
  for (const e of es) warmAvg.push(await warm(e, o.warmup));
  const block = Math.max(1, o.block ?? 100);
  const lat = es.map(() => new Float64Array(o.iterations));
  const deadlineUs = 1e6 / o.rate;
  const miss = es.map(() => 0);
  const slot = { t: performance.now() };
  for (let done = 0; done < o.iterations; done += block) {
    const n = Math.min(block, o.iterations - done);
    for (let k = 0; k < es.length; k++) miss[k]! += await timedBlock(es[k]!, lat[k]!, done, n, deadlineUs, o.paced ?? false, slot);
  }
  const alloc: AllocationReport[] = [];
  for (const e of es) alloc.push(await allocationPass(e, o.iterations));
  return es.map((e, k) => result(e, candidates, o, summarize(lat[k]!), miss[k]!, init[k]!, first[k]!, warmAvg[k]!, alloc[k]!));
}

/**
 * The --json fields, in their original order, then what the run ran on. Under emulation the latency
 * fields (and the deadline misses derived from them) are null: they would time the emulator.
 */
export function jsonFields(r: BenchResult): Record<string, unknown> {
  const t = (x: number): number | null => (r.platform.emulated ? null : x);
  return {
    backend: r.backend, candidates: r.candidates, iterations: r.iterations, p50Us: t(r.p50Us), p99Us: t(r.p99Us), p999Us: t(r.p999Us),
    meanUs: t(r.meanUs), gcCount: r.gcCount, heapGrowthBytes: r.heapGrowthBytes, arenaBytes: r.arenaBytes, deadlineMisses: t(r.deadlineMisses),
    emulated: r.platform.emulated, platform: r.platform, ...(r.kernels ? { kernels: r.kernels } : {}),
    ...(process.env.KDP_BENCH_CPU_QUOTA ? { cpuQuotaPercent: Number(process.env.KDP_BENCH_CPU_QUOTA) } : {}),
  };
}
