/**
 * The Crazyflie end of a CPX-over-UART2 wire, as a byte `Transport` the host side opens (tests, no serial port):
 * sends `FF 00` when opened, answers every frame with `FF 00`, only sends a frame after the host's CTS, needs
 * ENABLE_CRTP_BRIDGE before it forwards CRTP to its `RadioEndpoint`, verifies the XOR of every frame.
 */
import { CanceledError, TimeoutError } from '../../errors.js';
import { CpxFunction, CpxStreamDecoder, CpxSystemCommand, CpxTarget, encodeCpxCts, encodeCpxFrame } from '../../protocols/cpx.js';
import type { RadioEndpoint } from './crazyradio.js';
import type { Transport } from '../transport.js';

export class FakeCpxUartCrazyflie implements Transport {
  readonly uri = 'fake-cpx://crazyflie';
  private open_ = false;
  private out: number[] = [];
  private hostCredit = false;
  private readonly decoder: CpxStreamDecoder;
  private waiter: (() => void) | undefined;
  readonly counters = { framesIn: 0, crtpIn: 0, framesOut: 0, ctsIn: 0, sentWithoutCredit: 0 };
  bridgeEnabled = false;
  clientConnected = false;

  constructor(readonly endpoint: RadioEndpoint) {
    this.decoder = new CpxStreamDecoder((f) => {
      if (f.kind === 'cts') { this.counters.ctsIn++; this.hostCredit = true; this.pump(); return; }
      this.counters.framesIn++;
      this.emit(Uint8Array.of(0xff, 0x00));
      if (f.route.destination !== CpxTarget.STM32) return;
      if (f.route.fn === CpxFunction.SYSTEM) {
        if (f.data[0] === CpxSystemCommand.ENABLE_CRTP_BRIDGE) this.bridgeEnabled = f.data[1] === 1;
        if (f.data[0] === CpxSystemCommand.SET_CLIENT_CONNECTED) this.clientConnected = f.data[1] === 1;
      } else if (f.route.fn === CpxFunction.CRTP && this.bridgeEnabled) {
        this.counters.crtpIn++;
        this.endpoint.onPacket(f.data);
      }
      this.pump();
    });
  }

  get isOpen(): boolean { return this.open_; }
  get checksumErrors(): number { return this.decoder.checksumErrors; }

  async open(): Promise<void> {
    this.open_ = true;
    const cts = new Uint8Array(2);
    encodeCpxCts(cts);
    this.emit(cts);
  }
  async close(): Promise<void> { this.open_ = false; const w = this.waiter; this.waiter = undefined; w?.(); }
  async flush(): Promise<void> { this.out = []; }

  private emit(bytes: Uint8Array): void {
    for (const b of bytes) this.out.push(b);
    const w = this.waiter; this.waiter = undefined; w?.();
  }

  /** Send queued downlink CRTP while the host has given credit. */
  pump(): void {
    if (!this.hostCredit || !this.bridgeEnabled) return;
    const p = this.endpoint.nextDownlink();
    if (!p) return;
    const frame = new Uint8Array(110);
    const n = encodeCpxFrame(frame, { destination: CpxTarget.HOST, source: CpxTarget.STM32, fn: CpxFunction.CRTP, lastPacket: false }, p);
    this.hostCredit = false;
    this.counters.framesOut++;
    this.emit(frame.subarray(0, n));
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.open_) throw new CanceledError();
    this.decoder.push(data);
  }

  async read(buffer: Uint8Array, offset: number, length: number, timeoutMs = 1000): Promise<number> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      if (!this.open_) throw new CanceledError();
      this.pump();
      if (this.out.length > 0) {
        const n = Math.min(length, this.out.length);
        for (let i = 0; i < n; i++) buffer[offset + i] = this.out[i]!;
        this.out.splice(0, n);
        return n;
      }
      const left = until - performance.now();
      if (left <= 0) throw new TimeoutError('fake CPX read', timeoutMs);
      await new Promise<void>((r) => { const t = setTimeout(() => { this.waiter = undefined; r(); }, Math.min(left, 5)); this.waiter = () => { clearTimeout(t); r(); }; });
    }
  }
}
