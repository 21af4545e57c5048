/** What the subsystem modules need from the `Crazyflie` object (keeps them unit-testable). */
import type { DownlinkMessage } from '../../protocols/crtp/decode.js';

export interface CfCore {
  readonly protocolVersion: number;
  readonly connectedLink: boolean;
  /** Send a packet (copied by the link). Never throws; returns false if there is no usable link. */
  send(packet: Uint8Array, len: number): Promise<boolean>;
  /** Send and wait for the first downlink message accepted by `match`; resends on timeout (cflib's expected-reply retry). */
  request<T extends DownlinkMessage>(packet: Uint8Array, len: number, match: (m: DownlinkMessage) => m is T, o?: { timeoutMs?: number; retries?: number }): Promise<T>;
  /** Register a handler for every decoded downlink message; returns an unsubscribe function. */
  onMessage(fn: (m: DownlinkMessage) => void): () => void;
}
