/**
 * A fixed-rate loop for the board agent: tick k is due at start + k·period. Waits with a timer until ~1 ms
 * before the deadline, then yields with setImmediate (so I/O callbacks — model loading, telemetry — still run)
 * until it is due. Never drifts; if a tick is late by whole periods the skipped slots are counted, not replayed.
 *
 * Deadline miss: a tick that finished after its deadline (its due time + period), or a skipped slot.
 */
export interface TickLoopStats {
  ticks: number;
  deadlineMisses: number;
  skippedSlots: number;
  maxLatenessUs: number;
  maxTickUs: number;
  /** tick durations for percentiles (ring of the last `histogramSize` ticks) */
  tickUs: Float64Array;
}

export interface TickLoopOptions {
  periodUs: number;
  tick: (index: number) => void;
  /** stop after this many ticks (tests); default: run until stop() */
  maxTicks?: number;
  /** ms before the due time at which the timer hands over to setImmediate polling (default 1) */
  spinMs?: number;
  histogramSize?: number;
  nowNs?: () => bigint;
  onDeadlineMissed?: (index: number, latenessUs: number, tickUs: number) => void;
}

export class TickLoop {
  readonly stats: TickLoopStats;
  private running = false;
  private startNs = 0n;
  private index = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly periodNs: bigint;
  private readonly nowNs: () => bigint;
  private doneResolve: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(private readonly o: TickLoopOptions) {
    if (!(o.periodUs >= 100)) throw new RangeError(`periodUs must be ≥ 100, got ${o.periodUs}`);
    this.periodNs = BigInt(Math.round(o.periodUs * 1000));
    this.nowNs = o.nowNs ?? (() => process.hrtime.bigint());
    this.stats = { ticks: 0, deadlineMisses: 0, skippedSlots: 0, maxLatenessUs: 0, maxTickUs: 0, tickUs: new Float64Array(o.histogramSize ?? 4096) };
    this.done = new Promise((resolve) => { this.doneResolve = resolve; });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startNs = this.nowNs() + this.periodNs;
    this.index = 0;
    this.schedule();
  }

  stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.doneResolve?.();
    return this.done;
  }

  private dueNs(): bigint {
    return this.startNs + BigInt(this.index) * this.periodNs;
  }

  private schedule(): void {
    if (!this.running) return;
    const waitMs = Number(this.dueNs() - this.nowNs()) / 1e6 - (this.o.spinMs ?? 1);
    if (waitMs >= 1) this.timer = setTimeout(this.poll, Math.floor(waitMs));
    else setImmediate(this.poll);
  }

  private readonly poll = (): void => {
    if (!this.running) return;
    const now = this.nowNs();
    const due = this.dueNs();
    if (now < due) { this.schedule(); return; }
    const latenessNs = now - due;
    // whole periods missed: count them and realign to the next slot boundary
    if (latenessNs >= this.periodNs) {
      const skipped = Number(latenessNs / this.periodNs);
      this.stats.skippedSlots += skipped;
      this.stats.deadlineMisses += skipped;
      this.index += skipped;
    }
    const t0 = this.nowNs();
    try {
      this.o.tick(this.stats.ticks);
    } catch {
      // the tick must not throw (hot path rule); if it does, the loop keeps its rate
    }
    const t1 = this.nowNs();
    const tickUs = Number(t1 - t0) / 1000;
    const s = this.stats;
    const lateUs = Number(t0 - this.dueNs()) / 1000;
    if (lateUs > s.maxLatenessUs) s.maxLatenessUs = lateUs;
    if (tickUs > s.maxTickUs) s.maxTickUs = tickUs;
    s.tickUs[s.ticks % s.tickUs.length] = tickUs;
    if (t1 > this.dueNs() + this.periodNs) {
      s.deadlineMisses++;
      this.o.onDeadlineMissed?.(s.ticks, lateUs, tickUs);
    }
    s.ticks++;
    this.index++;
    if (this.o.maxTicks !== undefined && s.ticks >= this.o.maxTicks) { void this.stop(); return; }
    this.schedule();
  };
}

/** p-th percentile (0..100) of the recorded tick durations, µs. */
export function tickPercentileUs(stats: TickLoopStats, p: number): number {
  const n = Math.min(stats.ticks, stats.tickUs.length);
  if (n === 0) return 0;
  const a = Array.from(stats.tickUs.subarray(0, n)).sort((x, y) => x - y);
  return a[Math.min(n - 1, Math.floor((p / 100) * n))]!;
}
