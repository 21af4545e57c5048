import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MavLinkPacketSignature } from 'node-mavlink';
import { ConfigError, UsageError } from '../../src/errors.js';
import { formatMavlinkTarget, parseMavlinkTarget } from '../../src/links/mavlink-target.js';
import { FrameSigner, loadSigningKey } from '../../src/protocols/mavlink/signing.js';
import { openTelemetry } from '../../src/devices/mavlink/telemetry.js';

test('parseMavlinkTarget: udp forms and defaults', () => {
  assert.equal(parseMavlinkTarget(undefined), { kind: 'udp', mode: 'out', host: '127.0.0.1', port: 14550 });
  assert.equal(parseMavlinkTarget('udp:127.0.0.1:14551'), { kind: 'udp', mode: 'out', host: '127.0.0.1', port: 14551 });
  assert.equal(parseMavlinkTarget('udp:'), { kind: 'udp', mode: 'out', host: '127.0.0.1', port: 14550 });
  assert.equal(parseMavlinkTarget('udp:gcs.local'), { kind: 'udp', mode: 'out', host: 'gcs.local', port: 14550 });
  assert.equal(parseMavlinkTarget('udpin:0.0.0.0:14560'), { kind: 'udp', mode: 'in', host: '0.0.0.0', port: 14560 });
  assert.equal(parseMavlinkTarget('udp:[::1]:14550'), { kind: 'udp', mode: 'out', host: '::1', port: 14550 });
  assert.equal(parseMavlinkTarget('none'), { kind: 'none' });
});

test('parseMavlinkTarget: serial', () => {
  assert.equal(parseMavlinkTarget('serial:/dev/ttyAMA0:57600'), { kind: 'serial', path: '/dev/ttyAMA0', baudRate: 57600 });
  assert.equal(parseMavlinkTarget('serial:/dev/ttyTHS1'), { kind: 'serial', path: '/dev/ttyTHS1', baudRate: 921600 });
  assert.equal(parseMavlinkTarget('/dev/ttyACM0'), { kind: 'serial', path: '/dev/ttyACM0', baudRate: 921600 });
});

test('parseMavlinkTarget: errors are UsageErrors with the accepted forms', () => {
  for (const bad of ['tcp:1.2.3.4:5760', 'udp:host:99999', 'udp:host:abc', 'udp:a:b:c', 'serial:ttyS0', 'udp:[::1']) {
    try {
      parseMavlinkTarget(bad);
      assert.unreachable(bad);
    } catch (e) {
      assert.ok(e instanceof UsageError, bad);
      assert.match((e as Error).message, '--mavlink');
    }
  }
});

test('a udp host that does not resolve is refused when the link opens, not dropped silently', async () => {
  try {
    await openTelemetry({ target: 'udp:nohost.invalid' });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, /cannot resolve host "nohost\.invalid"/);
  }
  const ok = await openTelemetry({ target: 'udp:127.0.0.1:14550' });
  assert.ok(ok.telemetry, 'an IP address opens without a lookup');
  await ok.close();
});

test('formatMavlinkTarget round-trips', () => {
  for (const s of ['udp:127.0.0.1:14550', 'udpin:0.0.0.0:14560', 'udp:[::1]:14550', 'serial:/dev/ttyAMA0:921600', 'none']) {
    assert.is(formatMavlinkTarget(parseMavlinkTarget(s)), s);
  }
});

test('loadSigningKey: raw, hex, base64, passphrase; empty → ConfigError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-mavkey-'));
  try {
    const k = Buffer.alloc(32); for (let i = 0; i < 32; i++) k[i] = i * 7;
    const f = (name: string, data: string | Buffer): string => { const p = join(dir, name); writeFileSync(p, data, { mode: 0o600 }); return p; };
    assert.equal(loadSigningKey(f('raw', k)), k);
    assert.equal(loadSigningKey(f('hex', k.toString('hex') + '\n')), k);
    assert.equal(loadSigningKey(f('b64', k.toString('base64'))), k);
    assert.equal(loadSigningKey(f('pass', 'correct horse battery staple\n')), MavLinkPacketSignature.key('correct horse battery staple'));
    try { loadSigningKey(f('empty', '')); assert.unreachable(); } catch (e) { assert.ok(e instanceof ConfigError); }
    try { loadSigningKey(join(dir, 'missing')); assert.unreachable(); } catch (e) { assert.ok(e instanceof ConfigError); }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FrameSigner rejects misuse with RangeError', () => {
  assert.throws(() => new FrameSigner(Buffer.alloc(31)), RangeError);
  assert.throws(() => new FrameSigner(Buffer.alloc(32)).sign(Buffer.from([0xfd, 1, 0])), RangeError);
  const s = new FrameSigner(Buffer.alloc(32), 0, () => 1_700_000_000_000);
  const a = s.nextTimestamp(), b = s.nextTimestamp();
  assert.is(b, a + 1);
});

test.run();
