import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { CpxFunction, CpxStreamDecoder, CpxTarget, decodeCpxFrame, encodeCpxCts, encodeCpxFrame, type CpxFrame } from '../../../src/protocols/cpx.js';
import { fromHex, hex } from '../../../src/protocols/crtp/bytes.js';
import { ProtocolError } from '../../../src/errors.js';

const golden = JSON.parse(readFileSync(new URL('../../../firmware-bridge/crazyflie/golden/cpx-frames.json', import.meta.url), 'utf8')) as
  { frames: { name: string; hex: string; fn?: number; data?: string; cts?: boolean }[] };

for (const g of golden.frames) {
  test(`CPX frame: ${g.name}`, () => {
    const out = new Uint8Array(110);
    const n = g.cts ? encodeCpxCts(out) : encodeCpxFrame(out, { destination: CpxTarget.STM32, source: CpxTarget.HOST, fn: g.fn!, lastPacket: false }, fromHex(g.data!));
    assert.is(hex(out, n), g.hex);
    const f = decodeCpxFrame(out, n);
    if (g.cts) assert.is(f.kind, 'cts');
    else if (f.kind === 'packet') { assert.is(f.route.fn, g.fn); assert.is(hex(f.data), g.data); } else assert.unreachable();
  });
}

test('stream decoder: split chunks, garbage, bad checksum', () => {
  const frames: CpxFrame[] = [];
  const dec = new CpxStreamDecoder((f) => frames.push(f));
  const a = fromHex(golden.frames[2]!.hex);
  const bad = fromHex(golden.frames[0]!.hex); bad[6] = bad[6]! ^ 1;
  const stream = new Uint8Array([0x12, 0x34, ...fromHex('ff 00'), ...a.subarray(0, 5), ...a.subarray(5), ...bad, ...fromHex(golden.frames[1]!.hex)]);
  for (let i = 0; i < stream.length; i += 3) dec.push(stream.subarray(i, Math.min(stream.length, i + 3)));
  assert.equal(frames.map((f) => f.kind), ['cts', 'packet', 'packet']);
  assert.is(dec.checksumErrors, 1);
  const p = frames[1]!;
  if (p.kind === 'packet') assert.is(p.route.fn, CpxFunction.CRTP);
});

test('bad checksum → ProtocolError E_CHECKSUM', () => {
  const b = fromHex(golden.frames[0]!.hex); b[6] = b[6]! ^ 0xff;
  try { decodeCpxFrame(b, b.length); assert.unreachable(); } catch (e) { assert.instance(e, ProtocolError); assert.is((e as ProtocolError).code, 'E_CHECKSUM'); }
});

test.run();
