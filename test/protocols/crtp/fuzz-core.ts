/**
 * Mutation fuzzer shared by test/protocols/crtp/fuzz.test.ts (20k packets, npm test) and test/soak/crtp-fuzz.test.ts
 * (1,000,000 packets, npm run soak). Seeds are the golden frames; mutations flip bits, overwrite bytes,
 * truncate, extend, splice headers, or draw fully random packets (including lengths 0 and > 31).
 * Contract checked: every decoder returns a value or throws a ProtocolError — nothing else, ever.
 */
import { readFileSync } from 'node:fs';
import { fromHex } from '../../../src/protocols/crtp/bytes.js';
import { CpxStreamDecoder, decodeCpxFrame } from '../../../src/protocols/cpx.js';
import { decodeDownlink, decodeUplink } from '../../../src/protocols/crtp/decode.js';
import { ProtocolError } from '../../../src/errors.js';

export interface FuzzStats { packets: number; decoded: number; protocolErrors: number; crashes: number; firstCrash?: string; kinds: Record<string, number> }

function seeds(): Uint8Array[] {
  const g = JSON.parse(readFileSync(new URL('../../../firmware-bridge/crazyflie/golden/crtp-vectors.json', import.meta.url), 'utf8')) as { vectors: { hex: string }[] };
  const c = JSON.parse(readFileSync(new URL('../../../firmware-bridge/crazyflie/golden/cpx-frames.json', import.meta.url), 'utf8')) as { frames: { hex: string }[] };
  return [...g.vectors.map((v) => fromHex(v.hex)), ...c.frames.map((f) => fromHex(f.hex))];
}

export function runFuzz(count: number, seed = 0x5eed): FuzzStats {
  let s = seed >>> 0 || 1;
  const rnd = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const base = seeds();
  const buf = new Uint8Array(128);
  const stats: FuzzStats = { packets: 0, decoded: 0, protocolErrors: 0, crashes: 0, kinds: {} };
  const stream = new CpxStreamDecoder(() => { /* frames counted by the decoder itself */ });
  const attempt = (fn: () => { kind: string }, bytes: Uint8Array, len: number): void => {
    try {
      const m = fn();
      stats.decoded++;
      stats.kinds[m.kind] = (stats.kinds[m.kind] ?? 0) + 1;
    } catch (e) {
      if (e instanceof ProtocolError) stats.protocolErrors++;
      else {
        stats.crashes++;
        stats.firstCrash ??= `${(e as Error)?.stack ?? String(e)} on ${Buffer.from(bytes.subarray(0, len)).toString('hex')}`;
      }
    }
  };
  for (let n = 0; n < count; n++) {
    const src = base[rnd() % base.length]!;
    let len = src.length;
    buf.set(src);
    const op = rnd() % 8;
    if (op === 0) { len = rnd() % 40; for (let i = 0; i < len; i++) buf[i] = rnd() & 0xff; }
    else if (op === 1) len = rnd() % (len + 1); // truncate (may be 0)
    else if (op === 2) { const extra = 1 + (rnd() % 12); for (let i = 0; i < extra && len < buf.length; i++) buf[len++] = rnd() & 0xff; }
    else if (op === 3) buf[0] = rnd() & 0xff; // another port/channel with this payload
    else { const flips = 1 + (rnd() % 4); for (let i = 0; i < flips; i++) { const at = rnd() % Math.max(1, len); buf[at] = buf[at]! ^ (1 << (rnd() % 8)); } }
    if (op === 5 && len > 1) buf[1] = rnd() % 16; // small command/type ids hit the interesting branches
    stats.packets++;
    attempt(() => decodeUplink(buf, len), buf, len);
    attempt(() => decodeDownlink(buf, len), buf, len);
    attempt(() => decodeCpxFrame(buf, len), buf, len);
    try { stream.push(buf, len); } catch (e) { stats.crashes++; stats.firstCrash ??= `stream: ${String(e)}`; }
  }
  return stats;
}
