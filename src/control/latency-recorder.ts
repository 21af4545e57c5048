import { summarize } from '../util/latency-stats.js';

/** Samples behind live (in-loop) telemetry stats: sorting 512 values is ~µs, the whole ring is ~ms. */
export const LIVE_STATS_WINDOW = 512;

/** Fixed-capacity ring of latency samples; recording never allocates, summaries may. */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private n = 0;
  private total = 0;
  constructor(capacity = 1 << 16) { this.samples = new Float64Array(capacity); }
  record(us: number): void {
    this.samples[this.n % this.samples.length] = us;
    this.n++;
    this.total++;
  }
  get count(): number { return this.total; }
  /** A copy of the retained samples (µs), oldest first; for histograms in reports, not for the tick. */
  retained(): Float64Array {
    const cap = this.samples.length, k = Math.min(this.n, cap);
    const out = new Float64Array(k);
    for (let i = 0; i < k; i++) out[i] = this.samples[(this.n - k + i + cap) % cap]!;
    return out;
  }
  reset(): void { this.n = 0; this.total = 0; }
  /** Quantiles over the retained samples, or only the most recent `last` of them (cheaper, for live stats). */
  summary(last = Infinity): { count: number; p50: number; p99: number; mean: number; max: number } {
    const cap = this.samples.length;
    const k = Math.min(this.n, cap, last);
    if (k === 0) return { count: 0, p50: 0, p99: 0, mean: 0, max: 0 };
    const recent = new Float64Array(k);
    for (let i = 0; i < k; i++) recent[i] = this.samples[(this.n - 1 - i + cap) % cap]!;
    const s = summarize(recent);
    return { count: this.total, p50: round1(s.p50Us), p99: round1(s.p99Us), mean: round1(s.meanUs), max: round1(s.maxUs) };
  }
}

function round1(x: number): number { return Math.round(x * 10) / 10; }
