/**
 * A fixed-rate loop for the board agent: tick k is due at start + k·period. Waits with a timer until ~1 ms
 * before the deadline, then yields with setImmediate (so I/O callbacks — model loading, telemetry — still run)
 * until it is due. Never drifts; if a tick is late by whole periods the skipped slots are counted, not replayed.
 *
 * Deadline miss: a tick that finished after its deadline (its due time + period), or a skipped slot.
 *
 * Clocks: the real clock (hrtime + timers) for the board; a `VirtualLoopClock` for tests on shared machines,
 * where the OS/hypervisor can stall any process for several ms (measured on the 2-vCPU dev VM: a bare spin
 * loop at SCHED_FIFO still loses 2 ms slots). With the virtual clock every tick starts exactly on time in
 * virtual time, one real event-loop turn after the previous one (so I/O callbacks — model loading — run in
 * between, as they would while the real loop waits), and a deadline miss is a tick whose real cost — CPU time
 * (process.cpuUsage, precise on Linux), capped by wall time — exceeded the period: it catches work done on
 * the tick (e.g. loading or hashing a model inside it) but not the OS running someone else meanwhile.
 */
import { percentile } from '../util/latency-stats.js';
export interface TickLoopStats {
  ticks: number;
  warmupTicks: number;
  deadlineMisses: number;
  skippedSlots: number;
  maxLatenessUs: number;
  maxTickUs: number;
  /** tick durations for percentiles (ring of the last `histogramSize` ticks) */
  tickUs: Float64Array;
}

/** Time source + wait primitive of a TickLoop. */
export interface LoopClock {
  readonly virtual: boolean;
  nowNs(): bigint;
  /** call `cb` at (or after) `dueNs` */
  wait(dueNs: bigint, cb: () => void): void;
  cancel(): void;
}

/** hrtime + setTimeout until ~spinMs before the due time, then setImmediate polling (I/O still runs). */
export class RealLoopClock implements LoopClock {
  readonly virtual = false;
  private timer: NodeJS.Timeout | undefined;
  private cancelled = false;
  constructor(private readonly spinMs = 1) {}
  nowNs(): bigint { return process.hrtime.bigint(); }
  wait(dueNs: bigint, cb: () => void): void {
    this.cancelled = false;
    const poll = (): void => {
      if (this.cancelled) return;
      const waitMs = Number(dueNs - process.hrtime.bigint()) / 1e6;
      if (waitMs <= 0) { cb(); return; }
      if (waitMs - this.spinMs >= 1) this.timer = setTimeout(poll, Math.floor(waitMs - this.spinMs));
      else setImmediate(poll);
    };
    poll();
  }
  cancel(): void { this.cancelled = true; if (this.timer) clearTimeout(this.timer); }
}

/** Virtual time: `wait` jumps to the due time and calls back after `paceMs` real ms (default: next turn). */
export class VirtualLoopClock implements LoopClock {
  readonly virtual = true;
  private t: bigint;
  private timer: NodeJS.Timeout | undefined;
  private cancelled = false;
  constructor(startNs = 0n, private readonly paceMs = 0) { this.t = startNs; }
  nowNs(): bigint { return this.t; }
  wait(dueNs: bigint, cb: () => void): void {
    this.cancelled = false;
    const go = (): void => { if (this.cancelled) return; if (dueNs > this.t) this.t = dueNs; cb(); };
    if (this.paceMs > 0) this.timer = setTimeout(go, this.paceMs);
    else setImmediate(go);
  }
  cancel(): void { this.cancelled = true; if (this.timer) clearTimeout(this.timer); }
}

export interface TickLoopOptions {
  periodUs: number;
  /** the control tick; `index` counts from 0 after warm-up (negative during warm-up) */
  tick: (index: number) => void;
  /** stop after this many (counted) ticks (tests); default: run until stop() */
  maxTicks?: number;
  /**
   * Ticks run before the counted ones, not checked against deadlines (the JIT tiers the tick up during the
   * first few hundred calls; benchmark_model-style warm-up). `stats.ticks` counts only the later ones.
   */
  warmupTicks?: number;
  /** ms before the due time at which the timer hands over to setImmediate polling (default 1) */
  spinMs?: number;
  histogramSize?: number;
  /** default: RealLoopClock */
  clock?: LoopClock;
  onDeadlineMissed?: (index: number, latenessUs: number, tickUs: number) => void;
}

export class TickLoop {
  readonly stats: TickLoopStats;
  private running = false;
  private startNs = 0n;
  private index = 0;
  private readonly periodNs: bigint;
  private readonly clock: LoopClock;
  private doneResolve: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(private readonly o: TickLoopOptions) {
    if (!(o.periodUs >= 100)) throw new RangeError(`periodUs must be ≥ 100, got ${o.periodUs}`);
    this.periodNs = BigInt(Math.round(o.periodUs * 1000));
    this.clock = o.clock ?? new RealLoopClock(o.spinMs ?? 1);
    this.stats = { ticks: 0, warmupTicks: 0, deadlineMisses: 0, skippedSlots: 0, maxLatenessUs: 0, maxTickUs: 0, tickUs: new Float64Array(o.histogramSize ?? 4096) };
    this.done = new Promise((resolve) => { this.doneResolve = resolve; });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startNs = this.clock.nowNs() + this.periodNs;
    this.index = 0;
    this.schedule();
  }

  stop(): Promise<void> {
    this.running = false;
    this.clock.cancel();
    this.doneResolve?.();
    return this.done;
  }


  private dueNs(): bigint {
    return this.startNs + BigInt(this.index) * this.periodNs;
  }

  private schedule(): void {
    if (this.running) this.clock.wait(this.dueNs(), this.poll);
  }

  private readonly poll = (): void => {
    if (!this.running) return;
    const now = this.clock.nowNs();
    const due = this.dueNs();
    if (now < due) { this.schedule(); return; }
    if (this.stats.warmupTicks < (this.o.warmupTicks ?? 0)) {
      try { this.o.tick(-1 - this.stats.warmupTicks); } catch { /* as below */ }
      this.stats.warmupTicks++;
      this.index = Math.max(this.index + 1, Number((this.clock.nowNs() - this.startNs) / this.periodNs) + 1);
      this.schedule();
      return;
    }
    const latenessNs = now - due;
    // whole periods missed: count them and realign to the next slot boundary
    if (latenessNs >= this.periodNs) {
      const skipped = Number(latenessNs / this.periodNs);
      this.stats.skippedSlots += skipped;
      this.stats.deadlineMisses += skipped;
      this.index += skipped;
    }
    // measurement without allocating inside the window (a GC triggered by our own bookkeeping would be
    // charged to the tick): CPU snapshot before, then plain doubles around the tick
    const virtual = this.clock.virtual;
    const c0 = virtual ? process.cpuUsage() : undefined;
    const t0 = this.clock.nowNs();
    const w0 = performance.now();
    try {
      this.o.tick(this.stats.ticks);
    } catch {
      // the tick must not throw (hot path rule); if it does, the loop keeps its rate
    }
    const w1 = performance.now();
    let tickUs = (w1 - w0) * 1000;
    if (c0) {
      // virtual clock: cost = min(wall, CPU), so being preempted by other processes is not our miss
      const c = process.cpuUsage(c0);
      const cpuUs = c.user + c.system;
      if (cpuUs < tickUs) tickUs = cpuUs;
    }
    // virtual clock: the tick "ends" after its cost; real clock: when it really ended
    const t1 = virtual ? t0 + BigInt(Math.round(tickUs * 1000)) : this.clock.nowNs();
    const s = this.stats;
    const lateUs = Number(t0 - this.dueNs()) / 1000;
    if (lateUs > s.maxLatenessUs) s.maxLatenessUs = lateUs;
    if (tickUs > s.maxTickUs) s.maxTickUs = tickUs;
    s.tickUs[s.ticks % s.tickUs.length] = tickUs;
    const deadline = this.dueNs() + this.periodNs;
    if (t1 > deadline) {
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
  return percentile(stats.tickUs.slice(0, n).sort(), p);
}
