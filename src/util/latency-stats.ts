/** Latency statistics over a preallocated sample buffer (µs). */
export interface LatencyStats {
  count: number;
  minUs: number;
  maxUs: number;
  meanUs: number;
  stdUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
}

/** Nearest-rank percentile of sorted data. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: Float64Array, count = samples.length): LatencyStats {
  const s = samples.slice(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += s[i]!;
  const mean = count ? sum / count : NaN;
  let v = 0;
  for (let i = 0; i < count; i++) v += (s[i]! - mean) ** 2;
  return {
    count,
    minUs: count ? s[0]! : NaN,
    maxUs: count ? s[count - 1]! : NaN,
    meanUs: mean,
    stdUs: count > 1 ? Math.sqrt(v / (count - 1)) : 0,
    p50Us: percentile(s, 50),
    p99Us: percentile(s, 99),
    p999Us: percentile(s, 99.9),
  };
}
