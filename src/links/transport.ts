/**
 * The byte-level seam between device clients and the wire (modelled on serialport's bindings-interface).
 * Contract for implementers:
 *  - `read` resolves with ≥ 1 byte copied into the caller's buffer, or rejects:
 *    `CanceledError` if the transport was closed while the read was pending, `DisconnectedError` if the
 *    device went away, `TimeoutError` if `timeoutMs` elapsed.
 *  - `write` is never called while a previous write is pending (callers await it).
 *  - `close` is idempotent and cancels pending reads.
 */
export interface Transport {
  readonly isOpen: boolean;
  /** Human-readable endpoint (`serial:///dev/ttyUSB0?baud=1000000`). */
  readonly uri: string;
  open(): Promise<void>;
  close(): Promise<void>;
  write(data: Uint8Array): Promise<void>;
  read(buffer: Uint8Array, offset: number, length: number, timeoutMs?: number): Promise<number>;
  /** Drop any bytes received but not yet read. */
  flush(): Promise<void>;
}

/**
 * Packet-oriented seam (one CRTP packet per call) for links that are packet-based by nature
 * (Crazyradio, UDP). `receive` resolves with the packet length written into `buffer`, or 0 on timeout.
 */
export interface PacketLink {
  readonly uri: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  send(packet: Uint8Array): Promise<void>;
  receive(buffer: Uint8Array, timeoutMs: number): Promise<number>;
}
