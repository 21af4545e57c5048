/**
 * Bounds-checked, allocation-light access to a flatbuffer.
 *
 * flatc's generated readers (and the `flatbuffers` runtime) trust every offset they read: on garbage
 * input they read out of bounds (`RangeError` from DataView at best, silently wrong data at worst).
 * This module validates each offset, vtable and vector length against the buffer before use and
 * throws `ModelError('E_MODEL_SCHEMA', …)` naming the path of the broken field.
 *
 * Flatbuffers layout, as relied on here (little-endian):
 *   - root: u32 at 0 → offset of the root table (relative to 0); file identifier at bytes 4..7;
 *   - table at T: i32 soffset at T; vtable V = T − soffset;
 *     vtable: u16 vtSize (bytes, incl. these 4), u16 tableSize, then one u16 field offset per field id
 *     (0 = absent / default); the field lives at T + fieldOffset, which must be < T + tableSize;
 *   - offset fields (tables, vectors, strings) hold a u32 relative to their own position;
 *   - vector at P: u32 length, then elements from P + 4; strings are byte vectors (+ NUL).
 */
import { ModelError } from '../../errors.js';

export class FbView {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly length: number;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
  }

  fail(path: string, what: string): never {
    throw new ModelError('E_MODEL_SCHEMA', `corrupt model: ${path}: ${what}`,
      { hint: 'the .tflite file is truncated or not a valid TFLite flatbuffer; re-export it (kdp export)' });
  }

  /** Check that [pos, pos+size) lies in the buffer. */
  check(pos: number, size: number, path: string): void {
    if (!Number.isInteger(pos) || pos < 0 || size < 0 || pos + size > this.length) {
      this.fail(path, `offset ${pos}+${size} outside the ${this.length}-byte buffer`);
    }
  }

  u8(pos: number, path: string): number { this.check(pos, 1, path); return this.dv.getUint8(pos); }
  i8(pos: number, path: string): number { this.check(pos, 1, path); return this.dv.getInt8(pos); }
  u16(pos: number, path: string): number { this.check(pos, 2, path); return this.dv.getUint16(pos, true); }
  i32(pos: number, path: string): number { this.check(pos, 4, path); return this.dv.getInt32(pos, true); }
  u32(pos: number, path: string): number { this.check(pos, 4, path); return this.dv.getUint32(pos, true); }
  f32(pos: number, path: string): number { this.check(pos, 4, path); return this.dv.getFloat32(pos, true); }
  i64(pos: number, path: string): bigint { this.check(pos, 8, path); return this.dv.getBigInt64(pos, true); }
  u64(pos: number, path: string): bigint { this.check(pos, 8, path); return this.dv.getBigUint64(pos, true); }

  /** The root table (u32 at 0). */
  root(path = 'root'): FbTable {
    return this.tableAt(this.u32(0, path), path);
  }

  /** Follow a u32 offset stored at `pos` (relative to pos). */
  deref(pos: number, path: string): number {
    const rel = this.u32(pos, path);
    const target = pos + rel;
    if (rel === 0 || target >= this.length) this.fail(path, `offset ${rel} at ${pos} points outside the buffer`);
    return target;
  }

  tableAt(pos: number, path: string): FbTable {
    this.check(pos, 4, path);
    const vtable = pos - this.dv.getInt32(pos, true);
    if (vtable < 0 || vtable + 4 > this.length || (vtable & 1) !== 0) this.fail(path, `vtable at ${vtable} outside the buffer`);
    const vtSize = this.dv.getUint16(vtable, true);
    const tableSize = this.dv.getUint16(vtable + 2, true);
    if (vtSize < 4 || (vtSize & 1) !== 0 || vtable + vtSize > this.length) this.fail(path, `bad vtable size ${vtSize}`);
    if (tableSize < 4 || pos + tableSize > this.length) this.fail(path, `bad table size ${tableSize}`);
    return new FbTable(this, pos, vtable, vtSize, tableSize, path);
  }
}

/** A validated table. `field*` accessors take the schema field id (declaration order, unions take 2). */
export class FbTable {
  constructor(readonly fb: FbView, readonly pos: number, private readonly vtable: number,
    private readonly vtSize: number, private readonly tableSize: number, readonly path: string) {}

  /** Absolute position of field `id`, or 0 if absent. Checks it (and `size` bytes) lie inside the table. */
  fieldPos(id: number, size: number, name: string): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtSize) return 0;
    const off = this.fb.dv.getUint16(this.vtable + slot, true);
    if (off === 0) return 0;
    if (off < 4 || off + size > this.tableSize) this.fb.fail(`${this.path}.${name}`, `field offset ${off} outside the ${this.tableSize}-byte table`);
    return this.pos + off;
  }

  has(id: number): boolean {
    const slot = 4 + 2 * id;
    return slot + 2 <= this.vtSize && this.fb.dv.getUint16(this.vtable + slot, true) !== 0;
  }

  u8(id: number, name: string, dflt = 0): number { const p = this.fieldPos(id, 1, name); return p ? this.fb.dv.getUint8(p) : dflt; }
  i8(id: number, name: string, dflt = 0): number { const p = this.fieldPos(id, 1, name); return p ? this.fb.dv.getInt8(p) : dflt; }
  bool(id: number, name: string, dflt = false): boolean { const p = this.fieldPos(id, 1, name); return p ? this.fb.dv.getUint8(p) !== 0 : dflt; }
  i32(id: number, name: string, dflt = 0): number { const p = this.fieldPos(id, 4, name); return p ? this.fb.dv.getInt32(p, true) : dflt; }
  u32(id: number, name: string, dflt = 0): number { const p = this.fieldPos(id, 4, name); return p ? this.fb.dv.getUint32(p, true) : dflt; }
  f32(id: number, name: string, dflt = 0): number { const p = this.fieldPos(id, 4, name); return p ? this.fb.dv.getFloat32(p, true) : dflt; }
  u64(id: number, name: string): bigint { const p = this.fieldPos(id, 8, name); return p ? this.fb.dv.getBigUint64(p, true) : 0n; }

  /** Sub-table, or null if absent. */
  table(id: number, name: string): FbTable | null {
    const p = this.fieldPos(id, 4, name);
    if (!p) return null;
    const path = `${this.path}.${name}`;
    return this.fb.tableAt(this.fb.deref(p, path), path);
  }

  /** Vector header: position of element 0 and the element count, validated for `elemSize`. */
  vector(id: number, name: string, elemSize: number): { start: number; length: number } | null {
    const p = this.fieldPos(id, 4, name);
    if (!p) return null;
    const path = `${this.path}.${name}`;
    const v = this.fb.deref(p, path);
    const length = this.fb.u32(v, path);
    const start = v + 4;
    if (length * elemSize > this.fb.length - start) this.fb.fail(path, `vector of ${length}×${elemSize} bytes runs past the end of the buffer`);
    return { start, length };
  }

  string(id: number, name: string): string | null {
    const v = this.vector(id, name, 1);
    if (!v) return null;
    return TEXT.decode(this.fb.bytes.subarray(v.start, v.start + v.length));
  }

  i32Vector(id: number, name: string): number[] | null {
    const v = this.vector(id, name, 4);
    if (!v) return null;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.fb.dv.getInt32(v.start + 4 * i, true);
    return out;
  }

  f32Vector(id: number, name: string): number[] | null {
    const v = this.vector(id, name, 4);
    if (!v) return null;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.fb.dv.getFloat32(v.start + 4 * i, true);
    return out;
  }

  i64Vector(id: number, name: string): bigint[] | null {
    const v = this.vector(id, name, 8);
    if (!v) return null;
    const out = new Array<bigint>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.fb.dv.getBigInt64(v.start + 8 * i, true);
    return out;
  }

  /** Bytes of a [ubyte] vector as a view (no copy), or null. */
  bytesView(id: number, name: string): Uint8Array | null {
    const v = this.vector(id, name, 1);
    if (!v) return null;
    return this.fb.bytes.subarray(v.start, v.start + v.length);
  }

  /** A vector of tables, each validated. */
  tables(id: number, name: string): FbTable[] {
    const v = this.vector(id, name, 4);
    if (!v) return [];
    const out: FbTable[] = [];
    for (let i = 0; i < v.length; i++) {
      const path = `${this.path}.${name}[${i}]`;
      out.push(this.fb.tableAt(this.fb.deref(v.start + 4 * i, path), path));
    }
    return out;
  }
}

const TEXT = new TextDecoder('utf-8', { fatal: false });
