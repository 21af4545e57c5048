import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeCpxUartCrazyflie } from '../../src/links/mock/cpx.js';
import { CpxLink, parseSerialUri } from '../../src/links/cpx.js';
import { FakeCrazyflieUsb } from '../../src/links/mock/usb.js';
import { CfUsbLink } from '../../src/links/usb.js';
import { DisconnectedError, TimeoutError } from '../../src/errors.js';
import type { CrtpLink } from '../../src/links/crtp-link.js';
import type { Transport } from '../../src/links/transport.js';
import { createCrtpLink, crtpScheme } from '../../src/links/crtp-uri.js';
import { FakeCrazyradio } from '../../src/links/mock/crazyradio.js';
import { RadioLink } from '../../src/links/crazyradio.js';
import { UdpLink } from '../../src/links/udp.js';
import { EchoEndpoint } from '../helpers/crtp-echo.js';

async function echo(link: CrtpLink, n: number): Promise<number[]> {
  for (let i = 0; i < n; i++) await link.send(Uint8Array.of(0xfc, i));
  const rx = new Uint8Array(32);
  const seen: number[] = [];
  while (seen.length < n) {
    const len = await link.receive(rx, 500);
    if (len === 0) break;
    seen.push(rx[1]!);
  }
  return seen;
}

test('usb://0 — set_crtp_to_usb first, then raw CRTP both ways', async () => {
  const cf = new EchoEndpoint();
  const dev = new FakeCrazyflieUsb(cf);
  const link = new CfUsbLink('usb://0', dev);
  await link.open();
  assert.ok(dev.crtpEnabled);
  assert.equal(await echo(link, 20), Array.from({ length: 20 }, (_, i) => i));
  await link.close();
  assert.not.ok(dev.crtpEnabled, 'CRTP handed back to the radio on close');
});

test('usb://0 unplugged → DisconnectedError', async () => {
  const dev = new FakeCrazyflieUsb(new EchoEndpoint());
  const link = new CfUsbLink('usb://0', dev);
  await link.open();
  dev.unplug();
  try { await link.receive(new Uint8Array(32), 1000); assert.unreachable(); } catch (e) { assert.instance(e, DisconnectedError); }
  await link.close();
});

test('mock:// — the same link classes over the shipped faithful fakes, one URI factory', async () => {
  for (const uri of ['mock://radio/0/80/2M/E7E7E7E7E7', 'mock://usb/0', 'mock://serial/dev/ttyAMA0']) {
    assert.is(crtpScheme(uri), 'mock');
    const cf = new EchoEndpoint();
    const link = await createCrtpLink(uri, { mockCrazyflie: cf });
    await link.open();
    assert.equal(await echo(link, 10), Array.from({ length: 10 }, (_, i) => i), uri);
    assert.equal(cf.got.length, 10, `${uri}: the Crazyflie side saw every packet once`);
    await link.close();
  }
  await createCrtpLink('mock://usb/0').then(() => assert.unreachable(), (e: unknown) => assert.match(String(e), /needs the Crazyflie's CRTP side/));
  assert.throws(() => crtpScheme('mock:/radio'), TypeError);
  await createCrtpLink('mock://tcp/1', { mockCrazyflie: new EchoEndpoint() }).then(() => assert.unreachable(), (e: unknown) => assert.instance(e, TypeError));
});

test('serial URI parsing', () => {
  assert.equal(parseSerialUri('serial:///dev/ttyAMA0?baud=576000'), { path: '/dev/ttyAMA0', baudRate: 576000 });
  assert.equal(parseSerialUri('serial://ttyAMA0'), { path: '/dev/ttyAMA0', baudRate: 576000 });
  assert.throws(() => parseSerialUri('serial:///dev/x?baud=12'), TypeError);
});

test('CPX over UART: sync on CTS, system packets, per-packet flow control, CRTP both ways', async () => {
  const cf = new EchoEndpoint();
  const wire = new FakeCpxUartCrazyflie(cf);
  const link = new CpxLink('serial:///dev/ttyAMA0?baud=576000', wire);
  await link.open();
  assert.equal(await echo(link, 25), Array.from({ length: 25 }, (_, i) => i));
  assert.ok(wire.bridgeEnabled && wire.clientConnected);
  assert.is(wire.checksumErrors, 0);
  assert.is(link.checksumErrors, 0);
  assert.is(wire.counters.crtpIn, 25);
  await link.close();
});

test('CPX without a Crazyflie answering → TimeoutError with a hint', async () => {
  const silent: Transport = {
    uri: 'x', isOpen: true, open: async () => {}, close: async () => {}, write: async () => {}, flush: async () => {},
    read: (_b, _o, _l, t = 10) => new Promise((_, rej) => setTimeout(() => rej(new TimeoutError('read', t)), Math.min(t, 20))),
  };
  const link = new CpxLink('serial:///dev/ttyAMA0', silent, { syncTimeoutMs: 100 });
  try { await link.open(); assert.unreachable(); } catch (e) { assert.instance(e, TimeoutError); assert.match((e as Error).message, /clear-to-send/); }
});

test('URI factory picks the transport by scheme', async () => {
  assert.is(crtpScheme('radio://0/80/2M/E7E7E7E7E7'), 'radio');
  assert.throws(() => crtpScheme('tcp://1.2.3.4'), TypeError);
  assert.instance(await createCrtpLink('udp://127.0.0.1:19999'), UdpLink);
  assert.instance(await createCrtpLink('radio://0/80/2M/E7E7E7E7E7', { usbDevice: new FakeCrazyradio() }), RadioLink);
  assert.instance(await createCrtpLink('usb://0', { usbDevice: new FakeCrazyflieUsb(new EchoEndpoint()) }), CfUsbLink);
  assert.instance(await createCrtpLink('serial:///dev/ttyAMA0?baud=576000', { transport: new FakeCpxUartCrazyflie(new EchoEndpoint()) }), CpxLink);
});

test('without hardware: radio:// and serial:// fail with a typed TransportError and a hint', async () => {
  const { openCrtpLink } = await import('../../src/links/crtp-uri.js');
  const { TransportError } = await import('../../src/errors.js');
  for (const uri of ['radio://0/80/2M/E7E7E7E7E7', 'usb://0', 'serial:///dev/ttyKDP-NOPE?baud=576000']) {
    try { await openCrtpLink(uri); assert.unreachable(`${uri} opened`); } catch (e) {
      assert.instance(e, TransportError, uri);
      assert.match((e as Error).message, /→/, 'has a hint');
    }
  }
});

test.run();
