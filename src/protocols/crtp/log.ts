/**
 * Log subsystem encoders (port 5, firmware-bridge/crazyflie/README.md): TOC v2 on channel 0, block control on channel 1.
 * TOC encoders take the port so the param TOC (port 2) shares them.
 */
import { writeCString, writeU16, writeU32 } from './bytes.js';
import { CrtpPort, crtpHeader, ensureCapacity, CRTP_MAX_PACKET_SIZE } from './packet.js';

export const TocCommand = { GET_ITEM_V1: 0, GET_INFO_V1: 1, GET_ITEM_V2: 2, GET_INFO_V2: 3 } as const;
export const LogChannel = { TOC: 0, CONTROL: 1, DATA: 2 } as const;
export const LogControl = {
  CREATE_BLOCK: 0, APPEND_BLOCK: 1, DELETE_BLOCK: 2, START_BLOCK: 3, STOP_BLOCK: 4, RESET: 5,
  CREATE_BLOCK_V2: 6, APPEND_BLOCK_V2: 7, START_BLOCK_V2: 8,
} as const;
export const LOG_MAX_BLOCKS = 16;
export const LOG_MAX_OPS = 128;
/** Max bytes of values in one log block (`LOG_MAX_LEN`). */
export const LOG_MAX_LEN = 26;

export const Errno = { ENOENT: 2, E2BIG: 7, ENOEXEC: 8, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EBUSY: 16, EEXIST: 17, EINVAL: 22 } as const;

export function encodeTocInfo(out: Uint8Array, port: number = CrtpPort.LOGGING): number {
  ensureCapacity(out, 2);
  out[0] = crtpHeader(port, 0);
  out[1] = TocCommand.GET_INFO_V2;
  return 2;
}

export function encodeTocItem(out: Uint8Array, id: number, port: number = CrtpPort.LOGGING): number {
  ensureCapacity(out, 4);
  out[0] = crtpHeader(port, 0);
  out[1] = TocCommand.GET_ITEM_V2;
  writeU16(out, 2, id);
  return 4;
}

/** One variable of a block: TOC id and the type to fetch it as (storage type taken from the TOC unless given). */
export interface LogBlockVariable { id: number; fetchAs: number; storedAs?: number }

function blockVars(out: Uint8Array, cmd: number, blockId: number, vars: readonly LogBlockVariable[]): number {
  const len = 3 + vars.length * 3;
  if (len > CRTP_MAX_PACKET_SIZE) throw new RangeError(`too many variables for one packet: ${vars.length} (max 9)`);
  ensureCapacity(out, len);
  out[0] = crtpHeader(CrtpPort.LOGGING, LogChannel.CONTROL);
  out[1] = cmd;
  out[2] = blockId & 0xff;
  let i = 3;
  for (const v of vars) {
    out[i++] = (v.fetchAs & 0x0f) | (((v.storedAs ?? v.fetchAs) & 0x0f) << 4);
    writeU16(out, i, v.id);
    i += 2;
  }
  return i;
}

export function encodeLogCreateBlock(out: Uint8Array, blockId: number, vars: readonly LogBlockVariable[]): number {
  return blockVars(out, LogControl.CREATE_BLOCK_V2, blockId, vars);
}
export function encodeLogAppendBlock(out: Uint8Array, blockId: number, vars: readonly LogBlockVariable[]): number {
  return blockVars(out, LogControl.APPEND_BLOCK_V2, blockId, vars);
}

/** START_BLOCK_V2 with a period in ms (u16). */
export function encodeLogStartBlock(out: Uint8Array, blockId: number, periodMs: number): number {
  ensureCapacity(out, 5);
  out[0] = crtpHeader(CrtpPort.LOGGING, LogChannel.CONTROL);
  out[1] = LogControl.START_BLOCK_V2;
  out[2] = blockId & 0xff;
  writeU16(out, 3, Math.max(1, Math.min(0xffff, Math.round(periodMs))));
  return 5;
}

/** Legacy START_BLOCK (cmd 3) with the period in units of 10 ms (u8). */
export function encodeLogStartBlockV1(out: Uint8Array, blockId: number, period10ms: number): number {
  ensureCapacity(out, 4);
  out[0] = crtpHeader(CrtpPort.LOGGING, LogChannel.CONTROL);
  out[1] = LogControl.START_BLOCK;
  out[2] = blockId & 0xff;
  out[3] = period10ms & 0xff;
  return 4;
}

function blockCmd(out: Uint8Array, cmd: number, blockId: number): number {
  ensureCapacity(out, 3);
  out[0] = crtpHeader(CrtpPort.LOGGING, LogChannel.CONTROL);
  out[1] = cmd;
  out[2] = blockId & 0xff;
  return 3;
}
export function encodeLogStopBlock(out: Uint8Array, blockId: number): number { return blockCmd(out, LogControl.STOP_BLOCK, blockId); }
export function encodeLogDeleteBlock(out: Uint8Array, blockId: number): number { return blockCmd(out, LogControl.DELETE_BLOCK, blockId); }
export function encodeLogReset(out: Uint8Array): number {
  ensureCapacity(out, 2);
  out[0] = crtpHeader(CrtpPort.LOGGING, LogChannel.CONTROL);
  out[1] = LogControl.RESET;
  return 2;
}

// ---- CF → host (used by the simulator and tests; link bits 0 like the firmware's CRTP_HEADER) ----

export function encodeLogTocInfoReply(out: Uint8Array, count: number, crc: number, port: number = CrtpPort.LOGGING, linkBits = 0): number {
  out[0] = crtpHeader(port, 0, linkBits);
  out[1] = TocCommand.GET_INFO_V2;
  writeU16(out, 2, count);
  writeU32(out, 4, crc >>> 0);
  if (port !== CrtpPort.LOGGING) return 8;
  out[8] = LOG_MAX_BLOCKS;
  out[9] = LOG_MAX_OPS;
  return 10;
}

/** TOC item reply; `type` is the raw type byte. Returns the length, or just the 2-byte "out of range" reply if `group` is null. */
export function encodeTocItemReply(out: Uint8Array, id: number, type: number, group: string | null, name: string, port: number = CrtpPort.LOGGING, linkBits = 0): number {
  out[0] = crtpHeader(port, 0, linkBits);
  out[1] = TocCommand.GET_ITEM_V2;
  if (group === null) return 2;
  const need = 5 + group.length + 1 + name.length + 1;
  if (need > CRTP_MAX_PACKET_SIZE) throw new RangeError(`TOC name too long: ${group}.${name}`);
  writeU16(out, 2, id);
  out[4] = type;
  const i = writeCString(out, 5, group);
  return writeCString(out, i, name);
}

export function encodeLogControlReply(out: Uint8Array, cmd: number, blockId: number, errno: number, linkBits = 0): number {
  out[0] = crtpHeader(CrtpPort.LOGGING, LogChannel.CONTROL, linkBits);
  out[1] = cmd;
  out[2] = blockId;
  out[3] = errno;
  return 4;
}

/** Log data header: `[blockId][u24 timestamp]`; values follow from offset 5. Returns 5. */
export function encodeLogDataHeader(out: Uint8Array, blockId: number, timestampMs: number, linkBits = 0): number {
  out[0] = crtpHeader(CrtpPort.LOGGING, LogChannel.DATA, linkBits);
  out[1] = blockId;
  const t = timestampMs & 0xffffff;
  out[2] = t & 0xff; out[3] = (t >> 8) & 0xff; out[4] = (t >> 16) & 0xff;
  return 5;
}
