import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { MavLinkProtocolV2, common, minimal } from 'node-mavlink';
import { MemoryLink, UdpLink } from '../../../src/links/mavlink.js';
import { FrameSigner } from '../../../src/protocols/mavlink/signing.js';
import { MavlinkTelemetry, NullTelemetrySink, STAT_NAMES, openTelemetry } from '../../../src/devices/mavlink/telemetry.js';
import { checkV2Crc, decodeFrames, x25 } from './helpers.js';

function fakeClock(): { nowMs: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { nowMs: () => t, advance: (ms) => { t += ms; } };
}

test('independent X.25 check value', () => {
  assert.is(x25(Buffer.from('123456789')), 0x6f91);
});

test('all message kinds decode with node-mavlink (CRC_EXTRA checked) and carry the published values', async () => {
  const link = new MemoryLink();
  const clk = fakeClock();
  const t = new MavlinkTelemetry(link, { sysid: 42, manual: true, nowMs: clk.nowMs, timesyncHz: 0 });
  t.publishState({ timeBootMs: 123456, xM: 1.5, yM: -2.25, zM: -0.5, vxMps: 0.1, vyMps: 0.2, vzMps: -0.3 });
  t.publishPlan({ count: 2, posXM: [1, 2], posYM: [3, 4], posZM: [-1, -1.5], velXMps: [0.5, 0.25], velYMps: [0, 0] });
  t.publishStats({ latencyP50Us: 410, latencyP99Us: 870, deadlineMisses: 3, candidates: 16 });
  t.fault('model rejected: sha256 mismatch');
  t.flush();
  assert.ok(link.sent.length >= 1 + 1 + 1 + 1 + 4);
  for (const f of link.sent) checkV2Crc(f);
  const { packets, crcErrors, data } = await decodeFrames(link.sent);
  assert.is(crcErrors, 0);
  assert.is(packets.length, link.sent.length);
  for (const p of packets) { assert.is(p.header.sysid, 42); assert.is(p.header.compid, 191); }
  const byId = (id: number): unknown[] => data.filter((_, i) => packets[i]!.header.msgid === id);

  const hb = byId(0)[0] as minimal.Heartbeat;
  assert.is(hb.type, minimal.MavType.ONBOARD_CONTROLLER);
  assert.is(hb.autopilot, minimal.MavAutopilot.INVALID);
  assert.is(hb.systemStatus, minimal.MavState.ACTIVE);
  assert.is(hb.mavlinkVersion, 3);

  const lpn = byId(32)[0] as common.LocalPositionNed;
  assert.is(lpn.timeBootMs, 123456);
  assert.is(lpn.x, 1.5); assert.is(lpn.y, -2.25); assert.is(lpn.z, -0.5);
  assert.ok(Math.abs(lpn.vz + 0.3) < 1e-6);

  const tr = byId(332)[0] as common.TrajectoryRepresentationWaypoints;
  assert.is(tr.validPoints, 2);
  assert.equal(tr.posX.slice(0, 2), [1, 2]);
  assert.equal(tr.posZ.slice(0, 2), [-1, -1.5]);
  assert.ok(Number.isNaN(tr.posX[2]));
  assert.ok(Number.isNaN(tr.velZ[0]));
  assert.is(tr.command[0], 65535);

  const nv = byId(251) as common.NamedValueFloat[];
  assert.equal(nv.map((m) => m.name), ['plan_p50us', 'plan_p99us', 'dl_misses', 'candidates']);
  assert.equal(nv.map((m) => m.value), [410, 870, 3, 16]);

  const st = byId(253) as common.StatusText[];
  assert.is(st.length, 1);
  assert.is(st[0]!.text, 'model rejected: sha256 mismatch');
  assert.is(st[0]!.severity, common.MavSeverity.ERROR);
  await t.close();
});

test('a frame with the wrong CRC_EXTRA is rejected by the splitter', async () => {
  const hb = new minimal.Heartbeat();
  hb.type = minimal.MavType.ONBOARD_CONTROLLER;
  const good = new MavLinkProtocolV2(1, 191).serialize(hb, 0);
  const bad = Buffer.from(good);
  const len = bad[1]!;
  bad.writeUInt16LE(x25(bad.subarray(1, 10 + len), 51), 10 + len); // CRC_EXTRA 51 instead of 50
  const r = await decodeFrames([bad, good]);
  assert.is(r.crcErrors, 1);
  assert.is(r.packets.length, 1);
});

test('rate limiting: state at stateHz no matter how often the loop publishes; heartbeat at 1 Hz', async () => {
  const link = new MemoryLink();
  const clk = fakeClock();
  const t = new MavlinkTelemetry(link, { manual: true, nowMs: clk.nowMs, stateHz: 10, statsHz: 1, timesyncHz: 0 });
  // a 500 Hz loop for 3 s, flusher called every 10 ms
  for (let tick = 0; tick < 1500; tick++) {
    t.publishState({ xM: tick, yM: 0, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 });
    t.publishStats({ latencyP50Us: 1, latencyP99Us: 2, deadlineMisses: 0, candidates: 8 });
    clk.advance(2);
    if (tick % 5 === 4) t.flush();
  }
  const ids = link.sent.map((f) => f.readUIntLE(7, 3));
  const count = (id: number): number => ids.filter((i) => i === id).length;
  assert.ok(count(32) >= 29 && count(32) <= 31, `LOCAL_POSITION_NED frames ${count(32)}`);
  assert.ok(count(0) >= 3 && count(0) <= 4, `HEARTBEAT frames ${count(0)}`);
  assert.ok(count(251) >= 3 * 4 && count(251) <= 4 * 4, `NAMED_VALUE_FLOAT frames ${count(251)}`);
  await t.close();
});

test('long faults are chunked (STATUSTEXT id/chunk_seq); the fault queue is bounded and counts drops', async () => {
  const link = new MemoryLink();
  const t = new MavlinkTelemetry(link, { manual: true, timesyncHz: 0 });
  const long = 'x'.repeat(60) + 'END';
  t.fault(long, 'critical');
  for (let i = 0; i < 40; i++) t.fault(`f${i}`);
  assert.is(t.counters.faultsDropped, 40 - 15);
  t.flush();
  const { data, packets } = await decodeFrames(link.sent);
  const st = data.filter((_, i) => packets[i]!.header.msgid === 253) as common.StatusText[];
  assert.is(st[0]!.text, 'x'.repeat(50));
  assert.is(st[1]!.text, 'x'.repeat(10) + 'END');
  assert.ok(st[0]!.id !== 0 && st[0]!.id === st[1]!.id);
  assert.equal([st[0]!.chunkSeq, st[1]!.chunkSeq], [0, 1]);
  assert.is(st[0]!.severity, common.MavSeverity.CRITICAL);
  assert.is(st.length, 2 + 15);
  const hb = data[packets.findIndex((p) => p.header.msgid === 0)] as minimal.Heartbeat;
  assert.is(hb.systemStatus, minimal.MavState.CRITICAL);
  await t.close();
});

test('publish* never throw: garbage input, after close, Null sink', async () => {
  const link = new MemoryLink();
  const t = new MavlinkTelemetry(link, { manual: true });
  t.publishPlan({ count: 99, posXM: [], posYM: [1] });
  t.publishPlan({ count: -3, posXM: [1], posYM: [1] });
  t.publishState({ xM: NaN, yM: Infinity, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 });
  t.fault(undefined as unknown as string);
  t.flush();
  await t.close();
  t.publishState({ xM: 0, yM: 0, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 });
  t.fault('late');
  t.flush();
  const n = new NullTelemetrySink();
  n.publishState(); n.publishPlan(); n.publishStats(); n.fault();
});

test('a failing link (send throws) does not propagate into flush or the caller', async () => {
  const link = new MemoryLink();
  link.send = () => { throw new Error('boom'); };
  const t = new MavlinkTelemetry(link, { manual: true });
  t.publishState({ xM: 0, yM: 0, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 });
  t.flush();
  assert.ok(t.counters.flushErrors >= 1);
  await t.close();
});

test('flu frame: y and z are negated into NED', async () => {
  const link = new MemoryLink();
  const t = new MavlinkTelemetry(link, { manual: true, frame: 'flu', timesyncHz: 0 });
  t.publishState({ xM: 1, yM: 2, zM: 0.5, vxMps: 0, vyMps: 1, vzMps: 0.25 });
  t.flush();
  const { data, packets } = await decodeFrames(link.sent);
  const lpn = data[packets.findIndex((p) => p.header.msgid === 32)] as common.LocalPositionNed;
  assert.equal([lpn.x, lpn.y, lpn.z, lpn.vy, lpn.vz], [1, -2, -0.5, -1, -0.25]);
  await t.close();
});

test('TIMESYNC: a request is answered (tc1 = our clock, ts1 echoed, target = requester); our request measures RTT', async () => {
  const link = new MemoryLink();
  let ns = 5_000_000_000n;
  const t = new MavlinkTelemetry(link, { manual: true, sysid: 1, nowNs: () => ns, timesyncHz: 1 });
  const gcs = new MavLinkProtocolV2(255, 190);
  const req = new common.TimeSync();
  req.tc1 = 0n; req.ts1 = 1234567890123n; req.targetSystem = 0; req.targetComponent = 0;
  link.inject(gcs.serialize(req, 3));
  await new Promise((r) => setImmediate(r));
  assert.is(t.counters.timesyncAnswered, 1);
  const { data, packets } = await decodeFrames(link.sent);
  const answers = data.filter((_, i) => packets[i]!.header.msgid === 111) as common.TimeSync[];
  assert.is(answers.length, 1);
  assert.is(answers[0]!.tc1, 5_000_000_000n);
  assert.is(answers[0]!.ts1, 1234567890123n);
  assert.is(answers[0]!.targetSystem, 255);
  assert.is(answers[0]!.targetComponent, 190);
  // addressed to someone else → ignored
  req.targetSystem = 9;
  link.inject(gcs.serialize(req, 4));
  await new Promise((r) => setImmediate(r));
  assert.is(t.counters.timesyncAnswered, 1);
  // our own request, answered by the GCS 2 ms later
  t.flush();
  const ours = (await decodeFrames(link.sent.slice(-3))).data.find((d) => d instanceof common.TimeSync && d.tc1 === 0n) as common.TimeSync;
  assert.ok(ours, 'we sent a TIMESYNC request');
  ns += 2_000_000n;
  const ans = new common.TimeSync();
  ans.tc1 = 42n; ans.ts1 = ours.ts1; ans.targetSystem = 1; ans.targetComponent = 191;
  link.inject(gcs.serialize(ans, 5));
  await new Promise((r) => setImmediate(r));
  assert.is(t.counters.timesyncRttUs, 2000);
  await t.close();
});

test('signing round-trips: flag set, node-mavlink verifies with the key, wrong key fails, timestamps increase', async () => {
  const key = Buffer.alloc(32, 7);
  const link = new MemoryLink();
  const t = new MavlinkTelemetry(link, { manual: true, signingKey: key, linkId: 3, timesyncHz: 0 });
  t.publishState({ xM: 1, yM: 2, zM: 3, vxMps: 0, vyMps: 0, vzMps: 0 });
  t.publishStats({ latencyP50Us: 1, latencyP99Us: 2, deadlineMisses: 0, candidates: 4 });
  t.flush();
  for (const f of link.sent) checkV2Crc(f);
  const { packets, crcErrors } = await decodeFrames(link.sent);
  assert.is(crcErrors, 0);
  assert.is(packets.length, link.sent.length);
  let lastTs = -1;
  for (const p of packets) {
    assert.is(p.header.incompatibilityFlags & 1, 1);
    assert.ok(p.signature, 'signature present');
    assert.is(p.signature!.linkId, 3);
    assert.ok(p.signature!.matches(key), 'signature matches the key');
    assert.not.ok(p.signature!.matches(Buffer.alloc(32, 8)), 'wrong key fails');
    assert.ok(p.signature!.timestamp > lastTs, 'strictly increasing timestamp');
    lastTs = p.signature!.timestamp;
  }
  // timestamp is 10 µs units since 2015-01-01
  const expected = (Date.now() - Date.UTC(2015, 0, 1)) * 100;
  assert.ok(Math.abs(lastTs - expected) < 100 * 5000);
  // a tampered signed frame no longer verifies
  const tampered = Buffer.from(link.sent[1]!);
  tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1);
  const r2 = await decodeFrames([tampered]);
  assert.not.ok(r2.packets[0]!.signature!.matches(key));
  await t.close();
});

test('with signing on, unsigned or wrongly signed TIMESYNC requests are ignored; correctly signed ones answered', async () => {
  const key = Buffer.alloc(32, 9);
  const link = new MemoryLink();
  const t = new MavlinkTelemetry(link, { manual: true, signingKey: key, timesyncHz: 0 });
  const req = new common.TimeSync();
  req.tc1 = 0n; req.ts1 = 77n; req.targetSystem = 0; req.targetComponent = 0;
  link.inject(new MavLinkProtocolV2(255, 190).serialize(req, 1));
  const signedProto = new MavLinkProtocolV2(255, 190, MavLinkProtocolV2.IFLAG_SIGNED);
  link.inject(new FrameSigner(Buffer.alloc(32, 1)).sign(signedProto.serialize(req, 2)));
  await new Promise((r) => setImmediate(r));
  assert.is(t.counters.timesyncAnswered, 0);
  assert.is(t.counters.rxRejected, 2);
  link.inject(new FrameSigner(key).sign(signedProto.serialize(req, 3)));
  await new Promise((r) => setImmediate(r));
  assert.is(t.counters.timesyncAnswered, 1);
  await t.close();
});

test('UDP on loopback: frames reach a ground-station socket and its TIMESYNC request is answered', async () => {
  const gcs = createSocket('udp4');
  await new Promise<void>((r) => gcs.bind(0, '127.0.0.1', () => r()));
  const port = gcs.address().port;
  const got: Buffer[] = [];
  let from: { address: string; port: number } | undefined;
  gcs.on('message', (m, rinfo) => { got.push(m); from = rinfo; });
  const opened = await openTelemetry({ target: `udp:127.0.0.1:${port}`, stateHz: 50, timesyncHz: 0 });
  try {
    opened.sink.publishState({ xM: 1, yM: 1, zM: 1, vxMps: 0, vyMps: 0, vzMps: 0 });
    const deadline = Date.now() + 3000;
    while (!got.some((f) => f.readUIntLE(7, 3) === 32) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(got.some((f) => f.readUIntLE(7, 3) === 0), 'heartbeat received');
    assert.ok(got.some((f) => f.readUIntLE(7, 3) === 32), 'LOCAL_POSITION_NED received');
    const req = new common.TimeSync();
    req.tc1 = 0n; req.ts1 = 99n; req.targetSystem = 0; req.targetComponent = 0;
    gcs.send(new MavLinkProtocolV2(255, 190).serialize(req, 0), from!.port, from!.address);
    while (!got.some((f) => f.readUIntLE(7, 3) === 111) && Date.now() < deadline + 2000) await new Promise((r) => setTimeout(r, 10));
    const { data, packets } = await decodeFrames(got);
    const ans = data[packets.findIndex((p) => p.header.msgid === 111)] as common.TimeSync;
    assert.is(ans.ts1, 99n);
    assert.ok(ans.tc1 > 0n);
    assert.ok(opened.telemetry!.link instanceof UdpLink);
  } finally {
    await opened.close();
    await new Promise<void>((r) => gcs.close(() => r()));
  }
});

test('publishState/Plan/Stats do not allocate per call (heap stays flat over 200k calls)', async () => {
  const t = new MavlinkTelemetry(new MemoryLink(), { manual: true });
  const s = { xM: 0, yM: 0, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 };
  const px = new Float32Array(8), py = new Float32Array(8), pz = new Float32Array(8);
  const plan = { count: 8, posXM: px, posYM: py, posZM: pz };
  const stats = { latencyP50Us: 1, latencyP99Us: 2, deadlineMisses: 0, candidates: 8 };
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 20_000; i++) { s.xM = i; t.publishState(s); t.publishPlan(plan); t.publishStats(stats); }
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 200_000; i++) { s.xM = i; t.publishState(s); t.publishPlan(plan); t.publishStats(stats); }
  gc?.();
  const growth = process.memoryUsage().heapUsed - before;
  assert.ok(growth < 256 * 1024, `heap grew ${growth} bytes`);
  assert.is(STAT_NAMES.every((n) => n.length <= 10), true);
  await t.close();
});

test.run();
