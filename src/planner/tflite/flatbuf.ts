/**
 * The one bounds-checked FlatBuffers reader: the interpreter's loader (runtime/tflite-model.ts) and the
 * exporter's read-back (reader.ts) both read .tflite files through it.
 *
 * The flatc-generated TypeScript API (generated/) trusts its input: a corrupt offset reads `undefined`,
 * and a corrupt vector length makes a loop run for 2^32 iterations. A model file is untrusted input, so
 * every read here is checked against the buffer, and every vector length against the bytes that could
 * hold it; a violation throws ModelError('E_MODEL_SCHEMA'). The fuzz suites (test/planner/runtime-fuzz,
 * test/soak/fuzz-tflite, the reader mutation test in test/planner/export-format) run mutated files
 * through it. Field ids follow the official TFLite schema (schema/schema.fbs, the ids the generated code
 * uses; `flatc` and pyarmnn parse the exported files independently in test/planner/export-format).
 *
 * Layout relied on (little-endian): root u32 at 0 → root table; table at T: i32 soffset, vtable at
 * T − soffset = [u16 vtable bytes, u16 table bytes, u16 field offset per id (0 = absent)]; offset fields
 * hold a u32 relative to their own position; a vector at P is a u32 length, then its elements.
 */
import { ModelError } from '../../errors.js';

export class FbReader {
  readonly view: DataView;
  readonly length: number;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
  }

  fail(what: string): never {
    throw new ModelError('E_MODEL_SCHEMA', `corrupt model file: ${what}`, { hint: 'the .tflite file is truncated or not a TFLite flatbuffer; re-export it' });
  }

  check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || size < 0 || pos + size > this.length) this.fail(`${what} out of bounds (offset ${pos}, ${size} bytes, file ${this.length} bytes)`);
  }

  u8(pos: number, what: string): number { this.check(pos, 1, what); return this.view.getUint8(pos); }
  i8(pos: number, what: string): number { this.check(pos, 1, what); return this.view.getInt8(pos); }
  u16(pos: number, what: string): number { this.check(pos, 2, what); return this.view.getUint16(pos, true); }
  i32(pos: number, what: string): number { this.check(pos, 4, what); return this.view.getInt32(pos, true); }
  u32(pos: number, what: string): number { this.check(pos, 4, what); return this.view.getUint32(pos, true); }

  /** Root table position. */
  root(): Table {
    return this.table(this.u32(0, 'root offset'), 'root table');
  }

  table(pos: number, what: string): Table {
    const vtRel = this.i32(pos, `${what} vtable offset`);
    const vt = pos - vtRel;
    const vtSize = this.u16(vt, `${what} vtable size`);
    if (vtSize < 4 || (vtSize & 1) !== 0) this.fail(`${what} has a malformed vtable (size ${vtSize})`);
    this.check(vt, vtSize, `${what} vtable`);
    const tableSize = this.u16(vt + 2, `${what} table size`);
    this.check(pos, Math.max(4, tableSize), `${what} table`);
    return new Table(this, pos, vt, vtSize, tableSize, what);
  }
}

export class Table {
  constructor(readonly r: FbReader, readonly pos: number, private readonly vt: number, private readonly vtSize: number,
    private readonly tableSize: number, readonly what: string) {}

  /** Absolute position of field `id`, or 0 when absent. */
  field(id: number, size: number): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtSize) return 0;
    const off = this.r.u16(this.vt + slot, `${this.what} field ${id}`);
    if (off === 0) return 0;
    if (off + size > this.tableSize) this.r.fail(`${this.what} field ${id} lies outside its table`);
    return this.pos + off;
  }

  u8(id: number, dflt: number): number { const p = this.field(id, 1); return p === 0 ? dflt : this.r.u8(p, this.what); }
  i8(id: number, dflt: number): number { const p = this.field(id, 1); return p === 0 ? dflt : this.r.i8(p, this.what); }
  bool(id: number): boolean { return this.u8(id, 0) !== 0; }
  i32(id: number, dflt: number): number { const p = this.field(id, 4); return p === 0 ? dflt : this.r.i32(p, this.what); }
  u32(id: number, dflt: number): number { const p = this.field(id, 4); return p === 0 ? dflt : this.r.u32(p, this.what); }
  f32(id: number, dflt: number): number { const p = this.field(id, 4); if (p === 0) return dflt; this.r.check(p, 4, this.what); return this.r.view.getFloat32(p, true); }
  /** 64-bit unsigned field as a number (values beyond 2^53 saturate). */
  u64(id: number): number {
    const p = this.field(id, 8);
    if (p === 0) return 0;
    return this.r.u32(p, this.what) + this.r.u32(p + 4, this.what) * 4294967296;
  }

  private ref(id: number): number {
    const p = this.field(id, 4);
    if (p === 0) return 0;
    const target = p + this.r.u32(p, `${this.what} field ${id}`);
    this.r.check(target, 4, `${this.what} field ${id} target`);
    return target;
  }

  has(id: number): boolean { return this.field(id, 1) !== 0; }

  table(id: number): Table | undefined {
    const t = this.ref(id);
    return t === 0 ? undefined : this.r.table(t, `${this.what}.${id}`);
  }

  /** Vector header: element count and start; checks count × elemSize fits in the file. */
  vector(id: number, elemSize: number): { start: number; length: number } | undefined {
    const t = this.ref(id);
    if (t === 0) return undefined;
    const length = this.r.u32(t, `${this.what} field ${id} length`);
    this.r.check(t + 4, length * elemSize, `${this.what} field ${id} vector (${length} × ${elemSize} bytes)`);
    return { start: t + 4, length };
  }

  string(id: number): string | undefined {
    const v = this.vector(id, 1);
    if (!v) return undefined;
    return new TextDecoder('utf-8', { fatal: false }).decode(this.r.bytes.subarray(v.start, v.start + v.length));
  }

  i32s(id: number): number[] | undefined {
    const v = this.vector(id, 4);
    if (!v) return undefined;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.r.view.getInt32(v.start + 4 * i, true);
    return out;
  }

  f32s(id: number): number[] | undefined {
    const v = this.vector(id, 4);
    if (!v) return undefined;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.r.view.getFloat32(v.start + 4 * i, true);
    return out;
  }

  /** int64 vector as numbers (zero points are small; callers range-check them). */
  i64s(id: number): number[] | undefined {
    const v = this.vector(id, 8);
    if (!v) return undefined;
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(this.r.view.getBigInt64(v.start + 8 * i, true));
    return out;
  }

  bytes(id: number): Uint8Array | undefined {
    const v = this.vector(id, 1);
    if (!v) return undefined;
    return this.r.bytes.subarray(v.start, v.start + v.length);
  }

  /** Vector of tables. */
  tables(id: number): Table[] | undefined {
    const v = this.vector(id, 4);
    if (!v) return undefined;
    const out: Table[] = [];
    for (let i = 0; i < v.length; i++) {
      const p = v.start + 4 * i;
      out.push(this.r.table(p + this.r.u32(p, `${this.what}.${id}[${i}]`), `${this.what}.${id}[${i}]`));
    }
    return out;
  }
}
