// In-memory Transport wired to a SimFeetechBus (no physics, no pty): fast bus unit tests with scripted faults.
import { CanceledError, TimeoutError } from '../../../src/errors.js';
import type { Transport } from '../../../src/links/transport.js';
import { SimFeetechBus } from '../../../src/sim/so100/sim-bus.js';

export class MockLink implements Transport {
  readonly uri = 'mock://feetech';
  isOpen = false;
  readonly sim: SimFeetechBus;
  private rx: number[] = [];
  private waiter: (() => void) | undefined;
  /** Deliver replies in chunks of this many bytes (split frames). */
  chunk = 1 << 30;
  /** Mangle reply bytes before delivery. */
  mangle: ((bytes: Uint8Array) => Uint8Array) | undefined;
  /** Echo what the host writes (half-duplex adapter). */
  echo = false;
  writes: Uint8Array[] = [];

  constructor(ids = [1, 2, 3, 4, 5, 6]) {
    this.sim = new SimFeetechBus({ ids });
    this.sim.output = (b) => this.deliver(this.mangle ? this.mangle(b) : b);
  }

  deliver(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += this.chunk) {
      const part = bytes.subarray(i, i + this.chunk);
      setImmediate(() => { this.rx.push(...part); this.waiter?.(); });
    }
  }

  async open(): Promise<void> { this.isOpen = true; }
  async close(): Promise<void> { this.isOpen = false; this.waiter?.(); }
  async write(data: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new CanceledError();
    this.writes.push(new Uint8Array(data));
    if (this.echo) this.deliver(new Uint8Array(data));
    const copy = new Uint8Array(data);
    setImmediate(() => this.sim.receive(copy));
  }
  async flush(): Promise<void> { this.rx = []; }
  read(buffer: Uint8Array, offset: number, length: number, timeoutMs?: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const take = (): boolean => {
        if (!this.isOpen) { reject(new CanceledError()); return true; }
        if (this.rx.length === 0) return false;
        const n = Math.min(length, this.rx.length);
        for (let i = 0; i < n; i++) buffer[offset + i] = this.rx[i]!;
        this.rx.splice(0, n);
        resolve(n);
        return true;
      };
      if (take()) return;
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => { this.waiter = undefined; reject(new TimeoutError('mock read', timeoutMs)); }, timeoutMs);
      this.waiter = () => { if (take()) { this.waiter = undefined; if (timer) clearTimeout(timer); } };
    });
  }
}
