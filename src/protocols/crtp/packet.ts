/**
 * CRTP packet basics (firmware-bridge/crazyflie/README.md, "Packet"): 1 header byte + 0..30 payload bytes.
 * Header: port in bits 7..4, link bits 3..2 (ignored on decode; cflib sets them to 0b11, the firmware to 0),
 * channel in bits 1..0. Null packet: (header & 0xF3) === 0xF3.
 */
export const CrtpPort = {
  CONSOLE: 0x0,
  PARAM: 0x2,
  COMMANDER: 0x3,
  MEM: 0x4,
  LOGGING: 0x5,
  LOCALIZATION: 0x6,
  COMMANDER_GENERIC: 0x7,
  SETPOINT_HL: 0x8,
  SUPERVISOR: 0x9,
  PLATFORM: 0xd,
  LINKCTRL: 0xf,
} as const;
export type CrtpPortId = (typeof CrtpPort)[keyof typeof CrtpPort];

/** Max payload bytes after the header (`CRTP_MAX_DATA_SIZE`). */
export const CRTP_MAX_DATA_SIZE = 30;
/** Max bytes of a whole packet (header + payload). */
export const CRTP_MAX_PACKET_SIZE = CRTP_MAX_DATA_SIZE + 1;
/** Link bits as cflib sets them ("legacy support of the bootloader"). */
export const LINK_BITS_CFLIB = 0b11;

/** Current firmware CRTP protocol version (`CRTP_PROTOCOL_VERSION`). */
export const CRTP_PROTOCOL_VERSION = 12;

export function crtpHeader(port: number, channel: number, linkBits = LINK_BITS_CFLIB): number {
  return ((port & 0x0f) << 4) | ((linkBits & 0x03) << 2) | (channel & 0x03);
}
export function headerPort(header: number): number { return (header >> 4) & 0x0f; }
export function headerChannel(header: number): number { return header & 0x03; }
export function isNullHeader(header: number): boolean { return (header & 0xf3) === 0xf3; }

/** Write the header at out[0]; returns 1. */
export function writeHeader(out: Uint8Array, port: number, channel: number, linkBits = LINK_BITS_CFLIB): number {
  out[0] = crtpHeader(port, channel, linkBits);
  return 1;
}

/** The radio poll / null packet `[0xFF]`. */
export function encodeNull(out: Uint8Array): number {
  out[0] = 0xff;
  return 1;
}

/** Throws a RangeError when `out` cannot hold `n` bytes (programmer error, checked once per encode). */
export function ensureCapacity(out: Uint8Array, n: number): void {
  if (out.length < n) throw new RangeError(`"out" must hold ${n} bytes, has ${out.length}`);
}

/** Copy `len` bytes of a packet, e.g. to queue it. */
export function copyPacket(src: Uint8Array, len: number, dst: Uint8Array): number {
  for (let i = 0; i < len; i++) dst[i] = src[i]!;
  return len;
}
