/**
 * Long synchronous work (training steps, dataset generation) must hand the thread back now and then, or the
 * SIGINT/SIGTERM handlers that abort it never run and Ctrl-C does nothing. `due()` is cheap (one clock read);
 * `pause()` lets pending I/O and signal callbacks run. Every `intervalMs` keeps Ctrl-C well under a second.
 */
export class EventLoopYield {
  private last = performance.now();
  constructor(private readonly intervalMs = 50) {}

  due(): boolean {
    return performance.now() - this.last >= this.intervalMs;
  }

  async pause(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.last = performance.now();
  }
}
