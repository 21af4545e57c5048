// `kdp motors find-port` (no udevadm: /dev scan, unplug diff scripted with --wait) and `kdp motors setup`
// against `kdp sim so100` with a single servo connected.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listSerialPorts } from '../../../src/links/serial.js';
import { sleep, startSimChild } from '../../sim/so100/harness.js';

const BIN = fileURLToPath(new URL('../../../dist/cli/bin.mjs', import.meta.url));
function kdp(args: string[], onStderr?: (text: string) => void): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KDP_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); onStderr?.(stderr); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function fakeDev(): string {
  const dev = mkdtempSync(join(tmpdir(), 'kdp-dev-'));
  for (const n of ['ttyACM0', 'ttyUSB1', 'ttyUSB0', 'ttyS0', 'tty1', 'null']) writeFileSync(join(dev, n), '');
  mkdirSync(join(dev, 'serial', 'by-id'), { recursive: true });
  symlinkSync('../../ttyACM0', join(dev, 'serial', 'by-id', 'usb-1a86_USB_Single_Serial_54A7-if00'));
  return dev;
}

test('listSerialPorts scans /dev-like directories (by-id links, natural order, ttyS* only with all)', () => {
  const dev = fakeDev();
  const ports = listSerialPorts({ devDir: dev, sysDir: join(dev, 'nosys') });
  assert.equal(ports.map((p) => p.device), [join(dev, 'ttyACM0'), join(dev, 'ttyUSB0'), join(dev, 'ttyUSB1')]);
  assert.is(ports[0]!.path, join(dev, 'serial', 'by-id', 'usb-1a86_USB_Single_Serial_54A7-if00'));
  assert.is(listSerialPorts({ devDir: dev, all: true }).length, 4);
  rmSync(dev, { recursive: true, force: true });
});

test('kdp motors find-port --list --json, and --wait detects the unplugged adapter', async () => {
  const dev = fakeDev();
  const r1 = await kdp(['motors', 'find-port', '--list', '--json', '--dev-dir', dev]);
  assert.is(r1.status, 0, r1.stderr);
  assert.is((JSON.parse(r1.stdout) as { ports: unknown[] }).ports.length, 3);
  let watching = false;
  const run = kdp(['motors', 'find-port', '--wait', '30', '--json', '--dev-dir', dev], (t) => { watching ||= /watching/.test(t); });
  for (let k = 0; !watching && k < 600; k++) await sleep(50); // the CLI has taken its "before" snapshot
  rmSync(join(dev, 'ttyUSB1'));
  const r2 = await run;
  assert.is(r2.status, 0, r2.stderr);
  const res = JSON.parse(r2.stdout) as { port: string; event: string };
  assert.is(res.port, join(dev, 'ttyUSB1'));
  assert.is(res.event, 'removed');
  rmSync(dev, { recursive: true, force: true });
});

test('kdp motors setup --motor gripper: the single connected servo gets id 6', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-setup-'));
  const sim = await startSimChild(join(dir, 'bus'), ['--ids', '1']);
  try {
    const r = await kdp(['motors', 'setup', '--port', sim.ready.pty, '--motor', 'gripper', '--yes', '--json']);
    assert.is(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { motors: { joint: string; id: number; previousId: number }[] };
    assert.equal(res.motors, [{ joint: 'gripper', id: 6, previousId: 1, previousBaud: 1_000_000, baud: 1_000_000 }]);
    const st = (await sim.send({ cmd: 'state' })) as { servos: { id: number }[] };
    assert.is(st.servos[0]!.id, 6);
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
