/**
 * Value types of log and param TOC entries (firmware-bridge/crazyflie/README.md, "Log and param") and typed read/write of values.
 */
import { readF32, readF64, readI16, readI32, readI8, readU16, readU32, writeF32, writeF64, writeU16, writeU32 } from './bytes.js';

/** Log variable type ids (`LOG_TYPE_MASK 0x0F` of the TOC type byte). */
export const LogType = { UINT8: 1, UINT16: 2, UINT32: 3, INT8: 4, INT16: 5, INT32: 6, FLOAT: 7, FP16: 8 } as const;
export type LogTypeId = (typeof LogType)[keyof typeof LogType];
export const LOG_TYPE_NAMES: Record<number, string> = { 1: 'uint8_t', 2: 'uint16_t', 3: 'uint32_t', 4: 'int8_t', 5: 'int16_t', 6: 'int32_t', 7: 'float', 8: 'FP16' };

/** Bytes of a log type id, or 0 if unknown. */
export function logTypeSize(t: number): number {
  switch (t & 0x0f) {
    case 1: case 4: return 1;
    case 2: case 5: case 8: return 2;
    case 3: case 6: case 7: return 4;
    default: return 0;
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Read one log value of type `t` at `off`. */
export function readLogValue(b: Uint8Array, off: number, t: number): number {
  switch (t & 0x0f) {
    case 1: return b[off]!;
    case 2: return readU16(b, off);
    case 3: return readU32(b, off);
    case 4: return readI8(b, off);
    case 5: return readI16(b, off);
    case 6: return readI32(b, off);
    case 7: return readF32(b, off);
    case 8: return halfToFloat(readU16(b, off));
    default: return NaN;
  }
}

export function writeLogValue(out: Uint8Array, off: number, t: number, v: number): number {
  switch (t & 0x0f) {
    case 1: case 4: out[off] = v & 0xff; return 1;
    case 2: case 5: writeU16(out, off, v); return 2;
    case 3: case 6: writeU32(out, off, v); return 4;
    case 7: writeF32(out, off, v); return 4;
    default: return 0;
  }
}

/** Param type byte: bits0-1 size, bit2 float, bit3 unsigned, bit4 extended, bit5 core, bit6 read-only, bit7 group. */
export const ParamType = {
  INT8: 0x00, INT16: 0x01, INT32: 0x02, INT64: 0x03,
  UINT8: 0x08, UINT16: 0x09, UINT32: 0x0a, UINT64: 0x0b,
  FLOAT: 0x06, DOUBLE: 0x07,
  RONLY: 0x40, EXTENDED: 0x10, CORE: 0x20,
} as const;

export function paramTypeSize(t: number): number { return 1 << (t & 0x03); }
export function paramIsReadOnly(t: number): boolean { return (t & 0x40) !== 0; }
export function paramTypeName(t: number): string {
  const size = paramTypeSize(t);
  if (t & 0x04) return size === 8 ? 'double' : size === 4 ? 'float' : `float${size * 8}`;
  return `${t & 0x08 ? 'uint' : 'int'}${size * 8}_t`;
}

export function readParamValue(b: Uint8Array, off: number, t: number): number {
  const size = paramTypeSize(t);
  if (t & 0x04) return size === 8 ? readF64(b, off) : size === 4 ? readF32(b, off) : NaN;
  const unsigned = (t & 0x08) !== 0;
  switch (size) {
    case 1: return unsigned ? b[off]! : readI8(b, off);
    case 2: return unsigned ? readU16(b, off) : readI16(b, off);
    case 4: return unsigned ? readU32(b, off) : readI32(b, off);
    default: {
      const lo = readU32(b, off);
      const hi = unsigned ? readU32(b, off + 4) : readI32(b, off + 4);
      return hi * 2 ** 32 + lo;
    }
  }
}

/** Write a param value; returns its size. Range errors are the caller's business (values are truncated like C). */
export function writeParamValue(out: Uint8Array, off: number, t: number, v: number): number {
  const size = paramTypeSize(t);
  if (t & 0x04) {
    if (size === 8) writeF64(out, off, v); else writeF32(out, off, v);
    return size;
  }
  const iv = Math.trunc(v);
  switch (size) {
    case 1: out[off] = iv & 0xff; break;
    case 2: writeU16(out, off, iv); break;
    case 4: writeU32(out, off, iv); break;
    default: writeU32(out, off, iv >>> 0); writeU32(out, off + 4, Math.floor(iv / 2 ** 32)); break;
  }
  return size;
}
