// util/platform.ts: CPU, SIMD features and emulation recognised from recorded /proc contents (x86-64
// host, Raspberry Pi 4/5, qemu-user with and without binfmt_misc), and the live host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describePlatform, hostPlatform, platformLine, type PlatformSources } from '../../src/util/platform.js';

const X86 = [
  'processor\t: 0', 'vendor_id\t: AuthenticAMD', 'model name\t: AMD EPYC 9R14',
  'flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2 avx512f avx512bw avx512vl avx512_vnni', '',
].join('\n');
const PI5 = [
  'processor\t: 0', 'BogoMIPS\t: 108.00',
  'Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp',
  'CPU implementer\t: 0x41', 'CPU architecture: 8', 'CPU variant\t: 0x4', 'CPU part\t: 0xd0b', 'CPU revision\t: 1', '',
  'Revision\t: d04170', 'Model\t\t: Raspberry Pi 5 Model B Rev 1.0', '',
].join('\n');
const PI4 = PI5.replace(/^Features.*$/m, 'Features\t: fp asimd evtstrm crc32 cpuid').replace('0xd0b', '0xd08').replace('Pi 5 Model B Rev 1.0', 'Pi 4 Model B Rev 1.5');

const base = (o: Partial<PlatformSources>): PlatformSources => ({
  arch: 'x64', cpuinfo: X86, comm: 'node\n', binfmt: '', osCpuModel: 'AMD EPYC 9R14', cores: 2, maxFreqKHz: '',
  env: {}, node: 'v20.20.2', v8: '11.3.244.8-node.38', ...o,
});

test('x86-64 host: model, SIMD features in a fixed order, not emulated, no cpufreq', () => {
  const p = describePlatform(base({}));
  assert.is(p.cpuModel, 'AMD EPYC 9R14');
  assert.is(p.cpuIsa, 'x64');
  assert.equal(p.simd, ['sse4_1', 'sse4_2', 'ssse3', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni']);
  assert.is(p.emulated, false);
  assert.is(p.emulation, null);
  assert.is(p.maxClockMHz, null);
  assert.match(platformLine(p), /^Platform: x64 on AMD EPYC 9R14 \(2 cores; SIMD sse4_1 .*avx512_vnni\), Node v20\.20\.2 \/ V8 11\.3/);
});

test('Raspberry Pi 5 / Pi 4: the core named from its CPU part, the board from Model, dot-product support visible', () => {
  const p5 = describePlatform(base({ arch: 'arm64', cpuinfo: PI5, osCpuModel: 'unknown', cores: 4, maxFreqKHz: '2400000\n' }));
  assert.is(p5.cpuModel, 'Cortex-A76 (Raspberry Pi 5 Model B Rev 1.0)');
  assert.equal(p5.simd, ['asimd', 'asimdhp', 'asimddp']);
  assert.is(p5.maxClockMHz, 2400);
  assert.is(p5.emulated, false);
  const p4 = describePlatform(base({ arch: 'arm64', cpuinfo: PI4, osCpuModel: '', cores: 4, maxFreqKHz: '1800000' }));
  assert.is(p4.cpuModel, 'Cortex-A72 (Raspberry Pi 4 Model B Rev 1.5)');
  assert.equal(p4.simd, ['asimd'], 'A72 (Armv8.0): no sdot, no fp16');
  assert.is(p4.maxClockMHz, 1800);
});

test('qemu-user is recognised by the process name, by a foreign /proc/cpuinfo, and by a binfmt_misc entry for our own ISA', () => {
  const byComm = describePlatform(base({ arch: 'arm64', comm: 'qemu-aarch64-st\n' }));
  assert.ok(byComm.emulated);
  assert.match(byComm.emulation!, /qemu-aarch64-st/);
  assert.is(byComm.cpuModel, 'AMD EPYC 9R14', 'the CPU named is the host\'s, and the report says it is emulated');
  const byIsa = describePlatform(base({ arch: 'arm64', comm: 'node\n' }));
  assert.ok(byIsa.emulated);
  assert.match(byIsa.emulation!, /arm64 process on a CPU that \/proc\/cpuinfo describes as x64/);
  const byBinfmt = describePlatform(base({ arch: 'arm64', cpuinfo: PI5, binfmt: 'enabled\ninterpreter /usr/bin/qemu-aarch64-static\n' }));
  assert.ok(byBinfmt.emulated);
  assert.match(byBinfmt.emulation!, /binfmt_misc/);
  assert.not.ok(describePlatform(base({ arch: 'arm64', cpuinfo: PI5, binfmt: 'disabled\n' })).emulated);
});

test('KDP_EMULATED=1 forces, =0 clears the verdict', () => {
  assert.is(describePlatform(base({ env: { KDP_EMULATED: '1' } })).emulation, 'KDP_EMULATED=1');
  assert.not.ok(describePlatform(base({ arch: 'arm64', comm: 'qemu-aarch64-st', env: { KDP_EMULATED: '0' } })).emulated);
});

test('this host: arch and engine are the process\'s, not emulated (the arm64 suite checks the emulated side)', () => {
  const p = hostPlatform();
  assert.is(p.arch, process.arch);
  assert.equal(p.engine, { node: process.version, v8: process.versions.v8 });
  assert.ok(p.cores >= 1);
  assert.is(p.emulated, false, p.emulation ?? '');
});

test.run();
