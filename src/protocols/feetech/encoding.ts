import type { RegisterName, RegisterSpec } from './control-table.js';
import { STS_CONTROL_TABLE } from './control-table.js';

/**
 * Sign-magnitude as the STS firmware stores signed fields: bit `signBit` is the sign, the bits below it
 * the magnitude. `encodeSignMagnitude(-500, 15) === 0x81f4`.
 */
export function encodeSignMagnitude(value: number, signBit: number): number {
  const max = (1 << signBit) - 1;
  const mag = Math.abs(value);
  if (!Number.isInteger(value) || mag > max) {
    throw new RangeError(`"value" must be an integer with |value| ≤ ${max} for sign bit ${signBit}, got ${value}`);
  }
  return value < 0 ? (1 << signBit) | mag : mag;
}

export function decodeSignMagnitude(raw: number, signBit: number): number {
  const sign = 1 << signBit;
  const mag = raw & (sign - 1);
  return raw & sign ? -mag : mag;
}

/** Register value (signed for sign-magnitude registers) → raw unsigned field. Throws RangeError if it does not fit. */
export function encodeRegisterValue(spec: RegisterSpec, value: number): number {
  if (spec.signBit !== undefined) return encodeSignMagnitude(value, spec.signBit);
  const max = spec.size === 1 ? 0xff : 0xffff;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`"value" must be an integer in [0, ${max}], got ${value}`);
  }
  return value;
}

export function decodeRegisterValue(spec: RegisterSpec, raw: number): number {
  return spec.signBit !== undefined ? decodeSignMagnitude(raw, spec.signBit) : raw;
}

/** Write a register value little-endian (STS series) at `out[offset]`; returns the bytes written. */
export function writeRegister(out: Uint8Array, offset: number, spec: RegisterSpec, value: number): number {
  const raw = encodeRegisterValue(spec, value);
  out[offset] = raw & 0xff;
  if (spec.size === 2) out[offset + 1] = (raw >> 8) & 0xff;
  return spec.size;
}

/** Read a register value (little-endian, sign-magnitude decoded) from `buf[offset]`. */
export function readRegister(buf: Uint8Array, offset: number, spec: RegisterSpec): number {
  const raw = spec.size === 2 ? (buf[offset] ?? 0) | ((buf[offset + 1] ?? 0) << 8) : (buf[offset] ?? 0);
  return decodeRegisterValue(spec, raw);
}

/** Little-endian raw field of 1 or 2 bytes (no sign handling). */
export function readRaw(buf: Uint8Array, offset: number, size: number): number {
  return size === 2 ? (buf[offset] ?? 0) | ((buf[offset + 1] ?? 0) << 8) : (buf[offset] ?? 0);
}

export function spec(name: RegisterName): RegisterSpec {
  return STS_CONTROL_TABLE[name];
}
