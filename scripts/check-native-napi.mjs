#!/usr/bin/env node
// Runs every case of a case file (test/helpers/native-cases.ts writes them, with outputs from the
// TypeScript reference) through the native module's N-API entry points — createContext / addOp / run,
// the path the interpreter uses — for every variant this CPU supports, and compares bit for bit.
// Plain JavaScript on purpose: it runs under any Node, e.g. an arm64 Node under qemu-aarch64:
//   qemu-aarch64-static -cpu max -L /usr/aarch64-linux-gnu node-arm64 scripts/check-native-napi.mjs \
//     build/native/arm64/kdp_native.node cases.bin
// Prints one line per variant; exit 1 on any difference.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const [mod, casesFile] = process.argv.slice(2);
if (!mod || !casesFile) {
  console.error('usage: check-native-napi.mjs MODULE.node CASES.bin');
  process.exit(2);
}
const addon = createRequire(import.meta.url)(resolve(mod));
const info = addon.variants();
const buf = readFileSync(casesFile);
if (buf.subarray(0, 8).toString('latin1') !== 'KDPNC1\0\0') {
  console.error(`${casesFile}: not a case file`);
  process.exit(2);
}
let p = 8;
const count = buf.readUInt32LE(p); p += 4;
const cases = [];
for (let i = 0; i < count; i++) {
  const ints = []; for (let k = 0; k < 11; k++) { ints.push(buf.readInt32LE(p)); p += 4; }
  const fl = []; for (let k = 0; k < 3; k++) { fl.push(buf.readFloatLE(p)); p += 4; }
  const sz = []; for (let k = 0; k < 5; k++) { sz.push(buf.readUInt32LE(p)); p += 4; }
  const blobs = sz.map((n) => { const b = buf.subarray(p, p + n); p += n; return b; });
  cases.push({ ints, fl, blobs });
}
const al = (n) => Math.ceil(n / 64) * 64;
console.log(`${process.arch}: variants ${info.variants.map((v) => `${v.name}${v.supported ? '' : ' (not supported)'}`).join(', ')}`);
let bad = 0;
for (const v of info.variants.filter((x) => x.supported)) {
  let ok = 0;
  for (const c of cases) {
    const [kind, rows, inDim, inPad, outDim, mult, shift, outZp, lo, hi, i6] = c.ints;
    const [x, w, b0, b128, want] = c.blobs;
    // int8: the bias folded for this architecture's activation offset; f32: b0 is the bias (or none)
    const bias = kind === 1 && info.xOffset === 128 ? b128 : b0;
    const offB = al(w.length), offX = al(offB + bias.length), offXp = al(offX + x.length), offY = al(offXp + rows * inPad);
    const arena = new ArrayBuffer(offY + want.length + 128);
    const u8 = new Uint8Array(arena);
    u8.set(w, 0); u8.set(bias, offB); u8.set(x, offX);
    const ctx = addon.createContext(arena, v.name);
    addon.addOp(ctx, Int32Array.from([kind, offX, offXp, 0, bias.length ? offB : -1, offY, rows, inDim, inPad, outDim, mult, shift, outZp, lo, hi, i6]), Float32Array.from(c.fl));
    addon.run(ctx, 0, 1);
    if (Buffer.from(arena, offY, want.length).equals(want)) ok++;
    else bad++;
  }
  console.log(`variant ${v.name}: ${ok}/${count} cases bit-exact through N-API`);
}
process.exit(bad ? 1 : 0);
