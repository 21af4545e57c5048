/**
 * CPX over UART framing (firmware-bridge/crazyflie/README.md, "CPX over UART"): `[0xFF][len][payload…][xor]`, xor over start, len and
 * payload; `FF 00` is the clear-to-send token. CPX payload = 2-byte routing header + data.
 */
import { ProtocolError } from '../errors.js';

export const CpxTarget = { STM32: 1, ESP32: 2, HOST: 3, GAP8: 4 } as const;
export const CpxFunction = { SYSTEM: 1, CONSOLE: 2, CRTP: 3, WIFI_CTRL: 4, APP: 5, TEST: 0x0e, BOOTLOADER: 0x0f } as const;
export const CpxSystemCommand = { SET_CLIENT_CONNECTED: 0x20, ENABLE_CRTP_BRIDGE: 0x21 } as const;
export const CPX_UART_START = 0xff;
/** Max UART payload (CPX header + data). */
export const CPX_UART_MTU = 100;

export interface CpxRoute { destination: number; source: number; fn: number; lastPacket: boolean }

/** Write a whole UART frame carrying `data` with the given route; returns the frame length. */
export function encodeCpxFrame(out: Uint8Array, route: CpxRoute, data: Uint8Array, dataLen = data.length): number {
  const len = 2 + dataLen;
  if (len > CPX_UART_MTU) throw new RangeError(`CPX payload of ${len} bytes exceeds the MTU ${CPX_UART_MTU}`);
  if (out.length < len + 3) throw new RangeError(`"out" must hold ${len + 3} bytes`);
  out[0] = CPX_UART_START;
  out[1] = len;
  out[2] = (route.destination & 0x07) | ((route.source & 0x07) << 3) | (route.lastPacket ? 0x40 : 0);
  out[3] = route.fn & 0x3f; // version 0
  for (let i = 0; i < dataLen; i++) out[4 + i] = data[i]!;
  let x = 0;
  for (let i = 0; i < len + 2; i++) x ^= out[i]!;
  out[len + 2] = x;
  return len + 3;
}

/** The CTS token `FF 00` (2 bytes). */
export function encodeCpxCts(out: Uint8Array): number {
  out[0] = CPX_UART_START;
  out[1] = 0;
  return 2;
}

export type CpxFrame =
  | { kind: 'cts' }
  | { kind: 'packet'; route: CpxRoute; version: number; data: Uint8Array };

/** Decode exactly one complete frame occupying `len` bytes. Throws ProtocolError on any defect. */
export function decodeCpxFrame(buf: Uint8Array, len: number): CpxFrame {
  const frame = buf.subarray(0, Math.max(0, Math.min(len, buf.length)));
  if (len < 2 || len > buf.length) throw new ProtocolError('E_FRAME', `CPX frame too short (${len} bytes)`, frame);
  if (buf[0] !== CPX_UART_START) throw new ProtocolError('E_FRAME', 'CPX frame does not start with 0xFF', frame);
  const plen = buf[1]!;
  if (plen === 0) {
    if (len !== 2) throw new ProtocolError('E_FRAME', 'CTS token with trailing bytes', frame);
    return { kind: 'cts' };
  }
  if (plen > CPX_UART_MTU) throw new ProtocolError('E_FRAME', `CPX length ${plen} exceeds MTU`, frame);
  if (plen < 2) throw new ProtocolError('E_FRAME', 'CPX payload shorter than its 2-byte header', frame);
  if (len !== plen + 3) throw new ProtocolError('E_FRAME', `CPX frame length ${len} ≠ ${plen + 3}`, frame);
  let x = 0;
  for (let i = 0; i < plen + 2; i++) x ^= buf[i]!;
  if (x !== buf[plen + 2]) throw new ProtocolError('E_CHECKSUM', 'CPX checksum mismatch', frame);
  const b0 = buf[2]!;
  const b1 = buf[3]!;
  return {
    kind: 'packet',
    route: { destination: b0 & 0x07, source: (b0 >> 3) & 0x07, lastPacket: (b0 & 0x40) !== 0, fn: b1 & 0x3f },
    version: b1 >> 6,
    data: buf.subarray(4, plen + 2),
  };
}

/**
 * Incremental UART stream parser: feed arbitrary chunks, get frames through the callback. Resyncs on 0xFF after
 * garbage and counts checksum errors (a byte stream cannot throw per frame). Preallocated frame buffer.
 */
export class CpxStreamDecoder {
  private readonly frame = new Uint8Array(CPX_UART_MTU + 3);
  private pos = 0;
  checksumErrors = 0;
  droppedBytes = 0;
  constructor(private readonly onFrame: (f: CpxFrame) => void) {}

  push(chunk: Uint8Array, len = chunk.length): void {
    for (let i = 0; i < len; i++) {
      const b = chunk[i]!;
      if (this.pos === 0) {
        if (b === CPX_UART_START) this.frame[this.pos++] = b; else this.droppedBytes++;
        continue;
      }
      if (this.pos === 1) {
        if (b > CPX_UART_MTU) { this.droppedBytes += 2; this.pos = b === CPX_UART_START ? 1 : 0; continue; }
        this.frame[this.pos++] = b;
        if (b === 0) { this.pos = 0; this.onFrame({ kind: 'cts' }); }
        else if (b === 1) { this.droppedBytes += 2; this.pos = 0; }
        continue;
      }
      this.frame[this.pos++] = b;
      const plen = this.frame[1]!;
      if (this.pos === plen + 3) {
        this.pos = 0;
        let f: CpxFrame;
        try { f = decodeCpxFrame(this.frame, plen + 3); } catch { this.checksumErrors++; continue; }
        // hand out a copy of the data: the frame buffer is reused for the next frame
        if (f.kind === 'packet') f = { ...f, data: f.data.slice() };
        this.onFrame(f);
      }
    }
  }
}
