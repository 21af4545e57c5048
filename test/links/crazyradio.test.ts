import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeCrazyradio } from '../../src/links/mock/crazyradio.js';
import { Crazyradio, RadioLink, RadioRequest, parseRadioUri } from '../../src/links/crazyradio.js';
import { DisconnectedError, TransportError } from '../../src/errors.js';
import type { TransportError as TE } from '../../src/errors.js';
import { Crazyflie } from '../../src/devices/crazyflie/crazyflie.js';
import { SimCrazyflie } from '../../src/sim/crazyflie/firmware.js';
import { EchoEndpoint } from '../helpers/crtp-echo.js';

async function echoRun(link: RadioLink, n: number): Promise<number[]> {
  const rx = new Uint8Array(32);
  const seen: number[] = [];
  for (let i = 0; i < n; i++) await link.send(Uint8Array.of(0xfc, i, 0xaa));
  const until = Date.now() + 5000;
  while (seen.length < n && Date.now() < until) {
    const len = await link.receive(rx, 200);
    if (len > 0 && (rx[0]! & 0xf3) === 0xf0) seen.push(rx[1]!);
    if (len === 0 && seen.length > 0) break;
  }
  return seen;
}

test('URI parsing (cflib convention)', () => {
  const u = parseRadioUri('radio://0/80/2M/E7E7E7E7E7');
  assert.is(u.channel, 80); assert.is(u.dataRate, 2); assert.equal([...u.address], [0xe7, 0xe7, 0xe7, 0xe7, 0xe7]); assert.ok(u.safelink);
  assert.is(parseRadioUri('radio://1/10/250K?safelink=0').safelink, false);
  assert.is(parseRadioUri('radio://1/10/250K').dataRate, 0);
  assert.throws(() => parseRadioUri('radio://0/200/2M'), TypeError);
});

test('init sends cflib\'s vendor-request sequence, then the URI settings', async () => {
  const dev = new FakeCrazyradio();
  const link = new RadioLink('radio://0/80/2M/E7E7E7E701', dev, { safelink: false });
  await link.open();
  const seq = dev.requests.map((r) => `${r.request.toString(16)}:${r.value}${r.data ? ':' + r.data : ''}`);
  assert.equal(seq, ['3:2', '1:2', '20:0', '2:0:e7e7e7e7e7', '4:3', '6:3', '5:160', '10:1', '1:80', '2:0:e7e7e7e701']);
  assert.is(dev.state.channel, 80);
  await link.close();
  assert.not.ok(dev.opened);
});

test('the fake is not an echo: wrong channel → no ACK; IN without OUT stalls; unknown request stalls', async () => {
  const dev = new FakeCrazyradio();
  dev.addCrazyflie(new EchoEndpoint(), { channel: 80 });
  const r = new Crazyradio(dev);
  await r.init();
  let st = await r.sendPacket(Uint8Array.of(0xff));
  assert.not.ok(st.ack, 'channel 2: nobody there');
  assert.is(st.retry, 3);
  await r.setChannel(80);
  st = await r.sendPacket(Uint8Array.of(0xff));
  assert.ok(st.ack); assert.ok(st.powerDetector); assert.is(st.data.length, 0);
  assert.is((await dev.transferIn(1, 64)).status, 'stall');
  assert.is((await dev.controlTransferOut({ requestType: 'vendor', recipient: 'device', request: 0x42, value: 0, index: 0 })).status, 'stall');
  await r.close();
});

test('safelink under 20% uplink + 20% ACK loss: every echo exactly once, in order', async () => {
  const dev = new FakeCrazyradio({ uplinkLoss: 0.2, ackLoss: 0.2, seed: 7 });
  const cf = new EchoEndpoint();
  const nrf = dev.addCrazyflie(cf, { channel: 80 });
  const link = new RadioLink('radio://0/80/2M/E7E7E7E7E7', dev);
  await link.open();
  assert.ok(link.safelink, 'safelink negotiated');
  assert.not.ok(link.needsResending);
  const seen = await echoRun(link, 60);
  assert.equal(seen, Array.from({ length: 60 }, (_, i) => i));
  assert.equal(cf.got, Array.from({ length: 60 }, (_, i) => i), 'no duplicates reached the Crazyflie');
  assert.ok(nrf.counters.duplicatesDropped > 0, 'lost ACKs produced retransmissions that safelink dropped');
  assert.ok(link.stats.retries > 0);
  await link.close();
});

test('without safelink a lost ACK duplicates uplink packets and loses ACK payloads (needsResending)', async () => {
  const dev = new FakeCrazyradio({ ackLoss: 0.3, seed: 3 });
  const cf = new EchoEndpoint();
  dev.addCrazyflie(cf, { channel: 80 });
  const link = new RadioLink('radio://0/80/2M/E7E7E7E7E7?safelink=0', dev);
  await link.open();
  assert.ok(link.needsResending);
  const seen = await echoRun(link, 60);
  assert.ok(cf.got.length > 60, `duplicates delivered (${cf.got.length})`);
  assert.ok(seen.length < cf.got.length, 'some ACK payloads were lost');
  await link.close();
});

test('link quality falls with loss, and missing ACKs for 80 ms → DisconnectedError "too many packets lost"', async () => {
  const dev = new FakeCrazyradio({ seed: 9, airtimeMs: 1 });
  const cf = dev.addCrazyflie(new EchoEndpoint(), { channel: 80 });
  const link = new RadioLink('radio://0/80/2M/E7E7E7E7E7', dev, { qualityPeriodMs: 20 });
  const qualities: number[] = [];
  let error: TE | undefined;
  let errorAt = 0;
  link.setListener({ linkQuality: (q) => qualities.push(q), linkError: (e) => { error = e; errorAt = performance.now(); } });
  await link.open();
  await new Promise((r) => setTimeout(r, 120));
  assert.ok(qualities.length > 0 && qualities[qualities.length - 1]! >= 90, `good link quality ${qualities.join(',')}`);
  const t0 = performance.now();
  cf.powered = false;
  const rx = new Uint8Array(32);
  try { while (true) await link.receive(rx, 1000); } catch (e) { assert.instance(e, DisconnectedError); }
  assert.instance(error, DisconnectedError);
  assert.match(error!.message, /too many packets lost/);
  assert.ok(link.stats.lostPackets >= 3);
  const ms = errorAt - t0;
  console.log(`[figure] radio link loss detected after ${ms.toFixed(1)} ms (fake dongle, ~1 ms per exchange, ${link.stats.lostPackets} lost)`);
  assert.ok(ms < 100, `detected in ${ms} ms`);
  assert.ok(qualities.some((q) => q < 50), 'quality reported the loss');
  await link.close();
});

test('unplugged dongle → DisconnectedError; firmware < 0.4 refused', async () => {
  const dev = new FakeCrazyradio();
  dev.addCrazyflie(new EchoEndpoint(), { channel: 80 });
  const link = new RadioLink('radio://0/80/2M/E7E7E7E7E7', dev);
  await link.open();
  dev.unplug();
  try { await link.receive(new Uint8Array(32), 1000); assert.unreachable(); } catch (e) { assert.instance(e, DisconnectedError); }
  await link.close();
  const old = new RadioLink('radio://0/80/2M', new FakeCrazyradio({ version: [0, 3] }));
  try { await old.open(); assert.unreachable(); } catch (e) { assert.instance(e, TransportError); assert.match((e as Error).message, /too old/); }
});

test('the full client over the fake radio (10% up / 10% ACK loss, safelink) to the simulated firmware', async () => {
  const sim = await SimCrazyflie.create();
  const dev = new FakeCrazyradio({ uplinkLoss: 0.1, ackLoss: 0.1, seed: 11 });
  const nrf = dev.addCrazyflie(sim, { channel: 80 });
  const clock = setInterval(() => sim.advance(0.004), 4);
  const cf = new Crazyflie({ cacheDir: null, linkTimeoutMs: 2000, link: { usbDevice: dev } });
  try {
    await cf.connect('radio://0/80/2M/E7E7E7E7E7');
    assert.is(cf.protocolVersion, 12);
    assert.is(cf.param.get('stabilizer.estimator'), 2);
    const st = await cf.log.subscribe(['stateEstimate.z', 'pm.vbat'], { periodMs: 20 });
    const t0 = Date.now();
    while (st.updates < 10 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.ok(st.updates >= 10, `log updates over the radio: ${st.updates}`);
    await cf.param.set('posCtlPid.xKp', 3);
    assert.is(sim.controller.gains.posKp, 3);
    assert.ok(nrf.counters.duplicatesDropped > 0, 'lost ACKs happened and safelink dropped the duplicates');
    const stats = cf.linkStats!;
    assert.ok(stats.retries > 0 && stats.txPackets > stats.rxPackets);
  } finally {
    await cf.close();
    clearInterval(clock);
    sim.dispose();
  }
  assert.is(sim.counters.stopSetpoints, 1, 'close sent the stop setpoint through the radio');
});

test.run();
