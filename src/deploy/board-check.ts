import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { relaxedSimdStatus } from '../planner/runtime/relaxed-simd.js';
import { kernelSelection, nativeStatus } from '../planner/runtime/native-kernels.js';
import { UDEV_DIR, type HostProfile } from '../boards/schema.js';

/**
 * `kdp board check`: what this host lacks for a board profile. Everything the checks read comes through a
 * `HostProbe`, so tests run against a fake host.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  message: string;
  /** what to run / change when not passing */
  fix?: string;
}

export interface HostProbe {
  nodeVersion: string;
  arch: string;
  platform: string;
  onlineCpus: number;
  uid: number;
  userName: string;
  /** group names of the current user (primary + supplementary, as in /etc/group) */
  groups: string[];
  readText(path: string): string | undefined;
  exists(path: string): boolean;
  /** expand a /dev glob like /dev/ttyACM* or /dev/serial/by-id/* */
  glob(pattern: string): string[];
  canReadWrite(path: string): boolean;
  /** "vvvv:pppp" of every USB device present */
  usbIds(): string[];
  /** the runtime's relaxed-SIMD kernel (6-bit-weight models): usable here, and why not */
  relaxedSimd?: { available: boolean; detail: string };
  /** which kernels the runtime picks here (native / wasm / reference) and why; `error` when KDP_KERNELS cannot be honoured */
  kernels?: { backend: string; why: string; nativeAvailable: boolean; error?: string };
}

function kernelsProbe(): NonNullable<HostProbe['kernels']> {
  const nativeAvailable = nativeStatus().available;
  try {
    const s = kernelSelection();
    return { backend: s.backend, why: s.why, nativeAvailable };
  } catch (e) {
    return { backend: 'none', why: (e as Error).message.split('\n')[0]!, nativeAvailable, error: (e as Error).message.split('\n')[0]! };
  }
}

function globDir(pattern: string): string[] {
  const dir = dirname(pattern);
  const base = basename(pattern);
  if (!base.includes('*') && !base.includes('?')) return existsSync(pattern) ? [pattern] : [];
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  try {
    return readdirSync(dir).filter((n) => re.test(n)).map((n) => join(dir, n)).sort();
  } catch {
    return [];
  }
}

function groupsOf(user: string, uid: number): string[] {
  const text = (() => { try { return readFileSync('/etc/group', 'utf8'); } catch { return ''; } })();
  let primaryGid = -1;
  try {
    const pw = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    primaryGid = Number(pw?.split(':')[3] ?? -1);
  } catch { /* no passwd */ }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (!name) continue;
    if (Number(gid) === primaryGid || (members ?? '').split(',').includes(user)) out.push(name);
  }
  return out;
}

export function realHostProbe(): HostProbe {
  const info = userInfo();
  return {
    nodeVersion: process.versions.node,
    relaxedSimd: relaxedSimdStatus(),
    kernels: kernelsProbe(),
    arch: process.arch,
    platform: process.platform,
    onlineCpus: availableParallelism(),
    uid: info.uid,
    userName: info.username,
    groups: groupsOf(info.username, info.uid),
    readText: (p) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } },
    exists: (p) => existsSync(p),
    glob: globDir,
    canReadWrite: (p) => { try { accessSync(p, constants.R_OK | constants.W_OK); return true; } catch { return false; } },
    usbIds: () => globDir('/sys/bus/usb/devices/*').flatMap((d) => {
      try {
        if (!statSync(join(d, 'idVendor')).isFile()) return [];
        return [`${readFileSync(join(d, 'idVendor'), 'utf8').trim()}:${readFileSync(join(d, 'idProduct'), 'utf8').trim()}`];
      } catch { return []; }
    }),
  };
}

const USB_NAMES: Record<string, string> = {
  '1915:7777': 'Crazyradio', '0483:5740': 'Crazyflie (USB)',
  '1a86:7523': 'CH340 serial adapter', '1a86:55d3': 'CH343 serial adapter', '10c4:ea60': 'CP210x serial adapter', '0403:6001': 'FTDI serial adapter',
};

export function checkHost(p: HostProfile, probe: HostProbe = realHostProbe(), udevDir = UDEV_DIR): CheckResult[] {
  const r: CheckResult[] = [];
  const add = (id: string, status: CheckStatus, message: string, fix?: string): void => { r.push(fix ? { id, status, message, fix } : { id, status, message }); };
  const root = probe.uid === 0;

  // Node
  const major = Number(probe.nodeVersion.split('.')[0]);
  if (major >= p.node.minMajor) add('node', 'pass', `Node ${probe.nodeVersion} (≥ ${p.node.minMajor})`);
  else add('node', 'fail', `Node ${probe.nodeVersion} is older than ${p.node.minMajor}`, `install Node ${p.node.minMajor} LTS (e.g. from NodeSource or the official tarball)`);

  // platform / arch
  if (probe.platform !== 'linux') add('platform', 'warn', `platform ${probe.platform}: board checks assume Linux`);
  if (probe.arch === p.arch) add('arch', 'pass', `arch ${probe.arch}`);
  else add('arch', 'warn', `arch ${probe.arch}, profile ${p.name} expects ${p.arch}`, `is --board ${p.name} the right profile for this machine?`);

  // cores
  if (probe.onlineCpus >= p.cpu.cores) add('cores', 'pass', `${probe.onlineCpus} CPUs online (profile: ${p.cpu.cores})`);
  else add('cores', 'warn', `${probe.onlineCpus} CPUs online, profile expects ${p.cpu.cores}`);
  const missingPins = p.cpu.pinCores.filter((c) => c >= probe.onlineCpus);
  if (missingPins.length) add('pin-cores', 'fail', `core(s) ${missingPins.join(',')} to pin the loop to do not exist here`, `use a profile whose cpu.pinCores are < ${probe.onlineCpus}`);
  else {
    const cmdline = probe.readText('/proc/cmdline') ?? '';
    const iso = /(?:^|\s)isolcpus=(\S+)/.exec(cmdline)?.[1];
    const isolated = iso ? expandCpuList(iso.replace(/^(?:domain,|managed_irq,|nohz,)+/, '')) : [];
    if (p.cpu.pinCores.every((c) => isolated.includes(c))) add('pin-cores', 'pass', `loop core(s) ${p.cpu.pinCores.join(',')} isolated (isolcpus=${iso})`);
    else add('pin-cores', 'warn', `loop core(s) ${p.cpu.pinCores.join(',')} not isolated: other processes can preempt the loop`,
      `add "isolcpus=${p.cpu.pinCores.join(',')} nohz_full=${p.cpu.pinCores.join(',')}" to the kernel command line (Raspberry Pi: /boot/firmware/cmdline.txt) and run the loop with taskset -c ${p.cpu.pinCores.join(',')}`);
  }

  // the fast int8 kernel (models exported with --weight-bits 6, e.g. the shipped maze2d ones)
  if (probe.relaxedSimd) {
    if (probe.relaxedSimd.available) add('wasm-relaxed-simd', 'pass', `WebAssembly relaxed SIMD: ${probe.relaxedSimd.detail}`);
    else add('wasm-relaxed-simd', 'warn', `WebAssembly relaxed SIMD unavailable (${probe.relaxedSimd.detail}): 6-bit-weight models run on the i16 kernel, ≈ 1.35× slower at N = 64`,
      'use Node 20+ and do not set KDP_RELAXED_SIMD=0; budget the i16-kernel latency (docs/runtime.md)');
  }

  // which FC kernels run: native (C, per-CPU SIMD) or the WASM fallback, and why
  if (probe.kernels) {
    const k = probe.kernels;
    if (k.error) add('kernels', 'fail', `kernels: ${k.error}`, 'unset KDP_KERNELS, or build the native kernels (`npm run build:native`)');
    else if (k.backend === 'native') add('kernels', 'pass', `kernels: ${k.why}`);
    else if (k.nativeAvailable) add('kernels', 'pass', `kernels: ${k.backend} (${k.why}); native kernels available`);
    else add('kernels', 'warn', `kernels: ${k.why}`,
      'install a C compiler (Debian: apt-get install build-essential) and run `npm run build:native` (or `npm ci`); the WASM kernels are ≈ 2–3× slower at N = 64');
  }

  // governor
  for (const c of p.cpu.pinCores.filter((c) => c < probe.onlineCpus)) {
    const path = `/sys/devices/system/cpu/cpu${c}/cpufreq/scaling_governor`;
    const gov = probe.readText(path)?.trim();
    if (gov === undefined) add(`governor:cpu${c}`, 'warn', `no cpufreq on cpu${c} (VM or container?): cannot check the ${p.cpu.governor} governor`);
    else if (gov === p.cpu.governor) add(`governor:cpu${c}`, 'pass', `cpu${c} governor ${gov}`);
    else add(`governor:cpu${c}`, 'warn', `cpu${c} governor is ${gov}, profile expects ${p.cpu.governor} (frequency changes add latency jitter)`,
      `echo ${p.cpu.governor} | sudo tee ${path}   (persist: cpufrequtils GOVERNOR=${p.cpu.governor}, or a systemd unit)`);
  }

  // serial permissions
  if (root) add('serial-group', 'pass', 'running as root (all devices accessible; not recommended for the agent)');
  else if (probe.groups.includes(p.serial.group)) add('serial-group', 'pass', `user ${probe.userName} is in ${p.serial.group}`);
  else add('serial-group', 'fail', `user ${probe.userName} is not in the ${p.serial.group} group: serial adapters will not open`, `sudo usermod -aG ${p.serial.group} ${probe.userName}   (then log out and in)`);
  if (!root) {
    if (probe.groups.includes('plugdev')) add('usb-group', 'pass', `user ${probe.userName} is in plugdev (Crazyradio/Crazyflie USB)`);
    else add('usb-group', 'warn', `user ${probe.userName} is not in plugdev: the Crazyradio will need root`, `sudo usermod -aG plugdev ${probe.userName}`);
  }

  // devices
  const devices = [...new Set(p.serial.paths.flatMap((g) => probe.glob(g)))];
  if (devices.length === 0) add('serial-devices', 'warn', `no serial adapters found (${p.serial.paths.join(', ')})`, 'plug in the robot\'s USB adapter; `kdp motors find-port` helps identify it');
  else {
    const denied = devices.filter((d) => !probe.canReadWrite(d));
    if (denied.length) add('serial-devices', 'fail', `no read/write access to ${denied.join(', ')}`, `join the ${p.serial.group} group or install the udev rules (boards/udev/)`);
    else add('serial-devices', 'pass', `serial adapters: ${devices.join(', ')}`);
  }
  if (p.serial.uart) {
    if (probe.exists(p.serial.uart)) add('uart', probe.canReadWrite(p.serial.uart) || root ? 'pass' : 'warn', `flight-controller UART ${p.serial.uart} present`);
    else add('uart', 'warn', `UART ${p.serial.uart} missing (only needed for a MAVLink serial link)`, p.name.startsWith('rpi') ? 'sudo raspi-config → Interface Options → Serial Port: login shell no, hardware yes' : 'enable the UART in the board\'s device tree');
  }
  const usb = probe.usbIds();
  const found = usb.filter((id) => USB_NAMES[id]).map((id) => `${USB_NAMES[id]} (${id})`);
  if (found.length) add('usb-devices', 'pass', `USB: ${[...new Set(found)].join(', ')}`);
  else add('usb-devices', 'warn', 'no Crazyradio, Crazyflie or Feetech adapter on USB');

  // udev rules
  for (const rule of p.udev.rules) {
    const installed = probe.readText(`/etc/udev/rules.d/${rule}`);
    const shipped = probe.readText(join(udevDir, rule));
    if (installed === undefined) add(`udev:${rule}`, 'warn', `udev rule ${rule} not installed`, `sudo cp ${join(udevDir, rule)} /etc/udev/rules.d/ && sudo udevadm control --reload-rules && sudo udevadm trigger`);
    else if (shipped !== undefined && installed.trim() !== shipped.trim()) add(`udev:${rule}`, 'warn', `udev rule ${rule} differs from boards/udev/${rule} (outdated?)`, `sudo cp ${join(udevDir, rule)} /etc/udev/rules.d/ && sudo udevadm control --reload-rules`);
    else add(`udev:${rule}`, 'pass', `udev rule ${rule} installed`);
  }
  return r;
}

/** "1-3,5" → [1,2,3,5] */
export function expandCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

export function summarize(r: readonly CheckResult[]): { pass: number; warn: number; fail: number } {
  return { pass: r.filter((c) => c.status === 'pass').length, warn: r.filter((c) => c.status === 'warn').length, fail: r.filter((c) => c.status === 'fail').length };
}
