// Every frame of firmware-bridge/feetech/golden/*.json built again from the protocol rules written down in
// firmware-bridge/feetech/README.md, with nothing from src/: a golden frame is trusted because these few lines
// (the published frame format, checksum, instruction codes, register addresses, sign-magnitude rule) produce it,
// not because our codec does. test/protocols/feetech/codec.test.ts then checks the codec against the same files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';

const golden = (f: string): any => JSON.parse(readFileSync(new URL(`../../../firmware-bridge/feetech/golden/${f}`, import.meta.url), 'utf8'));
const hex = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join(' ');

// README "Frames": FF FF ID LEN INSTR|ERR params CHK, LEN = params + 2, CHK = ~(sum of ID..last param) & 0xFF
function frame(id: number, code: number, params: number[]): number[] {
  const body = [id, params.length + 2, code, ...params];
  return [0xff, 0xff, ...body, ~body.reduce((a, b) => a + b, 0) & 0xff];
}
// README "Instructions"
const OP: Record<string, number> = { ping: 0x01, read: 0x02, write: 0x03, reg_write: 0x04, action: 0x05, reset: 0x0a, sync_read: 0x82, sync_write: 0x83 };
// README "Registers used": address, size, sign bit
const REG: Record<string, { addr: number; size: number; sign?: number }> = {
  Torque_Enable: { addr: 40, size: 1 }, Lock: { addr: 55, size: 1 }, Goal_Position: { addr: 42, size: 2, sign: 15 },
  Homing_Offset: { addr: 31, size: 2, sign: 11 }, Present_Position: { addr: 56, size: 2, sign: 15 },
};
// README "Sign-magnitude", then little-endian bytes
const signMag = (v: number, bit: number): number => (v < 0 ? (1 << bit) | -v : v);
const le = (v: number, size: number): number[] => (size === 1 ? [v & 0xff] : [v & 0xff, (v >> 8) & 0xff]);
const value = (reg: string, v: number): number[] => { const r = REG[reg]!; return le(r.sign === undefined ? v : signMag(v, r.sign), r.size); };

test('every instruction frame follows from the frame rules, instruction codes and register table', () => {
  const { vectors } = golden('instructions.json') as { vectors: any[] };
  assert.ok(vectors.length >= 13);
  for (const v of vectors) {
    let bytes: number[];
    switch (v.op) {
      case 'ping': case 'action': case 'reset': bytes = frame(v.id, OP[v.op]!, []); break;
      case 'read': bytes = frame(v.id, OP.read!, [REG[v.register]!.addr, REG[v.register]!.size]); break;
      case 'write': case 'reg_write': bytes = frame(v.id, OP[v.op]!, [REG[v.register]!.addr, ...value(v.register, v.value)]); break;
      case 'sync_write': {
        const r = REG[v.register]!;
        bytes = frame(0xfe, OP.sync_write!, [r.addr, r.size, ...v.ids.flatMap((id: number, i: number) => [id, ...value(v.register, v.values[i])])]);
        break;
      }
      case 'sync_read': bytes = frame(0xfe, OP.sync_read!, [v.addr, v.length, ...v.ids]); break;
      default: throw new Error(`no derivation for ${v.op}`);
    }
    assert.is(hex(bytes), v.hex, v.name);
  }
});

test('every status frame and reply stream follows from the frame rules', () => {
  const { vectors, streams } = golden('status.json') as { vectors: any[]; streams: any[] };
  for (const v of vectors) {
    const params = v.register ? value(v.register, v.value) : v.params;
    assert.is(hex(frame(v.id, v.error, params)), v.hex, v.name);
    if (v.errorBits) assert.equal(v.errorBits, v.error & 0x20 ? ['overload'] : [], v.name); // README: 0x20 = overload
  }
  for (const s of streams) {
    const bytes = s.ids.flatMap((id: number, i: number) => frame(id, 0, value(s.register, s.values[i])));
    assert.is(hex(bytes), s.hex, s.name);
  }
});

test('sign-magnitude examples follow from the rule', () => {
  for (const v of (golden('sign-magnitude.json') as { vectors: any[] }).vectors) {
    assert.is(signMag(v.value, v.bit), v.raw, `${v.value} bit ${v.bit}`);
    assert.is(`0x${v.raw.toString(16).toUpperCase().padStart(4, '0')}`, v.rawHex);
  }
});

test.run();
