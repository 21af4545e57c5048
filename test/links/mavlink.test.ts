import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MavLinkProtocolV2, common, minimal } from 'node-mavlink';
import { SerialLink, UdpLink } from '../../src/links/mavlink.js';
import { MavlinkTelemetry } from '../../src/devices/mavlink/telemetry.js';
import { decodeFrames } from '../devices/mavlink/helpers.js';
import { requireTool } from '../helpers/tools.js';


async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

test('udpin: listens, answers the last peer (heartbeat + TIMESYNC reply reach the GCS)', async () => {
  const link = await UdpLink.open({ kind: 'udp', mode: 'in', host: '127.0.0.1', port: 0 });
  const t = new MavlinkTelemetry(link, { timesyncHz: 0 });
  const gcs = createSocket('udp4');
  await new Promise<void>((r) => gcs.bind(0, '127.0.0.1', () => r()));
  const got: Buffer[] = [];
  gcs.on('message', (m) => got.push(m));
  try {
    assert.ok(link.counters.framesDropped >= 0);
    const req = new common.TimeSync();
    req.tc1 = 0n; req.ts1 = 5n; req.targetSystem = 0; req.targetComponent = 0;
    gcs.send(new MavLinkProtocolV2(255, 190).serialize(req, 0), link.localPort, '127.0.0.1');
    await until(() => got.some((f) => f.readUIntLE(7, 3) === 111) && got.some((f) => f.readUIntLE(7, 3) === 0), 3000);
    const { data, packets } = await decodeFrames(got);
    const ts = data[packets.findIndex((p) => p.header.msgid === 111)] as common.TimeSync;
    assert.is(ts.ts1, 5n);
    assert.ok(packets.some((p) => p.header.msgid === 0), 'heartbeat to the peer');
  } finally {
    await t.close();
    await new Promise<void>((r) => gcs.close(() => r()));
  }
});

test('serial link over a socat pty pair: frames arrive intact at the other end', async () => {
  requireTool('socat');
  const dir = mkdtempSync(join(tmpdir(), 'kdp-mavpty-'));
  const a = join(dir, 'ttyA'), b = join(dir, 'ttyB');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  try {
    await until(() => existsSync(a) && existsSync(b));
    const link = new SerialLink({ kind: 'serial', path: a, baudRate: 921600 });
    const t = new MavlinkTelemetry(link, { manual: true, timesyncHz: 0 });
    const { SerialPort } = await import('serialport');
    const peer = new SerialPort({ path: b, baudRate: 921600 });
    const got: Buffer[] = [];
    peer.on('data', (d: Buffer) => got.push(d));
    await new Promise<void>((r) => peer.on('open', () => r()));
    // the link opens asynchronously; frames before that are dropped and counted
    await until(() => { t.publishState({ xM: 1, yM: 2, zM: 3, vxMps: 0, vyMps: 0, vzMps: 0 }); t.flush(); return link.counters.framesSent > 0; }, 3000);
    // frames sent while the port was still opening are dropped (counted), and the heartbeat is due once a
    // second: keep flushing until one has crossed the pty
    let decoded = await decodeFrames([Buffer.concat(got)]);
    for (const end = Date.now() + 4000; !decoded.packets.some((p) => p.header.msgid === 0) && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 50));
      t.publishState({ xM: 1, yM: 2, zM: 3, vxMps: 0, vyMps: 0, vzMps: 0 });
      t.flush();
      decoded = await decodeFrames([Buffer.concat(got)]);
    }
    const { packets, data, crcErrors } = decoded;
    assert.is(crcErrors, 0);
    assert.ok(packets.some((p) => p.header.msgid === 0));
    const hb = data[packets.findIndex((p) => p.header.msgid === 0)] as minimal.Heartbeat;
    assert.is(hb.type, minimal.MavType.ONBOARD_CONTROLLER);
    // and the other way: bytes from the flight controller reach the link's reader through the same seam
    const heard: Buffer[] = [];
    link.onData((c) => heard.push(c));
    await new Promise<void>((r, j) => peer.write(Buffer.from([0xfd, 1, 2, 3]), (e) => (e ? j(e) : r())));
    await until(() => Buffer.concat(heard).length >= 4, 3000);
    assert.equal([...Buffer.concat(heard)], [0xfd, 1, 2, 3]);
    await t.close();
    await new Promise<void>((r) => peer.close(() => r()));
  } finally {
    socat.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
