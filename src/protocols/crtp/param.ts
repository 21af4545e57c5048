/**
 * Param subsystem encoders (port 2, firmware-bridge/crazyflie/README.md). TOC requests: use `encodeTocInfo/encodeTocItem` with
 * `CrtpPort.PARAM`.
 */
import { writeCString, writeU16 } from './bytes.js';
import { CrtpPort, crtpHeader, ensureCapacity, CRTP_MAX_PACKET_SIZE } from './packet.js';
import { paramTypeSize, writeParamValue } from './types.js';

export const ParamChannel = { TOC: 0, READ: 1, WRITE: 2, MISC: 3 } as const;
export const ParamMisc = {
  SET_BY_NAME: 0, VALUE_UPDATED: 1, GET_EXTENDED_TYPE: 2, PERSISTENT_STORE: 3,
  PERSISTENT_GET_STATE: 4, PERSISTENT_CLEAR: 5, GET_DEFAULT_VALUE: 6,
} as const;
/** Status byte of a failed write to an unknown id (`PARAM_NOT_FOUND` in the firmware is ENOENT). */
export const PARAM_ENOENT = 2;

export function encodeParamRead(out: Uint8Array, id: number): number {
  ensureCapacity(out, 3);
  out[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.READ);
  writeU16(out, 1, id);
  return 3;
}

export function encodeParamWrite(out: Uint8Array, id: number, type: number, value: number): number {
  ensureCapacity(out, 3 + paramTypeSize(type));
  out[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.WRITE);
  writeU16(out, 1, id);
  return 3 + writeParamValue(out, 3, type, value);
}

export function encodeParamSetByName(out: Uint8Array, group: string, name: string, type: number, value: number): number {
  const len = 2 + group.length + 1 + name.length + 1 + 1 + paramTypeSize(type);
  if (len > CRTP_MAX_PACKET_SIZE) throw new RangeError(`param name too long for set-by-name: ${group}.${name}`);
  ensureCapacity(out, len);
  out[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.MISC);
  out[1] = ParamMisc.SET_BY_NAME;
  let i = writeCString(out, 2, group);
  i = writeCString(out, i, name);
  out[i++] = type;
  return i + writeParamValue(out, i, type, value);
}

export function encodeParamMisc(out: Uint8Array, cmd: number, id: number): number {
  ensureCapacity(out, 4);
  out[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.MISC);
  out[1] = cmd;
  writeU16(out, 2, id);
  return 4;
}

// ---- CF → host ----

export function encodeParamReadReply(out: Uint8Array, id: number, status: number, type: number, value: number, linkBits = 0): number {
  out[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.READ, linkBits);
  writeU16(out, 1, id);
  out[3] = status;
  if (status !== 0) return 4;
  return 4 + writeParamValue(out, 4, type, value);
}
