/**
 * Little-endian scalar read/write on caller-owned byte buffers, without allocating.
 * Floats go through one module-level scratch word; the byte order of the host is detected once.
 */
const scratchF32 = new Float32Array(1);
const scratchU8 = new Uint8Array(scratchF32.buffer);
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function writeU8(out: Uint8Array, off: number, v: number): void { out[off] = v & 0xff; }

export function writeU16(out: Uint8Array, off: number, v: number): void {
  out[off] = v & 0xff;
  out[off + 1] = (v >>> 8) & 0xff;
}
export const writeI16 = writeU16;

export function writeU32(out: Uint8Array, off: number, v: number): void {
  out[off] = v & 0xff;
  out[off + 1] = (v >>> 8) & 0xff;
  out[off + 2] = (v >>> 16) & 0xff;
  out[off + 3] = (v >>> 24) & 0xff;
}
export const writeI32 = writeU32;

export function writeF32(out: Uint8Array, off: number, v: number): void {
  scratchF32[0] = v;
  if (HOST_LE) {
    out[off] = scratchU8[0]!; out[off + 1] = scratchU8[1]!; out[off + 2] = scratchU8[2]!; out[off + 3] = scratchU8[3]!;
  } else {
    out[off] = scratchU8[3]!; out[off + 1] = scratchU8[2]!; out[off + 2] = scratchU8[1]!; out[off + 3] = scratchU8[0]!;
  }
}

export function readU8(b: Uint8Array, off: number): number { return b[off]! ; }
export function readI8(b: Uint8Array, off: number): number { const v = b[off]!; return v > 127 ? v - 256 : v; }
export function readU16(b: Uint8Array, off: number): number { return b[off]! | (b[off + 1]! << 8); }
export function readI16(b: Uint8Array, off: number): number { const v = readU16(b, off); return v > 0x7fff ? v - 0x10000 : v; }
export function readU24(b: Uint8Array, off: number): number { return b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16); }
export function readU32(b: Uint8Array, off: number): number { return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0; }
export function readI32(b: Uint8Array, off: number): number { return b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24); }

export function readF32(b: Uint8Array, off: number): number {
  if (HOST_LE) {
    scratchU8[0] = b[off]!; scratchU8[1] = b[off + 1]!; scratchU8[2] = b[off + 2]!; scratchU8[3] = b[off + 3]!;
  } else {
    scratchU8[3] = b[off]!; scratchU8[2] = b[off + 1]!; scratchU8[1] = b[off + 2]!; scratchU8[0] = b[off + 3]!;
  }
  return scratchF32[0]!;
}

const scratchF64 = new Float64Array(1);
const scratchU8d = new Uint8Array(scratchF64.buffer);
export function readF64(b: Uint8Array, off: number): number {
  for (let i = 0; i < 8; i++) scratchU8d[HOST_LE ? i : 7 - i] = b[off + i]!;
  return scratchF64[0]!;
}
export function writeF64(out: Uint8Array, off: number, v: number): void {
  scratchF64[0] = v;
  for (let i = 0; i < 8; i++) out[off + i] = scratchU8d[HOST_LE ? i : 7 - i]!;
}

/** Bytes of an ASCII/UTF-8 string written NUL-terminated at `off`; returns the offset after the NUL. */
export function writeCString(out: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[off++] = s.charCodeAt(i) & 0x7f;
  out[off++] = 0;
  return off;
}

export function hex(b: Uint8Array, len = b.length): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (i ? ' ' : '') + b[i]!.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
