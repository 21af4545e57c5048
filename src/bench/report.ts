/** Text rendering of a bench run, in the shape of TFLite's benchmark_model output. */
import type { BenchResult } from './runner.js';
import { platformLine } from '../util/platform.js';

const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function renderResult(r: BenchResult, model: { path: string; bytes: number }): string {
  const head = [
    `STARTING! backend=${r.backend}`,
    `Graph: [${model.path}]`,
    platformLine(r.platform),
    ...(r.detail ? [r.detail] : []),
  ];
  if (r.platform.emulated) {
    // the kernels, arena and allocation behaviour are real; the clock measures the emulator
    return [
      ...head,
      `Ran ${r.iterations} iterations (candidates=${r.candidates}) under emulation: timings withheld (not a measurement of any CPU).`,
      `Memory: arena=${r.arenaBytes === null ? 'n/a' : `${r.arenaBytes} bytes`} rss=${f(r.rssBytes / 1048576)} MB`,
      `Allocation over ${r.iterations} untimed iterations: gc events=${r.gcCount} heap growth=${r.heapGrowthBytes} bytes`,
    ].join('\n');
  }
  return [
    ...head,
    `The input model file size (MB): ${f(model.bytes / 1e6, 6)}`,
    `Initialized session in ${f(r.initMs, 3)}ms.`,
    `Running benchmark for ${r.iterations} iterations (candidates=${r.candidates}, deadline ${f(r.deadlineUs)} µs at ${f(1e6 / r.deadlineUs, 0)} Hz${r.paced ? ', paced' : ''}).`,
    `count=${r.iterations} first=${f(r.firstUs, 0)} min=${f(r.minUs, 0)} max=${f(r.maxUs, 0)} avg=${f(r.meanUs)} std=${f(r.stdUs, 0)}`,
    '',
    `Inference timings in us: Init: ${f(r.initMs * 1000, 0)}, First inference: ${f(r.firstUs, 0)}, Warmup (avg): ${f(r.warmupAvgUs)}, Inference (avg): ${f(r.meanUs)}`,
    `Percentiles in us: p50=${f(r.p50Us)} p99=${f(r.p99Us)} p99.9=${f(r.p999Us)}`,
    `Deadline misses: ${r.deadlineMisses} / ${r.iterations} (> ${f(r.deadlineUs)} µs)`,
    `Memory: arena=${r.arenaBytes === null ? 'n/a' : `${r.arenaBytes} bytes`} rss=${f(r.rssBytes / 1048576)} MB`,
    `Allocation over ${r.iterations} untimed iterations: gc events=${r.gcCount} heap growth=${r.heapGrowthBytes} bytes`,
  ].join('\n');
}

export function renderRatio(a: BenchResult, b: BenchResult, bName: string = b.backend): string {
  if (a.platform.emulated) return `\n${a.backend} vs ${bName}: no ratio under emulation`;
  return [
    '',
    `${a.backend} vs ${bName} (interleaved in one process):`,
    `  p50  ${f(a.p50Us)} µs vs ${f(b.p50Us)} µs  → ratio ${f(a.p50Us / b.p50Us, 3)}`,
    `  p99  ${f(a.p99Us)} µs vs ${f(b.p99Us)} µs  → ratio ${f(a.p99Us / b.p99Us, 3)}`,
    `  mean ${f(a.meanUs)} µs vs ${f(b.meanUs)} µs  → ratio ${f(a.meanUs / b.meanUs, 3)}`,
  ].join('\n');
}
