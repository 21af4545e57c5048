/**
 * What the Crazyflie client needs from a link on top of the shared `PacketLink` seam (src/links/transport.ts):
 * asynchronous link errors (cflib's `link_error_callback`) and link-quality statistics (radio ACK/retry counts).
 * Every CRTP transport (radio, usb, serial/CPX, udp) implements `CrtpLink`.
 */
import type { TransportError } from '../errors.js';
import type { PacketLink } from './transport.js';

export interface LinkStats {
  /** Packets handed to the wire (including null/poll packets on the radio). */
  txPackets: number;
  rxPackets: number;
  /** Radio only: packets that got no ACK after all ESB retries. */
  lostPackets: number;
  /** Radio only: sum of ESB retries reported by the dongle. */
  retries: number;
  /** Downlink duplicates dropped by safelink. */
  duplicatesDropped: number;
  /** Incoming packets dropped because the receive queue was full. */
  rxOverruns: number;
  /** 0..100 from the last window (radio: ACK rate weighted by retries; other links: 100 while packets flow). */
  quality: number;
}

export interface CrtpLinkListener {
  /** The link failed (too many lost packets, socket refused, device gone). Called once per failure. */
  linkError(err: TransportError): void;
  /** Periodic quality report (radio ≈ every 100 ms). */
  linkQuality(quality: number, stats: Readonly<LinkStats>): void;
}

export interface CrtpLink extends PacketLink {
  readonly stats: Readonly<LinkStats>;
  /** True when requests whose answers can be lost must be resent (radio without safelink), as cflib's `needs_resending`. */
  readonly needsResending: boolean;
  setListener(listener: Partial<CrtpLinkListener> | undefined): void;
}

export function emptyStats(): LinkStats {
  return { txPackets: 0, rxPackets: 0, lostPackets: 0, retries: 0, duplicatesDropped: 0, rxOverruns: 0, quality: 100 };
}

/**
 * Fixed ring of packet slots (no allocation after construction) with a single-waiter `receive`.
 * Shared by the link implementations.
 */
export class PacketQueue {
  private readonly slots: Uint8Array[];
  private readonly lens: Int32Array;
  private head = 0;
  private count = 0;
  overruns = 0;
  private waiter: { buf: Uint8Array; resolve: (n: number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined } | undefined;
  private failure: Error | undefined;

  constructor(capacity = 64, slotBytes = 64) {
    this.slots = Array.from({ length: capacity }, () => new Uint8Array(slotBytes));
    this.lens = new Int32Array(capacity);
  }

  get size(): number { return this.count; }

  /** Copy a packet in; drops the oldest when full (counted in `overruns`). */
  push(src: Uint8Array, len = src.length): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      if (w.timer) clearTimeout(w.timer);
      const n = Math.min(len, w.buf.length);
      for (let i = 0; i < n; i++) w.buf[i] = src[i]!;
      w.resolve(n);
      return;
    }
    if (this.count === this.slots.length) { this.head = (this.head + 1) % this.slots.length; this.count--; this.overruns++; }
    const at = (this.head + this.count) % this.slots.length;
    const slot = this.slots[at]!;
    const n = Math.min(len, slot.length);
    for (let i = 0; i < n; i++) slot[i] = src[i]!;
    this.lens[at] = n;
    this.count++;
  }

  /** Copy the oldest packet into `buf`; returns its length or 0 if empty. */
  shift(buf: Uint8Array): number {
    if (this.count === 0) return 0;
    const slot = this.slots[this.head]!;
    const n = Math.min(this.lens[this.head]!, buf.length);
    for (let i = 0; i < n; i++) buf[i] = slot[i]!;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    return n;
  }

  /** Resolve with the next packet's length (copied into `buf`), 0 after `timeoutMs`, or reject after `fail()`. */
  receive(buf: Uint8Array, timeoutMs: number): Promise<number> {
    const n = this.shift(buf);
    if (n > 0) return Promise.resolve(n);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new TypeError('receive() called while another receive() is pending'));
    return new Promise((resolve, reject) => {
      const timer = timeoutMs >= 0 && Number.isFinite(timeoutMs)
        ? setTimeout(() => { this.waiter = undefined; resolve(0); }, timeoutMs) : undefined;
      this.waiter = { buf, resolve, reject, timer };
    });
  }

  /** Reject the pending and all future receives with `err` (close → CanceledError, loss → DisconnectedError). */
  fail(err: Error): void {
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) { if (w.timer) clearTimeout(w.timer); w.reject(err); }
  }

  reset(): void { this.failure = undefined; this.head = 0; this.count = 0; }
}
