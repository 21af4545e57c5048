/**
 * Feetech SCS/STS packet codec (STS series: little-endian). Pure functions on caller-owned buffers.
 *
 *   instruction: FF FF | ID | LEN | INSTR | P1..Pn | CHK      LEN = n + 2
 *   status:      FF FF | ID | LEN | ERR   | P1..Pn | CHK      CHK = ~(ID + LEN + INSTR/ERR + P…) & 0xFF
 *
 * Encoders write into `out` at `offset` and return the byte count. The scanner (`scanFrame`) finds the next
 * valid frame in a byte window, skipping garbage and corrupt candidates (resynchronises on FF FF and checks
 * id, length and checksum), without allocating. `decodePacket` is the strict, allocating variant for one
 * frame, throwing `ProtocolError`.
 */
import { ProtocolError } from '../../errors.js';
import type { RegisterName, RegisterSpec } from './control-table.js';
import { BROADCAST_ID, Instruction, MAX_PACKET_BYTES, STS_CONTROL_TABLE } from './control-table.js';
import { writeRegister } from './encoding.js';

export const HEADER = 0xff;
/** Bytes of a packet that are not parameters: FF FF ID LEN CODE … CHK. */
export const OVERHEAD = 6;

/** `~(sum of buf[start..end)) & 0xff`. */
export function checksum(buf: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i++) s += buf[i]!;
  return ~s & 0xff;
}

function checkRoom(out: Uint8Array, offset: number, n: number): void {
  if (offset < 0 || offset + n > out.length) throw new RangeError(`"out" too small: need ${n} bytes at offset ${offset}, have ${out.length - offset}`);
}

function checkId(id: number, allowBroadcast: boolean): void {
  const ok = Number.isInteger(id) && id >= 0 && (id <= 0xfd || (allowBroadcast && id === BROADCAST_ID));
  if (!ok) throw new RangeError(`"id" must be 0..253${allowBroadcast ? ' or 254 (broadcast)' : ''}, got ${id}`);
}

/** Finish a packet whose params are already in place at out[offset+5 ..]: header, id, len, code, checksum. */
function finish(out: Uint8Array, offset: number, id: number, code: number, nParams: number): number {
  const total = nParams + OVERHEAD;
  if (total > MAX_PACKET_BYTES) throw new RangeError(`packet of ${total} bytes exceeds ${MAX_PACKET_BYTES}`);
  out[offset] = HEADER;
  out[offset + 1] = HEADER;
  out[offset + 2] = id;
  out[offset + 3] = nParams + 2;
  out[offset + 4] = code;
  out[offset + 5 + nParams] = checksum(out, offset + 2, offset + 5 + nParams);
  return total;
}

/** Generic packet (instruction or status): params copied from `params[pOff..pOff+pLen)`. */
export function encodePacket(out: Uint8Array, offset: number, id: number, code: number,
  params?: ArrayLike<number>, pOff = 0, pLen = params ? params.length - pOff : 0): number {
  checkId(id, true);
  if (!Number.isInteger(code) || code < 0 || code > 0xff) throw new RangeError(`"code" must be a byte, got ${code}`);
  checkRoom(out, offset, pLen + OVERHEAD);
  for (let i = 0; i < pLen; i++) out[offset + 5 + i] = params![pOff + i]! & 0xff;
  return finish(out, offset, id, code, pLen);
}

export function encodePing(out: Uint8Array, offset: number, id: number): number {
  return encodePacket(out, offset, id, Instruction.PING);
}

export function encodeRead(out: Uint8Array, offset: number, id: number, addr: number, length: number): number {
  checkId(id, false);
  checkRoom(out, offset, 8);
  out[offset + 5] = addr;
  out[offset + 6] = length;
  return finish(out, offset, id, Instruction.READ, 2);
}

/** WRITE / REG_WRITE of raw bytes `data[0..len)` at `addr`. */
export function encodeWrite(out: Uint8Array, offset: number, id: number, addr: number, data: ArrayLike<number>,
  len = data.length, instr: number = Instruction.WRITE): number {
  checkId(id, true);
  checkRoom(out, offset, len + 1 + OVERHEAD);
  out[offset + 5] = addr;
  for (let i = 0; i < len; i++) out[offset + 6 + i] = data[i]! & 0xff;
  return finish(out, offset, id, instr, len + 1);
}

/** WRITE (or REG_WRITE) of one register by name, value encoded (sign-magnitude, little-endian). */
export function encodeWriteRegister(out: Uint8Array, offset: number, id: number, name: RegisterName | RegisterSpec,
  value: number, instr: number = Instruction.WRITE): number {
  const spec = typeof name === 'string' ? STS_CONTROL_TABLE[name] : name;
  checkId(id, true);
  checkRoom(out, offset, spec.size + 1 + OVERHEAD);
  out[offset + 5] = spec.addr;
  writeRegister(out, offset + 6, spec, value);
  return finish(out, offset, id, instr, spec.size + 1);
}

export function encodeAction(out: Uint8Array, offset: number, id = BROADCAST_ID): number {
  return encodePacket(out, offset, id, Instruction.ACTION);
}

export function encodeReset(out: Uint8Array, offset: number, id: number): number {
  return encodePacket(out, offset, id, Instruction.RESET);
}

/** SYNC_READ `length` bytes at `addr` from `ids[0..n)` (sent to broadcast; one status packet per id comes back). */
export function encodeSyncRead(out: Uint8Array, offset: number, addr: number, length: number, ids: ArrayLike<number>, n = ids.length): number {
  checkRoom(out, offset, n + 2 + OVERHEAD);
  out[offset + 5] = addr;
  out[offset + 6] = length;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    checkId(id, false);
    out[offset + 7 + i] = id;
  }
  return finish(out, offset, BROADCAST_ID, Instruction.SYNC_READ, n + 2);
}

/**
 * SYNC_WRITE one register to `ids[i]` with `values[i]` (register-encoded: sign-magnitude + little-endian).
 * `spec` may be a register name or a raw `{addr, size}` block.
 */
export function encodeSyncWrite(out: Uint8Array, offset: number, reg: RegisterName | RegisterSpec,
  ids: ArrayLike<number>, values: ArrayLike<number>, n = ids.length): number {
  const spec = typeof reg === 'string' ? STS_CONTROL_TABLE[reg] : reg;
  const per = spec.size + 1;
  checkRoom(out, offset, n * per + 2 + OVERHEAD);
  out[offset + 5] = spec.addr;
  out[offset + 6] = spec.size;
  let p = offset + 7;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    checkId(id, false);
    out[p] = id;
    writeRegister(out, p + 1, spec, values[i]!);
    p += per;
  }
  return finish(out, offset, BROADCAST_ID, Instruction.SYNC_WRITE, n * per + 2);
}

/** Status packet (servo → host). */
export function encodeStatus(out: Uint8Array, offset: number, id: number, error: number,
  params?: ArrayLike<number>, pOff = 0, pLen = params ? params.length - pOff : 0): number {
  checkId(id, false);
  return encodePacket(out, offset, id, error & 0xff, params, pOff, pLen);
}

// ---------------------------------------------------------------------------------------------
// Scanning (zero allocation)

/** Where the last frame found by `scanFrame` is. Reuse one per reader. */
export interface FrameView {
  /** Index of the first FF of the frame (or, on NEED_MORE, the first byte to keep). */
  start: number;
  /** Total bytes of the frame (LEN + 4). */
  length: number;
  id: number;
  /** Instruction code (instruction frames) or error byte (status frames). */
  code: number;
  paramsStart: number;
  paramsLength: number;
}

export interface ScanStats {
  /** Bytes skipped because they were not part of a valid frame. */
  garbageBytes: number;
  /** Candidate frames (FF FF + header) rejected for id, length, error byte or checksum. */
  badFrames: number;
  /** Of those, rejected for the checksum only. */
  checksumErrors: number;
}

export function newFrameView(): FrameView {
  return { start: 0, length: 0, id: 0, code: 0, paramsStart: 0, paramsLength: 0 };
}
export function newScanStats(): ScanStats {
  return { garbageBytes: 0, badFrames: 0, checksumErrors: 0 };
}

export const FRAME_NEED_MORE = 0;
export const FRAME_OK = 1;

/**
 * Find the next valid frame in `buf[start..end)`. Returns FRAME_OK with `view` describing it, or
 * FRAME_NEED_MORE with `view.start` = first byte the caller must keep (bytes before it are garbage).
 * `kind` = 'status' applies the host-side receive rules (id ≤ 0xFD, ERR ≤ 0x7F); 'instruction'
 * accepts the broadcast id 0xFE.
 */
export function scanFrame(buf: Uint8Array, start: number, end: number, view: FrameView,
  kind: 'status' | 'instruction' = 'status', stats?: ScanStats): number {
  let i = start;
  const maxId = kind === 'status' ? 0xfd : 0xfe;
  while (i < end) {
    if (buf[i] !== HEADER) { i++; continue; }
    if (i + 1 >= end) break; // lone FF at the end: may be the start of a header
    if (buf[i + 1] !== HEADER) { i += 2; continue; }
    if (i + 3 >= end) break; // need id + len
    const id = buf[i + 2]!;
    const len = buf[i + 3]!;
    if (id > maxId || len < 2 || len > MAX_PACKET_BYTES) {
      if (stats) stats.badFrames++;
      i++;
      continue;
    }
    if (kind === 'status' && i + 4 < end && buf[i + 4]! > 0x7f) {
      if (stats) stats.badFrames++;
      i++;
      continue;
    }
    const total = len + 4;
    if (i + total > end) break; // incomplete
    const chkAt = i + total - 1;
    if (checksum(buf, i + 2, chkAt) !== buf[chkAt]) {
      if (stats) { stats.badFrames++; stats.checksumErrors++; }
      i++;
      continue;
    }
    if (stats) stats.garbageBytes += i - start;
    view.start = i;
    view.length = total;
    view.id = id;
    view.code = buf[i + 4]!;
    view.paramsStart = i + 5;
    view.paramsLength = len - 2;
    return FRAME_OK;
  }
  const keep = Math.min(i, end);
  if (stats) stats.garbageBytes += keep - start;
  view.start = keep;
  view.length = 0;
  return FRAME_NEED_MORE;
}

// ---------------------------------------------------------------------------------------------
// Strict decoding (allocating, throws ProtocolError)

export interface DecodedPacket {
  id: number;
  /** Instruction code (instruction frames) or error byte (status frames). */
  code: number;
  params: Uint8Array;
}

/**
 * Decode exactly one frame occupying all of `bytes`. Throws `ProtocolError` (`E_FRAME` for a bad header,
 * id, length or error byte; `E_CHECKSUM` for a checksum mismatch).
 */
export function decodePacket(bytes: Uint8Array, kind: 'status' | 'instruction' = 'status'): DecodedPacket {
  if (bytes.length < OVERHEAD) throw new ProtocolError('E_FRAME', `feetech: frame too short (${bytes.length} bytes, need ≥ ${OVERHEAD})`, bytes);
  if (bytes[0] !== HEADER || bytes[1] !== HEADER) throw new ProtocolError('E_FRAME', 'feetech: frame does not start with FF FF', bytes);
  const id = bytes[2]!;
  const len = bytes[3]!;
  if (id > (kind === 'status' ? 0xfd : 0xfe)) throw new ProtocolError('E_FRAME', `feetech: invalid id ${id}`, bytes);
  if (len < 2 || len + 4 !== bytes.length) {
    throw new ProtocolError('E_FRAME', `feetech: LEN ${len} does not match a ${bytes.length}-byte frame (LEN + 4)`, bytes);
  }
  const code = bytes[4]!;
  if (kind === 'status' && code > 0x7f) throw new ProtocolError('E_FRAME', `feetech: invalid status error byte 0x${code.toString(16)}`, bytes);
  const chk = checksum(bytes, 2, bytes.length - 1);
  if (chk !== bytes[bytes.length - 1]) {
    throw new ProtocolError('E_CHECKSUM', `feetech: checksum 0x${bytes[bytes.length - 1]!.toString(16)} ≠ expected 0x${chk.toString(16)}`, bytes);
  }
  return { id, code, params: bytes.subarray(5, bytes.length - 1) };
}

export function toHex(bytes: Uint8Array, sep = ' '): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(sep);
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[^0-9a-fA-F]/g, '');
  if (clean.length % 2) throw new RangeError(`odd-length hex string "${hex}"`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
