/**
 * The one fixed-rate scheduler of the control layer (fly, arm, eval, serve). Slot k is due at start + k·period,
 * computed from the start and the slot index, so the rate never drifts however late single ticks run.
 *
 * Accounting, the same for every command:
 * - a deadline miss is a tick whose work (first to last instruction, on the clock) took longer than its budget
 *   (default: one period);
 * - a skipped slot is a slot whose boundary passed while the previous tick still ran (or while the host stalled
 *   the waiting process by a whole period): the scheduler counts it and starts the next tick on the first
 *   boundary after — skipped slots are never replayed in a burst. A tick that starts on its boundary and works
 *   w periods skips ⌈w⌉ − 1 slots (w = 1 exactly: none, the next tick starts on time); `lateTicks` counts the
 *   ticks that followed skipped slots.
 *
 * Ticks may be asynchronous (the SO-100 bus is awaited): the next slot is waited for only after the tick's
 * promise settles, and `stop()` resolves once no tick is in flight, so a safe stop never races a bus write.
 * Warm-up ticks (the JIT tiers the tick up during the first few hundred calls) run on slots but are not counted.
 */
import { percentile } from '../util/latency-stats.js';
import { MonotonicClock, VirtualClock, type Clock } from './clock.js';

export interface SchedulerStats {
  /** counted ticks (after warm-up) */
  ticks: number;
  warmupTicks: number;
  /** ticks whose work exceeded the budget */
  deadlineMisses: number;
  /** slot boundaries passed without a tick starting in them */
  skippedSlots: number;
  /** ticks that followed one or more skipped slots */
  lateTicks: number;
  maxLatenessUs: number;
  maxTickUs: number;
  /** tick durations for percentiles (ring of the last `histogramSize` ticks) */
  tickUs: Float64Array;
}

/** The control tick: `index` counts from 0 after warm-up (negative during warm-up). */
export type SchedulerTick = (index: number) => void | PromiseLike<void>;

export interface SchedulerOptions {
  periodUs: number;
  /** work allowed per tick before it counts as a deadline miss (default: `periodUs`) */
  budgetUs?: number;
  /** default: a MonotonicClock */
  clock?: Clock;
  /** default tick for `start()` */
  tick?: SchedulerTick;
  /** stop by itself after this many counted ticks */
  maxTicks?: number;
  warmupTicks?: number;
  histogramSize?: number;
  /** a tick threw (or its promise rejected); without this handler the error is dropped and the rate kept */
  onError?: (e: unknown) => void;
  onDeadlineMissed?: (index: number, latenessUs: number, tickUs: number) => void;
}

export class FixedRateScheduler {
  readonly stats: SchedulerStats;
  readonly periodUs: number;
  readonly budgetUs: number;
  readonly clock: Clock;
  /** resolves when the scheduler stopped and no tick is in flight */
  done: Promise<void>;
  private doneResolve: (() => void) | undefined;
  private tick: SchedulerTick | undefined;
  private maxTicks: number | undefined;
  private onError: ((e: unknown) => void) | undefined;
  private durationUs: number | undefined;
  /** why the scheduler stopped by itself (undefined: `stop()` was called) */
  endedBy: 'maxTicks' | 'duration' | undefined;
  private running = false;
  private startUs = 0;
  private index = 0;
  private inFlight = false;
  // the tick being measured (fields, not closure captures: the sync path allocates nothing)
  private t0 = 0;
  private w0 = 0;
  private c0: NodeJS.CpuUsage | undefined;
  private warming = false;
  private readonly charge: boolean;

  constructor(private readonly o: SchedulerOptions) {
    if (!(o.periodUs >= 100)) throw new RangeError(`periodUs must be ≥ 100, got ${o.periodUs}`);
    this.periodUs = o.periodUs;
    this.budgetUs = o.budgetUs ?? o.periodUs;
    this.clock = o.clock ?? new MonotonicClock();
    this.charge = this.clock instanceof VirtualClock && this.clock.chargesRealCost;
    this.stats = { ticks: 0, warmupTicks: 0, deadlineMisses: 0, skippedSlots: 0, lateTicks: 0, maxLatenessUs: 0, maxTickUs: 0, tickUs: new Float64Array(o.histogramSize ?? 4096) };
    this.done = Promise.resolve();
  }

  get isRunning(): boolean { return this.running; }
  /** when slot 0 was due (clock µs) */
  get startedAtUs(): number { return this.startUs; }

  /** Start at the next clock reading (slot 0 is due now). */
  start(tick?: SchedulerTick, run: { maxTicks?: number; durationUs?: number; onError?: (e: unknown) => void } = {}): void {
    if (this.running) return;
    const t = tick ?? this.o.tick;
    if (!t) throw new TypeError('FixedRateScheduler.start: no tick');
    this.tick = t;
    this.maxTicks = run.maxTicks ?? this.o.maxTicks;
    this.onError = run.onError ?? this.o.onError;
    this.durationUs = run.durationUs;
    this.endedBy = undefined;
    this.running = true;
    this.done = new Promise((resolve) => { this.doneResolve = resolve; });
    this.startUs = this.clock.nowUs();
    this.index = 0;
    this.schedule();
  }

  /** Stop scheduling; resolves when the tick in flight (if any) has settled. */
  stop(): Promise<void> {
    this.running = false;
    this.clock.cancel();
    if (!this.inFlight) this.resolveDone();
    return this.done;
  }

  private resolveDone(): void {
    const r = this.doneResolve;
    this.doneResolve = undefined;
    r?.();
  }

  private dueUs(): number { return this.startUs + this.index * this.periodUs; }

  private schedule(): void {
    if (this.running) this.clock.wait(this.dueUs(), this.poll);
  }

  private readonly poll = (): void => {
    if (!this.running) return;
    const now = this.clock.nowUs();
    const due = this.dueUs();
    if (now < due) { this.schedule(); return; }
    if (this.durationUs !== undefined && now - this.startUs >= this.durationUs) {
      this.endedBy = 'duration';
      void this.stop();
      return;
    }
    const s = this.stats;
    this.warming = s.warmupTicks < (this.o.warmupTicks ?? 0);
    if (!this.warming) {
      const late = now - due;
      if (late >= this.periodUs) {
        // woken a whole period or more after the due time (the host stalled the waiting process): count the slots
        // that passed, run this tick in the slot we are in
        const skipped = Math.floor(late / this.periodUs);
        s.skippedSlots += skipped;
        s.lateTicks++;
        this.index += skipped;
      }
    }
    // CPU snapshot before, plain doubles around the tick: bookkeeping must not allocate inside the window
    this.c0 = this.charge ? process.cpuUsage() : undefined;
    this.t0 = this.clock.nowUs();
    this.w0 = performance.now();
    this.inFlight = true;
    let r: void | PromiseLike<void>;
    try {
      r = this.tick!(this.warming ? -1 - s.warmupTicks : s.ticks);
    } catch (e) {
      this.fail(e);
      r = undefined;
    }
    if (r !== undefined && r !== null && typeof (r as PromiseLike<void>).then === 'function') {
      (r as PromiseLike<void>).then(this.finish, this.reject);
      return;
    }
    this.finish();
  };

  private readonly reject = (e: unknown): void => { this.fail(e); this.finish(); };

  private fail(e: unknown): void {
    if (this.onError) this.onError(e);
    // no handler: a tick must not throw (hot-path rule); if it does, the loop keeps its rate
  }

  private readonly finish = (): void => {
    this.inFlight = false;
    const s = this.stats;
    if (this.c0) {
      // virtual clock charged with the real cost = min(wall, CPU): being preempted by other processes is not our miss
      let cost = (performance.now() - this.w0) * 1000;
      const c = process.cpuUsage(this.c0);
      const cpu = c.user + c.system;
      if (cpu < cost) cost = cpu;
      (this.clock as VirtualClock).advanceUs(cost);
    }
    const t1 = this.clock.nowUs();
    const tickUs = t1 - this.t0;
    if (this.warming) {
      s.warmupTicks++;
      // warm-up is not accounted: realign to the slot after now
      const next = Math.floor((t1 - this.startUs) / this.periodUs) + 1;
      this.index = next > this.index + 1 ? next : this.index + 1;
    } else {
      const lateUs = this.t0 - this.dueUs();
      if (lateUs > s.maxLatenessUs) s.maxLatenessUs = lateUs;
      if (tickUs > s.maxTickUs) s.maxTickUs = tickUs;
      s.tickUs[s.ticks % s.tickUs.length] = tickUs;
      if (tickUs > this.budgetUs) {
        s.deadlineMisses++;
        this.o.onDeadlineMissed?.(s.ticks, lateUs, tickUs);
      }
      s.ticks++;
      this.index++;
      if (t1 > this.dueUs()) {
        // the tick ran past the next slot's boundary: that slot (and any further one it covered) is skipped; the
        // next tick starts on the first boundary after the work ended, never in the middle of a slot
        const next = Math.ceil((t1 - this.startUs) / this.periodUs);
        if (next > this.index) { s.skippedSlots += next - this.index; s.lateTicks++; this.index = next; }
      }
      if (this.maxTicks !== undefined && s.ticks >= this.maxTicks && this.running) { this.running = false; this.endedBy = 'maxTicks'; }
    }
    if (!this.running) { this.clock.cancel(); this.resolveDone(); return; }
    this.schedule();
  };
}

/** p-th percentile (0..100) of the recorded tick durations, µs. */
export function tickPercentileUs(stats: SchedulerStats, p: number): number {
  const n = Math.min(stats.ticks, stats.tickUs.length);
  if (n === 0) return 0;
  return percentile(stats.tickUs.slice(0, n).sort(), p);
}
