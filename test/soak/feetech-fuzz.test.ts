// The 1,000,000-frame fuzz campaign (issue 6 acceptance): every frame decodes to a value or a typed
// ProtocolError, and the scanner never overruns or loops. Run: node scripts/run-tests.mjs test/soak/feetech-fuzz.test.ts
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtocolError } from '../../src/errors.js';
import { decodePacket, fromHex, newFrameView, newScanStats, scanFrame, FRAME_OK } from '../../src/protocols/feetech/packet.js';

test('1,000,000 fuzzed frames: value or typed error, never a crash', () => {
  const N = Number(process.env.KDP_FUZZ_FRAMES ?? 1_000_000);
  let seed = 0xc0ffee;
  const rnd = (): number => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  const bases = [
    'ff ff fe 16 83 2a 02 01 00 08 02 00 04 03 00 0c 04 d0 07 05 ff 0f 06 64 00 c6',
    'ff ff 01 04 00 ff 07 f4 ff ff 02 04 00 dc 05 18 ff ff 03 04 00 28 0a c6',
    'ff ff fe 0a 82 38 08 01 02 03 04 05 06 20', 'ff ff 03 04 20 e8 03 ed', 'ff ff 01 02 01 fb',
  ].map(fromHex);
  const view = newFrameView();
  const stats = newScanStats();
  let values = 0; let typed = 0; let frames = 0;
  const t0 = Date.now();
  for (let k = 0; k < N; k++) {
    const mode = k % 4;
    let bytes: Uint8Array;
    const base = bases[k % bases.length]!;
    if (mode === 0) {
      bytes = new Uint8Array(rnd() % 64);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rnd() & 0xff;
      if (bytes.length > 4 && rnd() & 1) { bytes[0] = 0xff; bytes[1] = 0xff; bytes[3] = Math.max(0, bytes.length - 4 + ((rnd() % 3) - 1)); }
    } else if (mode === 1) {
      bytes = new Uint8Array(base);
      const flips = 1 + (rnd() % 4);
      for (let f = 0; f < flips; f++) bytes[rnd() % bytes.length] = rnd() & 0xff;
    } else if (mode === 2) {
      bytes = base.subarray(rnd() % 3, rnd() % (base.length + 1));
    } else {
      // valid frame with a random checksum-correct payload
      const n = rnd() % 20;
      bytes = new Uint8Array(n + 6);
      bytes[0] = 0xff; bytes[1] = 0xff; bytes[2] = rnd() % 0xff; bytes[3] = n + 2; bytes[4] = rnd() & 0xff;
      let s = bytes[2]! + bytes[3]! + bytes[4]!;
      for (let i = 0; i < n; i++) { bytes[5 + i] = rnd() & 0xff; s += bytes[5 + i]!; }
      bytes[n + 5] = ~s & 0xff;
    }
    try { decodePacket(bytes, k & 1 ? 'status' : 'instruction'); values++; } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      typed++;
    }
    let at = 0;
    for (let guard = 0; guard < 200 && scanFrame(bytes, at, bytes.length, view, 'status', stats) === FRAME_OK; guard++) {
      if (view.start < at || view.start + view.length > bytes.length) throw new Error(`scanner overrun on ${Buffer.from(bytes).toString('hex')}`);
      at = view.start + view.length;
      frames++;
    }
  }
  assert.is(values + typed, N);
  console.log(`[figure] feetech fuzz: ${N} frames in ${Date.now() - t0} ms: ${values} decoded, ${typed} typed ProtocolError, ${frames} frames found by the scanner, ${stats.badFrames} rejected candidates`);
});

test.run();
