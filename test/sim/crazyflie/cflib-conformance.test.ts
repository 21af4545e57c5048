/**
 * cflib conformance without Python: Debian has no cflib package (`apt-cache search cflib` finds only libvcflib) and
 * PyPI is unreachable here, so this replays, byte for byte, the packets cflib's connection sequence sends over its
 * udp:// driver (crazyflie/__init__.py `_start_connection_setup` → platformservice → log.refresh_toc → mem.refresh →
 * param.refresh_toc → request_update_of_all_params → "fully connected"; then a LogConfig: create (v2), start with
 * cmd 3 and a period in 10 ms units, as cflib's log.py does) and checks every reply has the shape cflib parses.
 * Header bytes are cflib's (link bits 0b11); cflib ignores link bits on receive.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { SimCrazyflie } from '../../../src/sim/crazyflie/firmware.js';
import { SimUdpServer } from '../../../src/sim/crazyflie/udp-server.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('cflib connection sequence over udp:// reaches "fully connected" and streams a log block', async () => {
  const sim = await SimCrazyflie.create();
  const server = new SimUdpServer(sim, { host: '127.0.0.1', port: 0 });
  const { port } = await server.start();
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.connect(port, '127.0.0.1', r));
  const inbox: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  sock.on('message', (m) => { inbox.push(new Uint8Array(m)); wake?.(); });
  /** Send `req` and return the first reply whose (port, channel) — link bits masked — and prefix match, as cflib's expected-reply patterns. */
  const ask = async (req: number[], expectHeader: number, prefix: number[] = [], timeoutMs = 1000): Promise<Uint8Array> => {
    sock.send(Uint8Array.from(req));
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex((p) => (p[0]! & 0xf3) === (expectHeader & 0xf3) && prefix.every((b, k) => p[1 + k] === b));
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      if (Date.now() > end) throw new Error(`no reply to ${hex(Uint8Array.from(req))}`);
      await new Promise<void>((r) => { wake = r; setTimeout(r, 20); });
    }
  };
  try {
    // cflib udp driver scan probe: a null packet gets an answer
    const probe = await ask([0xff], 0xf3);
    assert.is(probe.length, 1);
    // platformservice: LINK source → magic → protocol version
    const src = await ask([0xfd, 0x00], 0xf1);
    assert.is(Buffer.from(src.subarray(1, 19)).toString('utf8'), 'Bitcraze Crazyflie');
    const ver = await ask([0xdd, 0x00], 0xd1, [0x00]);
    assert.is(ver[2], 12);
    // log.refresh_toc: reset, TOC info v2, every item v2
    assert.is(hex(await ask([0x5d, 0x05], 0x51, [0x05])), '51050000');
    const info = await ask([0x5c, 0x03], 0x50, [0x03]);
    const logCount = info[2]! | (info[3]! << 8);
    assert.is(logCount, sim.logTocSize);
    assert.is(info[8], 16); assert.is(info[9], 128);
    const logNames: string[] = [];
    for (let id = 0; id < logCount; id++) {
      const it = await ask([0x5c, 0x02, id & 0xff, id >> 8], 0x50, [0x02, id & 0xff, id >> 8]);
      const [group, name] = Buffer.from(it.subarray(5)).toString('latin1').split('\0');
      logNames.push(`${group}.${name}`);
    }
    assert.ok(logNames.includes('stateEstimate.z') && logNames.includes('pm.vbat'));
    // mem.refresh: number of memories
    const mem = await ask([0x4c, 0x01], 0x40, [0x01]);
    assert.is(mem[2], 0);
    // param.refresh_toc + request_update_of_all_params
    const pinfo = await ask([0x2c, 0x03], 0x20, [0x03]);
    const pCount = pinfo[2]! | (pinfo[3]! << 8);
    assert.is(pinfo.length, 8, 'param TOC info has count + crc only');
    for (let id = 0; id < pCount; id++) {
      const it = await ask([0x2c, 0x02, id & 0xff, id >> 8], 0x20, [0x02, id & 0xff, id >> 8]);
      assert.ok(it.length > 7);
    }
    for (let id = 0; id < pCount; id++) {
      const r = await ask([0x2d, id & 0xff, id >> 8], 0x21, [id & 0xff, id >> 8]);
      assert.is(r[3], 0, 'status ok');
    }
    // "fully connected". LogConfig: stateEstimate.z + pm.vbat as floats, start with cmd 3, period 10 × 10 ms
    const zId = logNames.indexOf('stateEstimate.z');
    const vId = logNames.indexOf('pm.vbat');
    assert.is(hex(await ask([0x5d, 0x06, 0x01, 0x77, zId & 0xff, zId >> 8, 0x77, vId & 0xff, vId >> 8], 0x51, [0x06, 0x01])), '51060100');
    assert.is(hex(await ask([0x5d, 0x03, 0x01, 0x0a], 0x51, [0x03, 0x01])), '51030100');
    const d1 = await ask([0xf3], 0x52, [0x01], 2000);
    const d2 = await ask([0xf3], 0x52, [0x01], 2000);
    const ts = (p: Uint8Array): number => p[2]! | (p[3]! << 8) | (p[4]! << 16);
    assert.is(d1.length, 13);
    const dt = ts(d2) - ts(d1);
    assert.ok(dt >= 100 && dt <= 120, `period ${dt} ms`);
    const vbat = Buffer.from(d2.subarray(9, 13)).readFloatLE(0);
    assert.ok(vbat > 3.5 && vbat < 4.3);
    // close_link: cflib sends send_setpoint(0, 0, 0, 0)
    sock.send(Uint8Array.from([0x3c, ...new Array(14).fill(0)]));
    await new Promise((r) => setTimeout(r, 50));
    assert.is(sim.lastSetpointKind, 'rpyt');
  } finally {
    sock.close();
    await server.stop();
    sim.dispose();
  }
});

test.run();
