import { test } from 'uvu';
import { measureAllocations } from '../../../src/util/alloc-meter.js';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as crtp from '../../../src/protocols/crtp/index.js';
import { ProtocolError } from '../../../src/errors.js';

interface Vector { name: string; hex: string; dir: 'up' | 'down'; fn: string; args: unknown[]; decoded?: Record<string, unknown> }
const golden = JSON.parse(readFileSync(new URL('../../../firmware-bridge/crazyflie/golden/crtp-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

type Enc = (out: Uint8Array, ...a: never[]) => number;
const special: Record<string, (out: Uint8Array, ...a: never[]) => number> = {
  logData: ((out: Uint8Array, blockId: number, ts: number, values: number[]) => {
    let i = crtp.encodeLogDataHeader(out, blockId, ts);
    for (const v of values) { crtp.writeF32(out, i, v); i += 4; }
    return i;
  }) as Enc,
  safelinkProbe: ((out: Uint8Array) => { out.set(crtp.SAFELINK_PROBE); return 3; }) as Enc,
};

for (const v of golden.vectors) {
  test(`vector: ${v.name}`, () => {
    const fn = (special[v.fn] ?? (crtp as unknown as Record<string, Enc>)[v.fn]) as ((out: Uint8Array, ...a: unknown[]) => number) | undefined;
    assert.ok(fn, `encoder ${v.fn} exists`);
    const out = new Uint8Array(32).fill(0xaa);
    const n = fn(out, ...v.args);
    assert.is(crtp.hex(out, n), v.hex);
    // every vector also decodes (the direction decides the table) without throwing
    const msg = v.dir === 'up' ? crtp.decodeUplink(out, n) : crtp.decodeDownlink(out, n);
    if (v.decoded) for (const [k, val] of Object.entries(v.decoded)) assert.equal((msg as Record<string, unknown>)[k], val, `${v.name}: ${k}`);
  });
}

test('header: port/channel, link bits ignored, null packet', () => {
  assert.is(crtp.crtpHeader(7, 0), 0x7c);
  assert.is(crtp.crtpHeader(7, 0, 0), 0x70);
  for (const h of [0x70, 0x74, 0x78, 0x7c]) { assert.is(crtp.headerPort(h), 7); assert.is(crtp.headerChannel(h), 0); }
  assert.ok(crtp.isNullHeader(0xff));
  assert.ok(crtp.isNullHeader(0xf3));
  assert.not.ok(crtp.isNullHeader(0xf0));
  assert.is(crtp.decodeUplink(new Uint8Array([0xf3]), 1).kind, 'null');
});

test('30-byte payload limit: 31-byte payload is a typed ProtocolError', () => {
  const b = new Uint8Array(32);
  b[0] = 0x5c;
  try { crtp.decodeUplink(b, 32); assert.unreachable(); } catch (e) { assert.instance(e, ProtocolError); }
  assert.throws(() => crtp.encodeLinkEcho(new Uint8Array(40), new Uint8Array(31)), RangeError);
});

test('decoded values round-trip (units and cflib negations undone)', () => {
  const out = new Uint8Array(32);
  let m = crtp.decodeUplink(out, crtp.encodeHover(out, 0.1, 0.2, 30, 0.5, 8));
  assert.is(m.kind, 'hover');
  if (m.kind === 'hover') { assert.ok(Math.abs(m.yawrate - 30) < 1e-5); assert.ok(m.legacy); }
  m = crtp.decodeUplink(out, crtp.encodeRpyt(out, 1, 2, 3, 40000));
  if (m.kind !== 'rpyt') throw new Error(m.kind);
  assert.is(m.pitch, 2); assert.is(m.thrust, 40000);
  m = crtp.decodeUplink(out, crtp.encodeHlTakeoff(out, 0.5, 2, null));
  if (m.kind !== 'hlTakeoff') throw new Error(m.kind);
  assert.ok(m.useCurrentYaw); assert.is(m.height, 0.5); assert.is(m.duration, 2);
  m = crtp.decodeUplink(out, crtp.encodeHlGoTo(out, 1, 2, 3, 0.5, 4, { protocolVersion: 7 }));
  if (m.kind !== 'hlGoTo') throw new Error(m.kind);
  assert.is(out[1], crtp.HlCommand.GO_TO); assert.is(m.z, 3); assert.is(m.duration, 4);
  m = crtp.decodeUplink(out, crtp.encodeHlStartTrajectory(out, 3, 2, { reversed: true, protocolVersion: 9 }));
  if (m.kind !== 'hlStartTrajectory') throw new Error(m.kind);
  assert.is(out[1], crtp.HlCommand.START_TRAJECTORY); assert.ok(m.reversed); assert.is(m.trajectoryId, 3);
  m = crtp.decodeUplink(out, crtp.encodeParamSetByName(out, 'stabilizer', 'estimator', 8, 2));
  if (m.kind !== 'paramSetByName') throw new Error(m.kind);
  assert.is(m.group, 'stabilizer'); assert.is(m.name, 'estimator'); assert.is(m.value[0], 2);
  m = crtp.decodeUplink(out, crtp.encodeLogCreateBlock(out, 2, [{ id: 0x1234, fetchAs: 7 }, { id: 3, fetchAs: 2, storedAs: 2 }]));
  if (m.kind !== 'logCreate') throw new Error(m.kind);
  assert.equal(m.vars, [{ fetchAs: 7, storedAs: 7, id: 0x1234 }, { fetchAs: 2, storedAs: 2, id: 3 }]);
});

test('compressed quaternion: identity, and decompression within 1e-2', () => {
  assert.is(crtp.compressQuaternion(0, 0, 0, 1), 0xc0000000);
  const q = [0.1, -0.3, 0.2, 0.9];
  const n = Math.hypot(...q);
  const qn = q.map((v) => v / n) as [number, number, number, number];
  const back = crtp.decompressQuaternion(crtp.compressQuaternion(...qn), [0, 0, 0, 0]);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(Math.abs(back[i]!) - Math.abs(qn[i]!)) < 1e-2);
  const sign = Math.sign(back[3]! * qn[3]!);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(sign * back[i]! - qn[i]!) < 1e-2);
});

test('log/param value types', () => {
  const b = new Uint8Array(8);
  crtp.writeLogValue(b, 0, crtp.LogType.INT16, -2);
  assert.is(crtp.readLogValue(b, 0, crtp.LogType.INT16), -2);
  b[0] = 0x00; b[1] = 0x3c; // FP16 1.0
  assert.is(crtp.readLogValue(b, 0, crtp.LogType.FP16), 1);
  crtp.writeParamValue(b, 0, 0x06, 0.25);
  assert.is(crtp.readParamValue(b, 0, 0x06), 0.25);
  crtp.writeParamValue(b, 0, 0x02, -7);
  assert.is(crtp.readParamValue(b, 0, 0x02), -7);
  assert.is(crtp.paramTypeName(0x0a), 'uint32_t');
  assert.is(crtp.paramTypeSize(0x07), 8);
});

test('send-path encoders do not allocate: 0 GC events and < 1 KB young-generation growth over 100k setpoints', async () => {
  assert.ok((globalThis as { gc?: () => void }).gc, 'run under --expose-gc (node scripts/run-tests.mjs does)');
  const out = new Uint8Array(32);
  const s: crtp.FullStateSetpoint = { x: 1, y: 2, z: 3, vx: 0, vy: 0, vz: 0, ax: 0, ay: 0, az: 0, qx: 0, qy: 0, qz: 0, qw: 1, rollRateRadS: 0, pitchRateRadS: 0, yawRateRadS: 0 };
  // the shared meter: garbage made per call shows up as GC events or young-generation growth during the loop
  const r = await measureAllocations((n) => {
    for (let i = 0; i < n; i++) { crtp.encodeHover(out, 0.1, 0, 0, 0.5); crtp.encodeFullState(out, s); crtp.encodePosition(out, i, 0, 0, 0); crtp.encodeRpyt(out, 0, 0, 0, 0); }
  }, 100_000);
  assert.is(r.gcCount, 0, `GC events during 100k setpoints (heap growth ${r.heapGrowthBytes} B)`);
  assert.ok(r.heapGrowthBytes < 1024, `young generation grew ${r.heapGrowthBytes} bytes`);
});

test.run();
