/**
 * Latency model per board profile: what one invoke costs (MACs and bytes, from the model file and the
 * kernels that will run) divided by what a core does per cycle. It is an ESTIMATE: the per-cycle rates of
 * the Arm cores are assumptions from how V8 lowers our inner loops to NEON and from the cores' published
 * issue widths, not measurements (none of these boards is in reach of CI); the x86-64 row is calibrated
 * from the measured figures in docs/benchmarks.md. Every estimate is reported with these inputs.
 *
 * Why these rates. The FULLY_CONNECTED kernels are ≈ 98 % of an invoke and bound by SIMD multiplies:
 *  - fc_i8 (i16 kernel): `i32x4.dot_i16x8_s` = 8 MACs; on arm64 V8 emits smull + smull2 + addp, i.e. two
 *    multiply-long instructions per 8 MACs → 4 MAC/cycle per multiply pipe.
 *  - fc_i6 (relaxed SIMD): two `i16x8.relaxed_dot_i8x16_i7x16_s` (16 MACs each, smull + smull2 + addp on
 *    8-bit lanes) plus one widening `i32x4.dot_i16x8_s` per 32 MACs → 6 multiply-longs per 32 MACs
 *    → 5.3 MAC/cycle per multiply pipe.
 *  - fc_f32: f32x4.mul + f32x4.add (no FMA in WASM SIMD) → 4 MACs per 2 instructions per pipe.
 * Cortex-A72 issues ASIMD integer multiplies on one pipe; A76/A78 have two 128-bit ASIMD pipes and we
 * assume 1–2 multiplies per cycle. Achieved fractions of that bound: 0.5–0.75 (the x86-64 kernels reach
 * 0.7–0.9 of theirs in the loop, less over the graph).
 */
import type { GraphDef } from '../planner/runtime/tflite-model.js';

export type FcKind = 'fc_i6' | 'fc_i8' | 'fc_f32';

export interface PlanCost {
  candidates: number;
  layers: Array<{ inDim: number; outDim: number; kind: FcKind }>;
  /** multiply-accumulates per invoke (all candidates) */
  macs: number;
  /** weight bytes the kernels stream per invoke (as laid out in the arena: fc_i8 widened to i16 at N ≥ 4) */
  weightBytes: number;
  /** activation bytes written per invoke (FC outputs, all candidates) */
  activationBytes: number;
}

const FULLY_CONNECTED = 9; // tflite BuiltinOperator.FULLY_CONNECTED

/** MACs and bytes of one invoke, from the graph's FULLY_CONNECTED ops and the FC kernel kinds (in op order). */
export function planCost(g: GraphDef, candidates: number, fcKinds: readonly string[]): PlanCost {
  const fcs = g.ops.filter((o) => o.code === FULLY_CONNECTED);
  if (fcKinds.length !== fcs.length) throw new Error(`planCost: ${fcs.length} FULLY_CONNECTED ops but ${fcKinds.length} FC kernels`);
  const layers = fcs.map((o, i) => {
    const [outDim, inDim] = g.tensors[o.inputs[1]!]!.shape as [number, number];
    return { inDim, outDim, kind: fcKinds[i] as FcKind };
  });
  let macs = 0, weightBytes = 0, activationBytes = 0;
  for (const l of layers) {
    macs += candidates * l.inDim * l.outDim;
    const perWeight = l.kind === 'fc_f32' ? 4 : l.kind === 'fc_i8' && candidates >= 4 ? 2 : 1;
    weightBytes += perWeight * l.inDim * l.outDim;
    activationBytes += candidates * l.outDim * (l.kind === 'fc_f32' ? 4 : 1);
  }
  return { candidates, layers, macs, weightBytes, activationBytes };
}

export interface CoreRates {
  core: string;
  /** clock range the board runs at (GHz) */
  clockGHz: [number, number];
  /** achieved MACs per cycle per kernel [low, high] */
  macPerCycle: Record<FcKind, [number, number]>;
  /** private L2 per core (bytes): weights beyond it stream from a shared cache or DRAM */
  l2Bytes: number;
  basis: 'assumed' | 'calibrated';
  note: string;
}

/** Per board profile (boards/hosts/<name>.json). */
export const BOARD_RATES: Record<string, CoreRates> = {
  rpi4: {
    core: 'Cortex-A72', clockGHz: [1.5, 1.8], l2Bytes: 1 << 20, basis: 'assumed',
    macPerCycle: { fc_i6: [2.7, 4.0], fc_i8: [2.0, 3.0], fc_f32: [1.0, 2.0] },
    note: 'one ASIMD multiply pipe; 1 MiB L2 shared by 4 cores; no sdot (Armv8.0)',
  },
  rpi5: {
    core: 'Cortex-A76', clockGHz: [2.4, 2.4], l2Bytes: 512 << 10, basis: 'assumed',
    macPerCycle: { fc_i6: [2.7, 8.0], fc_i8: [2.0, 6.0], fc_f32: [1.5, 3.0] },
    note: 'two ASIMD pipes (1–2 multiplies/cycle assumed); 512 KiB private L2',
  },
  'jetson-orin-nano': {
    core: 'Cortex-A78AE', clockGHz: [1.5, 1.7], l2Bytes: 256 << 10, basis: 'assumed',
    macPerCycle: { fc_i6: [2.7, 8.0], fc_i8: [2.0, 6.0], fc_f32: [1.5, 3.0] },
    note: 'two ASIMD pipes (1–2 multiplies/cycle assumed); 256 KiB private L2, 2 MiB L3; clocks per nvpmodel (1.7 GHz in MAXN SUPER)',
  },
  'x86-dev': {
    core: 'AMD EPYC (Zen 4) vCPU', clockGHz: [3.66, 3.66], l2Bytes: 1 << 20, basis: 'calibrated',
    macPerCycle: { fc_i6: [13.5, 15.0], fc_i8: [10.0, 11.0], fc_f32: [5.5, 6.5] },
    note: 'from measured invokes at N = 64 (docs/benchmarks.md): shipped model 11.8 M MACs in 220 µs (fc_i6) / 298 µs (fc_i8); fp32 generator 12.1 M MACs in 528 µs; ≈ 3.66 GHz',
  },
};

export interface LatencyEstimate {
  board: string;
  /** per invoke (all candidates), µs */
  lowUs: number;
  highUs: number;
  basis: 'assumed' | 'calibrated';
  inputs: {
    core: string; clockGHz: [number, number]; macPerCycle: Record<string, [number, number]>;
    macs: number; weightBytes: number; activationBytes: number; weightsFitL2: boolean; note: string;
  };
}

/** µs per invoke on `board`: Σ_layers MACs / (MAC/cycle × clock), fastest and slowest corners. */
export function estimateLatency(cost: PlanCost, board: string): LatencyEstimate {
  const r = BOARD_RATES[board];
  if (!r) throw new Error(`no latency model for board "${board}" (known: ${Object.keys(BOARD_RATES).join(', ')})`);
  let low = 0, high = 0;
  const used: Record<string, [number, number]> = {};
  for (const l of cost.layers) {
    const macs = cost.candidates * l.inDim * l.outDim;
    const [lo, hi] = r.macPerCycle[l.kind];
    used[l.kind] = [lo, hi];
    low += macs / (hi * r.clockGHz[1] * 1e3); // MACs / (MAC/cycle × cycles/µs)
    high += macs / (lo * r.clockGHz[0] * 1e3);
  }
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    board, lowUs: round(low), highUs: round(high), basis: r.basis,
    inputs: {
      core: r.core, clockGHz: r.clockGHz, macPerCycle: used, macs: cost.macs, weightBytes: cost.weightBytes,
      activationBytes: cost.activationBytes, weightsFitL2: cost.weightBytes <= r.l2Bytes, note: r.note,
    },
  };
}

export function estimateLine(e: LatencyEstimate): string {
  const rates = Object.entries(e.inputs.macPerCycle).map(([k, [a, b]]) => `${k} ${a}–${b}`).join(', ');
  const clock = e.inputs.clockGHz[0] === e.inputs.clockGHz[1] ? `${e.inputs.clockGHz[0]}` : e.inputs.clockGHz.join('–');
  return `ESTIMATE for ${e.board} (${e.basis === 'assumed' ? 'assumed rates, not measured' : 'rates calibrated on invokes measured here'}): ${e.lowUs}–${e.highUs} µs per invoke = ${(e.inputs.macs / 1e6).toFixed(2)} M MACs / `
    + `(${rates} MAC/cycle × ${clock} GHz ${e.inputs.core}); weights ${(e.inputs.weightBytes / 1024).toFixed(0)} KiB ${e.inputs.weightsFitL2 ? 'fit' : 'exceed'} its L2`;
}
