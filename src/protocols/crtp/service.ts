/**
 * Small services: link control (port 15), platform (port 13), supervisor (port 9), console (port 0), memory
 * info (port 4). Encoders write a whole packet and return its length.
 */
import { CrtpPort, crtpHeader, ensureCapacity, CRTP_MAX_DATA_SIZE } from './packet.js';

export const LinkChannel = { ECHO: 0, SOURCE: 1, SINK: 2, NULL: 3 } as const;
export const PlatformChannel = { COMMAND: 0, VERSION: 1, APP: 2 } as const;
export const PlatformVersionCommand = { GET_PROTOCOL: 0, GET_FIRMWARE: 1, GET_DEVICE_TYPE: 2 } as const;
export const PlatformCommand = { SET_CONT_WAVE: 0, ARM_SYSTEM: 1, RECOVER_SYSTEM: 2 } as const;
export const SupervisorCommand = { ARM_SYSTEM: 1, RECOVER_SYSTEM: 2, EMERGENCY_STOP: 3 } as const;
export const MemCommand = { INFO_VER: 0, INFO_NBR: 1, INFO_DETAILS: 2 } as const;
/** The text the firmware sends on LINK source, used by cflib to detect protocol-version support. */
export const LINK_SOURCE_MAGIC = 'Bitcraze Crazyflie';
/** Safelink enable probe `[0xFF, 0x05, 0x01]`. */
export const SAFELINK_PROBE = Object.freeze([0xff, 0x05, 0x01]);

/** Link echo: the firmware sends the same packet back. */
export function encodeLinkEcho(out: Uint8Array, payload?: Uint8Array, payloadLen = payload?.length ?? 0): number {
  if (payloadLen > CRTP_MAX_DATA_SIZE) throw new RangeError(`echo payload must be ≤ ${CRTP_MAX_DATA_SIZE} bytes, got ${payloadLen}`);
  ensureCapacity(out, 1 + payloadLen);
  out[0] = crtpHeader(CrtpPort.LINKCTRL, LinkChannel.ECHO);
  for (let i = 0; i < payloadLen; i++) out[1 + i] = payload![i]!;
  return 1 + payloadLen;
}

/** LINK source request (`fd 00`), answered with "Bitcraze Crazyflie". */
export function encodeLinkSource(out: Uint8Array): number {
  ensureCapacity(out, 2);
  out[0] = crtpHeader(CrtpPort.LINKCTRL, LinkChannel.SOURCE);
  out[1] = 0;
  return 2;
}

export function encodeGetProtocolVersion(out: Uint8Array): number {
  ensureCapacity(out, 2);
  out[0] = crtpHeader(CrtpPort.PLATFORM, PlatformChannel.VERSION);
  out[1] = PlatformVersionCommand.GET_PROTOCOL;
  return 2;
}

export function encodePlatformVersionRequest(out: Uint8Array, cmd: number): number {
  ensureCapacity(out, 2);
  out[0] = crtpHeader(CrtpPort.PLATFORM, PlatformChannel.VERSION);
  out[1] = cmd;
  return 2;
}

/** Arm/disarm: supervisor port for protocol ≥ 12, legacy platform port otherwise. */
export function encodeArm(out: Uint8Array, arm: boolean, protocolVersion = 12): number {
  ensureCapacity(out, 3);
  out[0] = protocolVersion >= 12 ? crtpHeader(CrtpPort.SUPERVISOR, 1) : crtpHeader(CrtpPort.PLATFORM, PlatformChannel.COMMAND);
  out[1] = SupervisorCommand.ARM_SYSTEM;
  out[2] = arm ? 1 : 0;
  return 3;
}

export function encodeEmergencyStop(out: Uint8Array): number {
  ensureCapacity(out, 2);
  out[0] = crtpHeader(CrtpPort.SUPERVISOR, 1);
  out[1] = SupervisorCommand.EMERGENCY_STOP;
  return 2;
}

/** Memory subsystem: number of memories request (port 4 ch 0, `[0x01]`). */
export function encodeMemCountRequest(out: Uint8Array): number {
  ensureCapacity(out, 2);
  out[0] = crtpHeader(CrtpPort.MEM, 0);
  out[1] = MemCommand.INFO_NBR;
  return 2;
}

/** Console text (CF → host): ASCII, not NUL terminated, ≤ 30 bytes per packet. Returns bytes consumed via `length`. */
export function encodeConsole(out: Uint8Array, text: string, start = 0, linkBits = 0): number {
  out[0] = crtpHeader(CrtpPort.CONSOLE, 0, linkBits);
  const n = Math.min(CRTP_MAX_DATA_SIZE, text.length - start);
  for (let i = 0; i < n; i++) out[1 + i] = text.charCodeAt(start + i) & 0x7f;
  return 1 + n;
}
