/** Time source for the control loop, in microseconds (a float: no BigInt allocation per tick). */
export interface Clock {
  nowUs(): number;
}

export class MonotonicClock implements Clock {
  nowUs(): number { return performance.now() * 1000; }
}

/** Deterministic clock for tests: time moves only when told to. */
export class FakeClock implements Clock {
  private readonly t = new Float64Array(1);
  nowUs(): number { return this.t[0]!; }
  advanceUs(us: number): void { this.t[0]! += us; }
}
