// Every packet of firmware-bridge/crazyflie/golden/crtp-vectors.json and every frame of cpx-frames.json built again
// from the protocol facts written down in firmware-bridge/crazyflie/README.md (header byte, ports, packed struct
// layouts, quaternion compression, CPX framing), with nothing from src/. The golden files are thereby checked
// against the published layouts; test/protocols/crtp/codec.test.ts and cpx.test.ts check our codec against the same files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';

const load = (f: string): any => JSON.parse(readFileSync(new URL(`../../../firmware-bridge/crazyflie/golden/${f}`, import.meta.url), 'utf8'));

type Field = ['u8' | 'u16' | 'u24' | 'u32' | 'i16' | 'f32', number] | ['str', string];
/** README "Packet": header = port << 4 | link << 2 | channel (link 3 up, 0 down), then little-endian fields. */
function pkt(dir: 'up' | 'down', port: number, channel: number, ...fields: Field[]): string {
  const out: number[] = [(port << 4) | ((dir === 'up' ? 3 : 0) << 2) | channel];
  const dv = new DataView(new ArrayBuffer(4));
  for (const [t, v] of fields) {
    if (t === 'str') { for (const ch of v) out.push(ch.charCodeAt(0)); out.push(0); continue; }
    if (t === 'f32') { dv.setFloat32(0, v, true); out.push(...new Uint8Array(dv.buffer)); continue; }
    const n = t === 'u8' ? 1 : t === 'u16' || t === 'i16' ? 2 : t === 'u24' ? 3 : 4;
    for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 0xff);
  }
  return out.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
const f32 = (v: number): Field => ['f32', v];
const u8 = (v: number): Field => ['u8', v];
const u16 = (v: number): Field => ['u16', v];
const i16 = (v: number): Field => ['i16', Math.round(v) & 0xffff];
const neg = (v: number): number => (v === 0 ? 0 : -v);

/** README "Setpoints": quaternion compression (largest index in the top 2 bits, then 3 × (sign, 9-bit magnitude)). */
function compressQuat(q: number[]): number {
  let largest = 0;
  for (let i = 1; i < 4; i++) if (Math.abs(q[i]!) > Math.abs(q[largest]!)) largest = i;
  let comp = largest;
  for (let i = 0; i < 4; i++) {
    if (i === largest) continue;
    const sign = (q[i]! < 0) !== (q[largest]! < 0) ? 1 : 0;
    comp = (comp << 10) | (sign << 9) | Math.min(511, Math.round((511 * Math.abs(q[i]!)) / Math.SQRT1_2));
  }
  return comp >>> 0;
}

/** One derivation per encoder named in the golden file, from the README tables. */
const DERIVE: Record<string, (...a: any[]) => string> = {
  encodeRpyt: (r, p, y, t) => pkt('up', 3, 0, f32(r), f32(neg(p)), f32(y), u16(t)),
  encodeStopSetpoint: () => pkt('up', 7, 0, u8(0)),
  encodeVelocityWorld: (vx, vy, vz, yr) => pkt('up', 7, 0, u8(8), f32(vx), f32(vy), f32(vz), f32(yr)),
  encodeZDistance: (r, p, yr, z) => pkt('up', 7, 0, u8(9), f32(r), f32(p), f32(yr), f32(z)),
  encodeHover: (vx, vy, yr, z, proto) => (proto > 8 ? pkt('up', 7, 0, u8(10), f32(vx), f32(vy), f32(yr), f32(z)) : pkt('up', 7, 0, u8(5), f32(vx), f32(vy), f32(neg(yr)), f32(z))),
  encodePosition: (x, y, z, yaw) => pkt('up', 7, 0, u8(7), f32(x), f32(y), f32(z), f32(yaw)),
  encodeFullState: (s) => pkt('up', 7, 0, u8(6), ...[s.x, s.y, s.z, s.vx, s.vy, s.vz, s.ax, s.ay, s.az].map((v: number) => i16(v * 1000)),
    ['u32', compressQuat([s.qx, s.qy, s.qz, s.qw])] as Field, ...[s.rollRateRadS, s.pitchRateRadS, s.yawRateRadS].map((v: number) => i16(v * 1000))),
  encodeNotifySetpointsStop: (ms) => pkt('up', 7, 1, u8(0), ['u32', ms]),
  encodeManual: (r, p, yr, pct, rate) => pkt('up', 7, 0, u8(11), f32(r), f32(neg(p)), f32(yr), u16(Math.trunc(10001 + (pct * (60000 - 10001)) / 100)), u8(rate ? 1 : 0)),
  encodeHlTakeoff: (h, d, yaw) => pkt('up', 8, 0, u8(7), u8(0), f32(h), f32(yaw ?? 0), u8(yaw === null ? 1 : 0), f32(d)),
  encodeHlLand: (h, d, yaw) => pkt('up', 8, 0, u8(8), u8(0), f32(h), f32(yaw ?? 0), u8(yaw === null ? 1 : 0), f32(d)),
  encodeHlGoTo: (x, y, z, yaw, d, o) => pkt('up', 8, 0, u8(12), u8(0), u8(o.relative ? 1 : 0), u8(o.linear ? 1 : 0), f32(x), f32(y), f32(z), f32(yaw), f32(d)),
  encodeHlStartTrajectory: (id, ts, o) => pkt('up', 8, 0, u8(13), u8(0), u8(o.relativePosition ? 1 : 0), u8(o.relativeYaw ? 1 : 0), u8(o.reversed ? 1 : 0), u8(id), f32(ts)),
  encodeHlDefineTrajectory: (id, offset, n, type) => pkt('up', 8, 0, u8(6), u8(id), u8(1), u8(type), ['u32', offset], u8(n)),
  encodeHlStop: (group) => pkt('up', 8, 0, u8(3), u8(group)),
  encodeTocInfo: (port) => pkt('up', port, 0, u8(3)),
  encodeTocItem: (id, port) => pkt('up', port, 0, u8(2), u16(id)),
  encodeLogTocInfoReply: (count, crc) => pkt('down', 5, 0, u8(3), u16(count), ['u32', crc], u8(16), u8(128)),
  encodeTocItemReply: (id, type, group, name, port) => pkt('down', port, 0, u8(2), u16(id), u8(type), ['str', group], ['str', name]),
  encodeLogCreateBlock: (block, vars) => pkt('up', 5, 1, u8(6), u8(block), ...vars.flatMap((v: { id: number; fetchAs: number }) => [u8((v.fetchAs << 4) | v.fetchAs), u16(v.id)])),
  encodeLogStartBlockV1: (block, tens) => pkt('up', 5, 1, u8(3), u8(block), u8(tens)),
  encodeLogStartBlock: (block, ms) => pkt('up', 5, 1, u8(8), u8(block), u16(ms)),
  encodeLogStopBlock: (block) => pkt('up', 5, 1, u8(4), u8(block)),
  encodeLogDeleteBlock: (block) => pkt('up', 5, 1, u8(2), u8(block)),
  encodeLogReset: () => pkt('up', 5, 1, u8(5)),
  encodeLogControlReply: (cmd, block, errno) => pkt('down', 5, 1, u8(cmd), u8(block), u8(errno)),
  logData: (block, ts, values) => pkt('down', 5, 2, u8(block), ['u24', ts], ...values.map(f32)),
  encodeParamRead: (id) => pkt('up', 2, 1, u16(id)),
  encodeParamReadReply: (id, status, type, value) => pkt('down', 2, 1, u16(id), u8(status), paramValue(type, value)),
  encodeParamWrite: (id, type, value) => pkt('up', 2, 2, u16(id), paramValue(type, value)),
  encodeParamSetByName: (group, name, type, value) => pkt('up', 2, 3, u8(0), ['str', group], ['str', name], u8(type), paramValue(type, value)),
  encodeGetProtocolVersion: () => pkt('up', 13, 1, u8(0)),
  encodeLinkSource: () => pkt('up', 15, 1, u8(0)),
  encodeArm: (on, proto) => (proto >= 12 ? pkt('up', 9, 1, u8(1), u8(on ? 1 : 0)) : pkt('up', 13, 0, u8(1), u8(on ? 1 : 0))),
  encodeNull: () => 'ff',
  safelinkProbe: () => 'ff 05 01',
};
/** README "Log and param": param type byte 0x08 u8, 0x06 float (the two the vectors use). */
function paramValue(type: number, v: number): Field {
  if (type === 0x08) return u8(v);
  if (type === 0x06) return f32(v);
  throw new Error(`param type ${type} not in the vectors`);
}

test('every CRTP golden packet follows from the header rule and the packed layouts', () => {
  const { vectors } = load('crtp-vectors.json') as { vectors: { name: string; hex: string; fn: string; args: unknown[] }[] };
  assert.ok(vectors.length >= 40);
  for (const v of vectors) {
    const derive = DERIVE[v.fn];
    assert.ok(derive, `no derivation for ${v.fn}`);
    assert.is(derive!(...v.args), v.hex, v.name);
  }
});

test('every CPX frame follows from the UART framing rule (route, function, XOR from the FF start)', () => {
  const { frames } = load('cpx-frames.json') as { frames: { name: string; hex: string; fn?: number; data?: string; cts?: boolean }[] };
  for (const f of frames) {
    if (f.cts) { assert.is(f.hex, 'ff 00', f.name); continue; }
    const data = f.data!.split(' ').map((h) => parseInt(h, 16));
    const route = 1 | (3 << 3); // destination STM32, source host, not a last packet
    const body = [0xff, data.length + 2, route, f.fn!, ...data];
    const frame = [...body, body.reduce((x, b) => x ^ b, 0)];
    assert.is(frame.map((b) => b.toString(16).padStart(2, '0')).join(' '), f.hex, f.name);
  }
});

test.run();
