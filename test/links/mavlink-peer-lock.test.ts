// udpin peer hijack: one stray datagram from any socket must not redirect the telemetry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { MavLinkProtocolV2, common } from 'node-mavlink';
import { UdpLink } from '../../src/links/mavlink.js';
import { MavlinkTelemetry } from '../../src/devices/mavlink/telemetry.js';
import { FrameSigner } from '../../src/protocols/mavlink/signing.js';

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function socket(): Promise<{ s: Socket; got: Buffer[]; port: number; close: () => Promise<void> }> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  return { s, got, port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

function timesync(signKey?: Buffer): Buffer {
  const req = new common.TimeSync();
  req.tc1 = 0n; req.ts1 = 7n; req.targetSystem = 0; req.targetComponent = 0;
  if (!signKey) return new MavLinkProtocolV2(255, 190).serialize(req, 1);
  return new FrameSigner(signKey).sign(new MavLinkProtocolV2(255, 190, MavLinkProtocolV2.IFLAG_SIGNED).serialize(req, 1));
}

test('udpin without a key: the peer locks to the first MAVLink sender; a stray byte or a later sender is ignored', async () => {
  const link = await UdpLink.open({ kind: 'udp', mode: 'in', host: '127.0.0.1', port: 0 });
  const t = new MavlinkTelemetry(link, { timesyncHz: 0, heartbeatHz: 20 });
  const gcs = await socket(), attacker = await socket();
  try {
    attacker.s.send(Buffer.from([0x42]), link.localPort, '127.0.0.1');
    await until(() => link.counters.datagramsRejected === 1);
    assert.is(link.currentPeer, undefined, 'one unframed byte does not become the peer');
    gcs.s.send(timesync(), link.localPort, '127.0.0.1');
    assert.ok(await until(() => gcs.got.length > 2), 'telemetry reaches the GCS');
    attacker.s.send(Buffer.from([0x42]), link.localPort, '127.0.0.1');
    attacker.s.send(timesync(), link.localPort, '127.0.0.1');
    await until(() => link.counters.datagramsRejected === 3);
    const before = gcs.got.length;
    await sleep(300);
    assert.ok(gcs.got.length > before, 'telemetry still flows to the GCS');
    assert.is(attacker.got.length, 0, 'nothing ever went to the other sender');
    assert.equal(link.currentPeer, { address: '127.0.0.1', port: gcs.port });
  } finally {
    await t.close(); await gcs.close(); await attacker.close();
  }
});

test('udpin with --mavlink-key: unsigned or wrongly signed senders never become the peer; the signed one does', async () => {
  const key = Buffer.alloc(32, 1);
  const link = await UdpLink.open({ kind: 'udp', mode: 'in', host: '127.0.0.1', port: 0 });
  const t = new MavlinkTelemetry(link, { timesyncHz: 0, heartbeatHz: 20, signingKey: key });
  const gcs = await socket(), attacker = await socket();
  try {
    attacker.s.send(timesync(), link.localPort, '127.0.0.1');
    attacker.s.send(timesync(Buffer.alloc(32, 9)), link.localPort, '127.0.0.1');
    await until(() => link.counters.datagramsRejected === 2);
    await sleep(200);
    assert.is(link.currentPeer, undefined);
    assert.is(attacker.got.length, 0);
    gcs.s.send(timesync(key), link.localPort, '127.0.0.1');
    assert.ok(await until(() => gcs.got.length > 2), 'telemetry reaches the signed GCS');
    attacker.s.send(timesync(), link.localPort, '127.0.0.1');
    await sleep(300);
    assert.is(attacker.got.length, 0);
    assert.equal(link.currentPeer, { address: '127.0.0.1', port: gcs.port });
  } finally {
    await t.close(); await gcs.close(); await attacker.close();
  }
});

test('a silent peer releases the lock after peerTimeoutMs, so a restarted ground station can pair again', async () => {
  const link = await UdpLink.open({ kind: 'udp', mode: 'in', host: '127.0.0.1', port: 0 });
  link.peerTimeoutMs = 200;
  const t = new MavlinkTelemetry(link, { timesyncHz: 0, heartbeatHz: 20 });
  const a = await socket(), b = await socket();
  try {
    a.s.send(timesync(), link.localPort, '127.0.0.1');
    await until(() => link.currentPeer !== undefined);
    await sleep(400);
    b.s.send(timesync(), link.localPort, '127.0.0.1');
    assert.ok(await until(() => link.currentPeer?.port === b.port));
  } finally {
    await t.close(); await a.close(); await b.close();
  }
});

test.run();
