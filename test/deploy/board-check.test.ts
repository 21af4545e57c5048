import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHost, expandCpuList, summarize, type HostProbe } from '../../src/deploy/board-check.js';
import { UDEV_DIR, loadHostProfile } from '../../src/boards/schema.js';
import { runKdp } from '../helpers/cli.js';

function fakePi(over: Partial<HostProbe> = {}, files: Record<string, string> = {}): HostProbe {
  const shipped = (r: string): string => readFileSync(join(UDEV_DIR, r), 'utf8');
  const fs: Record<string, string> = {
    '/proc/cmdline': 'console=serial0,115200 root=PARTUUID=x rootwait isolcpus=3 nohz_full=3',
    '/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor': 'performance\n',
    '/etc/udev/rules.d/99-kdp-crazyflie.rules': shipped('99-kdp-crazyflie.rules'),
    '/etc/udev/rules.d/99-kdp-feetech.rules': shipped('99-kdp-feetech.rules'),
    [join(UDEV_DIR, '99-kdp-crazyflie.rules')]: shipped('99-kdp-crazyflie.rules'),
    [join(UDEV_DIR, '99-kdp-feetech.rules')]: shipped('99-kdp-feetech.rules'),
    '/dev/ttyAMA0': '',
    ...files,
  };
  return {
    nodeVersion: '20.11.1', arch: 'arm64', platform: 'linux', onlineCpus: 4, uid: 1000, userName: 'pi', groups: ['pi', 'dialout', 'plugdev'],
    readText: (p) => fs[p], exists: (p) => p in fs,
    glob: (g) => (g === '/dev/ttyACM*' ? ['/dev/ttyACM0'] : []),
    canReadWrite: () => true,
    usbIds: () => ['1d6b:0002', '1915:7777', '1a86:55d3'],
    relaxedSimd: { available: true, detail: 'relaxed SIMD (native), probe exact' },
    ...over,
  };
}

const byId = (r: ReturnType<typeof checkHost>, id: string) => r.find((c) => c.id === id);

test('a well-prepared Raspberry Pi 5 passes everything', () => {
  const r = checkHost(loadHostProfile('rpi5'), fakePi());
  assert.equal(summarize(r), { pass: r.length, warn: 0, fail: 0 }, JSON.stringify(r.filter((c) => c.status !== 'pass')));
  assert.match(byId(r, 'usb-devices')!.message, 'Crazyradio');
  assert.match(byId(r, 'usb-devices')!.message, 'CH343');
});

test('no relaxed SIMD on the engine → a warning that names the slower kernel and the fix', () => {
  const r = checkHost(loadHostProfile('rpi5'), fakePi({ relaxedSimd: { available: false, detail: 'disabled by KDP_RELAXED_SIMD=0' } }));
  const c = byId(r, 'wasm-relaxed-simd')!;
  assert.is(c.status, 'warn');
  assert.match(c.message, 'i16 kernel');
  assert.match(c.fix ?? '', 'KDP_RELAXED_SIMD');
});

test('what a fresh Pi lacks: old Node, not in dialout/plugdev, ondemand governor, no isolcpus, no udev rules, no access', () => {
  const r = checkHost(loadHostProfile('rpi5'), fakePi({
    nodeVersion: '18.19.0', groups: ['pi'], canReadWrite: () => false,
    readText: (p) => ({ '/proc/cmdline': 'console=tty1 root=x', '/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor': 'ondemand' } as Record<string, string>)[p],
  }));
  assert.is(byId(r, 'node')!.status, 'fail');
  assert.is(byId(r, 'wasm-relaxed-simd')!.status, 'pass');
  assert.is(byId(r, 'serial-group')!.status, 'fail');
  assert.match(byId(r, 'serial-group')!.fix!, 'usermod -aG dialout pi');
  assert.is(byId(r, 'usb-group')!.status, 'warn');
  assert.is(byId(r, 'governor:cpu3')!.status, 'warn');
  assert.match(byId(r, 'governor:cpu3')!.fix!, 'echo performance | sudo tee');
  assert.is(byId(r, 'pin-cores')!.status, 'warn');
  assert.match(byId(r, 'pin-cores')!.fix!, 'isolcpus=3');
  assert.is(byId(r, 'serial-devices')!.status, 'fail');
  assert.is(byId(r, 'udev:99-kdp-feetech.rules')!.status, 'warn');
  assert.match(byId(r, 'udev:99-kdp-feetech.rules')!.fix!, 'udevadm control --reload-rules');
});

test('wrong machine: too few cores to pin, wrong arch; outdated udev rule', () => {
  const r = checkHost(loadHostProfile('jetson-orin-nano'), fakePi({ onlineCpus: 4 }, { '/etc/udev/rules.d/99-kdp-feetech.rules': '# old\n' }));
  assert.is(byId(r, 'cores')!.status, 'warn');
  assert.is(byId(r, 'pin-cores')!.status, 'fail');
  assert.is(byId(r, 'udev:99-kdp-feetech.rules')!.status, 'warn');
  assert.match(byId(r, 'udev:99-kdp-feetech.rules')!.message, 'differs');
});

test('expandCpuList', () => {
  assert.equal(expandCpuList('1-3,5'), [1, 2, 3, 5]);
  assert.equal(expandCpuList('3'), [3]);
});

test('kdp board check --json on this machine: a list of pass/warn/fail, exit 0 or 1', () => {
  const r = runKdp(['board', 'check', '--board', 'x86-dev', '--json']);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const j = JSON.parse(r.stdout) as { board: string; checks: { id: string; status: string }[]; summary: { fail: number } };
  assert.is(j.board, 'x86-dev');
  assert.ok(j.checks.some((c) => c.id === 'node' && c.status === 'pass'));
  assert.is(r.status, j.summary.fail > 0 ? 1 : 0);
  const bad = runKdp(['board', 'check', '--board', 'rpi9']);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, 'E_CONFIG');
});

test.run();
