/**
 * The one time source of the control layer: microseconds as a float (no BigInt allocation per tick) and a
 * wait primitive the fixed-rate scheduler sleeps on.
 *
 * - `MonotonicClock`: `performance.now()`; waits with a timer until ~`spinMs` before the due time, then polls
 *   with setImmediate, so I/O callbacks (model loading, telemetry, bus replies) still run while it waits.
 * - `VirtualClock`: time moves only when told to (`advanceUs`) or when a wait jumps to its due time, one real
 *   event-loop turn (or `paceMs`) later. Deterministic: tests, `kdp eval` (scores must not depend on host load).
 *   With `chargeRealCost` the scheduler also charges each tick's real cost — CPU time (precise on Linux), capped
 *   by wall time — to virtual time: work done on a tick (e.g. hashing a model inside it) is caught as a deadline
 *   miss, the OS running another process meanwhile is not (on a shared 2-vCPU host a bare spin loop still
 *   loses 2 ms slots to the hypervisor).
 */
export interface Clock {
  /** true: time is simulated (waits return at once in real time) */
  readonly virtual: boolean;
  nowUs(): number;
  /** call `cb` at (or after) `dueUs`; one wait at a time */
  wait(dueUs: number, cb: () => void): void;
  /** drop the pending wait, if any */
  cancel(): void;
}

export class MonotonicClock implements Clock {
  readonly virtual = false;
  private timer: NodeJS.Timeout | undefined;
  /** a wait is outstanding (a stale timer or immediate of a cancelled wait finds it false and stops) */
  private pending = false;
  private due = 0;
  private cb: (() => void) | undefined;
  /** `spinMs`: how long before the due time the timer hands over to setImmediate polling */
  constructor(private readonly spinMs = 1) {}
  nowUs(): number { return performance.now() * 1000; }
  wait(dueUs: number, cb: () => void): void {
    this.pending = true;
    this.due = dueUs;
    this.cb = cb;
    this.poll();
  }
  cancel(): void {
    this.pending = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
  // one bound method, not a closure per wait
  private readonly poll = (): void => {
    if (!this.pending) return;
    const waitMs = (this.due - performance.now() * 1000) / 1000;
    if (waitMs <= 0) { this.pending = false; this.cb!(); return; }
    if (waitMs - this.spinMs >= 1) this.timer = setTimeout(this.poll, Math.floor(waitMs - this.spinMs));
    else setImmediate(this.poll);
  };
}

export interface VirtualClockOptions {
  startUs?: number;
  /** real ms between a wait and its callback (default 0: the next event-loop turn) */
  paceMs?: number;
  /** the scheduler charges each tick's real cost (min of CPU and wall time) to virtual time (default false) */
  chargeRealCost?: boolean;
}

/** Deterministic clock: time moves only when told to. */
export class VirtualClock implements Clock {
  readonly virtual = true;
  readonly chargesRealCost: boolean;
  private readonly t = new Float64Array(1);
  private readonly paceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pending = false;
  private due = 0;
  private cb: (() => void) | undefined;
  constructor(o: VirtualClockOptions = {}) {
    this.t[0] = o.startUs ?? 0;
    this.paceMs = o.paceMs ?? 0;
    this.chargesRealCost = o.chargeRealCost ?? false;
  }
  nowUs(): number { return this.t[0]!; }
  advanceUs(us: number): void { this.t[0]! += us; }
  wait(dueUs: number, cb: () => void): void {
    this.pending = true;
    this.due = dueUs;
    this.cb = cb;
    if (this.paceMs > 0) this.timer = setTimeout(this.go, this.paceMs);
    else setImmediate(this.go);
  }
  cancel(): void {
    this.pending = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
  private readonly go = (): void => {
    if (!this.pending) return;
    this.pending = false;
    if (this.due > this.t[0]!) this.t[0] = this.due;
    this.cb!();
  };
}
