import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { ProtocolError } from '../../../src/errors.js';
import { STS_CONTROL_TABLE, errorBitNames, isRegisterName } from '../../../src/protocols/feetech/control-table.js';
import type { RegisterName } from '../../../src/protocols/feetech/control-table.js';
import { decodeSignMagnitude, encodeSignMagnitude, readRegister } from '../../../src/protocols/feetech/encoding.js';
import {
  FRAME_NEED_MORE, FRAME_OK, decodePacket, encodeAction, encodePing, encodeRead, encodeReset, encodeStatus, encodeSyncRead,
  encodeSyncWrite, encodeWriteRegister, fromHex, newFrameView, newScanStats, scanFrame, toHex,
} from '../../../src/protocols/feetech/packet.js';
import { Instruction } from '../../../src/protocols/feetech/control-table.js';

const golden = (f: string): any => JSON.parse(readFileSync(new URL(`../../../firmware-bridge/feetech/golden/${f}`, import.meta.url), 'utf8'));
const INSTR = golden('instructions.json');
const STATUS = golden('status.json');
const SM = golden('sign-magnitude.json');

function reg(name: string): RegisterName {
  if (!isRegisterName(name)) throw new Error(`unknown register ${name}`);
  return name;
}

for (const v of INSTR.vectors) {
  test(`encode: ${v.name}`, () => {
    const out = new Uint8Array(64).fill(0xaa);
    let n: number;
    switch (v.op) {
      case 'ping': n = encodePing(out, 3, v.id); break;
      case 'read': { const s = STS_CONTROL_TABLE[reg(v.register)]; n = encodeRead(out, 3, v.id, s.addr, s.size); break; }
      case 'write': n = encodeWriteRegister(out, 3, v.id, reg(v.register), v.value); break;
      case 'reg_write': n = encodeWriteRegister(out, 3, v.id, reg(v.register), v.value, Instruction.REG_WRITE); break;
      case 'action': n = encodeAction(out, 3, v.id); break;
      case 'reset': n = encodeReset(out, 3, v.id); break;
      case 'sync_write': n = encodeSyncWrite(out, 3, reg(v.register), v.ids, v.values); break;
      case 'sync_read': n = encodeSyncRead(out, 3, v.addr, v.length, v.ids); break;
      default: throw new Error(`op ${v.op}`);
    }
    assert.is(toHex(out.subarray(3, 3 + n)), v.hex);
    assert.is(out[2], 0xaa, 'no write before offset');
    assert.is(out[3 + n], 0xaa, 'no write after the frame');
  });
  test(`decode: ${v.name}`, () => {
    const p = decodePacket(fromHex(v.hex), 'instruction');
    assert.is(p.id, v.id ?? 0xfe);
    const view = newFrameView();
    const bytes = fromHex(v.hex);
    assert.is(scanFrame(bytes, 0, bytes.length, view, 'instruction'), FRAME_OK);
    assert.is(view.length, bytes.length);
  });
}

for (const v of STATUS.vectors) {
  test(`status: ${v.name}`, () => {
    const bytes = fromHex(v.hex);
    const p = decodePacket(bytes, 'status');
    assert.is(p.id, v.id);
    assert.is(p.code, v.error);
    if (v.errorBits) assert.equal(errorBitNames(p.code), v.errorBits);
    if (v.register) assert.is(readRegister(p.params, 0, STS_CONTROL_TABLE[reg(v.register)]), v.value);
    else assert.is(p.params.length, 0);
    const out = new Uint8Array(16);
    const params = new Uint8Array(p.params);
    const n = encodeStatus(out, 0, v.id, v.error, params);
    assert.is(toHex(out.subarray(0, n)), v.hex);
  });
}

for (const s of STATUS.streams) {
  test(`status stream: ${s.name}`, () => {
    const bytes = fromHex(s.hex);
    const view = newFrameView();
    const got: number[] = [];
    const ids: number[] = [];
    let at = 0;
    while (scanFrame(bytes, at, bytes.length, view) === FRAME_OK) {
      ids.push(view.id);
      got.push(readRegister(bytes, view.paramsStart, STS_CONTROL_TABLE[reg(s.register)]));
      at = view.start + view.length;
    }
    assert.equal(ids, s.ids);
    assert.equal(got, s.values);
    // re-encode the stream
    const out = new Uint8Array(bytes.length);
    let o = 0;
    for (let i = 0; i < s.ids.length; i++) o += encodeStatus(out, o, s.ids[i], 0, [s.values[i] & 0xff, s.values[i] >> 8]);
    assert.is(toHex(out), s.hex);
  });
}

test('sign-magnitude vectors', () => {
  for (const v of SM.vectors) {
    assert.is(encodeSignMagnitude(v.value, v.bit), v.raw, `${v.value} bit ${v.bit}`);
    assert.is(decodeSignMagnitude(v.raw, v.bit), v.value);
  }
  assert.is(decodeSignMagnitude(0x07ff, 11), 2047);
  assert.throws(() => encodeSignMagnitude(2048, 11), RangeError);
  assert.throws(() => encodeSignMagnitude(1.5, 15), RangeError);
});

test('registers by name: sign bits and sizes as lerobot', () => {
  assert.is(STS_CONTROL_TABLE.Homing_Offset.signBit, 11);
  assert.is(STS_CONTROL_TABLE.Goal_Position.signBit, 15);
  assert.is(STS_CONTROL_TABLE.Present_Load.signBit, 10);
  assert.is(STS_CONTROL_TABLE.Present_Position.addr, 0x38);
  assert.is(STS_CONTROL_TABLE.Torque_Enable.addr, 0x28);
  assert.is(STS_CONTROL_TABLE.Maximum_Acceleration.addr, 85);
  assert.throws(() => encodeWriteRegister(new Uint8Array(16), 0, 1, 'Torque_Enable', 256), RangeError);
});

test('error bits are named', () => {
  assert.equal(errorBitNames(0x21), ['voltage', 'overload']);
  assert.equal(errorBitNames(0x0e), ['angle sensor', 'overheat', 'over-current']);
});

test('decodePacket: typed errors', () => {
  const good = fromHex('ff ff 01 04 00 00 08 f2');
  const bad = new Uint8Array(good); bad[7] = 0xf3;
  try { decodePacket(bad); assert.unreachable(); } catch (e) { assert.instance(e, ProtocolError); assert.is((e as ProtocolError).code, 'E_CHECKSUM'); }
  try { decodePacket(good.subarray(0, 5)); assert.unreachable(); } catch (e) { assert.is((e as ProtocolError).code, 'E_FRAME'); }
  const badLen = new Uint8Array(good); badLen[3] = 9;
  try { decodePacket(badLen); assert.unreachable(); } catch (e) { assert.is((e as ProtocolError).code, 'E_FRAME'); }
});

test('scanner: resync on garbage, FF FF FF prefix, split frames', () => {
  const frame = fromHex('ff ff 02 04 00 dc 05 18');
  const noisy = new Uint8Array([0x00, 0xff, 0x13, 0xff, 0xff, 0xff, 0x99, 0xff, ...frame]);
  const view = newFrameView();
  const st = newScanStats();
  assert.is(scanFrame(noisy, 0, noisy.length, view, 'status', st), FRAME_OK);
  assert.is(view.id, 2);
  assert.is(view.start, noisy.length - frame.length);
  assert.ok(st.badFrames >= 1);
  // incomplete frame: keep from its header
  assert.is(scanFrame(noisy, 0, noisy.length - 2, view), FRAME_NEED_MORE);
  assert.ok(view.start <= noisy.length - frame.length);
  // corrupt checksum then a good frame
  const bad = new Uint8Array([...frame]); bad[7] = 0x00;
  const two = new Uint8Array([...bad, ...frame]);
  const st2 = newScanStats();
  assert.is(scanFrame(two, 0, two.length, view, 'status', st2), FRAME_OK);
  assert.is(view.start, 8);
  assert.is(st2.checksumErrors, 1);
});

test('20,000 fuzzed frames: value or typed error, never a crash', () => {
  let seed = 12345;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 8; };
  const base = fromHex('ff ff fe 16 83 2a 02 01 00 08 02 00 04 03 00 0c 04 d0 07 05 ff 0f 06 64 00 c6');
  const view = newFrameView();
  let ok = 0; let typed = 0;
  for (let k = 0; k < 20_000; k++) {
    const mode = k % 3;
    let bytes: Uint8Array;
    if (mode === 0) { bytes = new Uint8Array(rnd() % 40); for (let i = 0; i < bytes.length; i++) bytes[i] = rnd() & 0xff; if (bytes.length > 2 && rnd() & 1) { bytes[0] = 0xff; bytes[1] = 0xff; } }
    else if (mode === 1) { bytes = new Uint8Array(base); const flips = 1 + (rnd() % 3); for (let f = 0; f < flips; f++) bytes[rnd() % bytes.length] = rnd() & 0xff; }
    else { bytes = base.subarray(0, rnd() % (base.length + 1)); }
    try { decodePacket(bytes, k & 1 ? 'status' : 'instruction'); ok++; } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      typed++;
    }
    let at = 0;
    for (let guard = 0; guard < 100 && scanFrame(bytes, at, bytes.length, view) === FRAME_OK; guard++) {
      assert.ok(view.start >= at && view.start + view.length <= bytes.length);
      at = view.start + view.length;
    }
  }
  assert.is(ok + typed, 20_000);
});

test.run();
