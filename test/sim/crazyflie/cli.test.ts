import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKdp } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-simcf-'));

test('kdp sim crazyflie: loopback only, obstacle file validated, JSON lifecycle', () => {
  const bad = runKdp(['sim', 'crazyflie', '--udp', '192.168.1.2:19850']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /loopback/);
  const badFile = join(dir, 'bad.json');
  writeFileSync(badFile, JSON.stringify({ obstacles: [{ type: 'cylinder', x: 1, y: 0, radius: 0, height: 1 }] }));
  const r1 = runKdp(['sim', 'crazyflie', '--udp', '127.0.0.1:0', '--obstacles', badFile]);
  assert.is(r1.status, 1);
  assert.match(r1.stderr, /E_CONFIG.*\/obstacles\/0\/radius/s);
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify([{ type: 'cylinder', x: 1, y: 0, radius: 0.1, height: 2 }, { type: 'box', x: 0, y: 1, sx: 0.2, sy: 0.2, sz: 1 }]));
  const r2 = runKdp(['sim', 'crazyflie', '--udp', '127.0.0.1:0', '--obstacles', good, '--json', '--duration', '0.5']);
  assert.is(r2.status, 0, r2.stderr);
  const lines = r2.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; obstacles?: number; simSeconds?: number });
  assert.is(lines[0]!.event, 'listening');
  assert.is(lines[0]!.obstacles, 2);
  const last = lines[lines.length - 1]!;
  assert.is(last.event, 'stopped');
  assert.ok((last.simSeconds ?? 0) > 0.2, `sim ran ${last.simSeconds} s`);
});

test.run();
