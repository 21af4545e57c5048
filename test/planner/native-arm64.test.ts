// The arm64 variants of the native kernels (NEON dotprod `sdot` for a Pi 5 / Jetson Orin, plain NEON for
// a Pi 4), cross-compiled with Debian's gcc-aarch64-linux-gnu and run under qemu-aarch64: the Node-free
// harness (src/native/check_kernels.c) must reproduce the TypeScript reference bit for bit on every case.
// `-cpu max` has dotprod (both variants run); `-cpu cortex-a72` lacks it (the getauxval check must skip
// sdot and plain NEON must still be exact). .ci/run installs the cross compiler and qemu-user-static.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeNativeCases } from '../helpers/native-cases.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const qemu = process.env.KDP_QEMU_AARCH64 ?? ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => existsSync(p));
const dir = mkdtempSync(join(tmpdir(), 'kdp-native-arm64-'));
let cases_n: number | undefined; // one case file for both CPU models

test('cross-build: build-native.mjs --arch arm64 produces the module and the static check program', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-native.mjs'), '--arch', 'arm64', '--force', '--out', dir], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const st = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { ok: boolean; reason?: string };
  assert.ok(st.ok, `arm64 build failed: ${st.reason} (Debian: apt-get install gcc-aarch64-linux-gnu)`);
  const file = readFileSync(join(dir, 'kdp_native.node'));
  assert.is(file.readUInt16LE(18), 183, 'ELF machine is EM_AARCH64');
});

for (const [cpu, expect] of [['max', ['neon-dotprod', 'neon', 'scalar']], ['cortex-a72', ['neon', 'scalar']]] as const) {
  test(`qemu-aarch64 -cpu ${cpu}: ${expect.join(', ')} bit-exact with the TypeScript reference`, () => {
    assert.ok(qemu, 'qemu-aarch64 not installed (Debian: apt-get install qemu-user-static; .ci/run does)');
    const cases = join(dir, 'cases.bin');
    const n = cases_n ??= writeNativeCases(cases);
    const r = spawnSync(qemu!, ['-cpu', cpu, join(dir, 'check_kernels'), cases], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stdout + r.stderr);
    for (const v of expect) assert.match(r.stdout, new RegExp(`variant ${v}: ${n}/${n} cases bit-exact`));
    if (cpu === 'cortex-a72') assert.match(r.stdout, /variant neon-dotprod: skipped: not supported by this CPU/);
    console.log(`\n[figure] arm64 (${cpu}) ${r.stdout.trim().split('\n').join('; ')}`);
  });
}

test('clean up', () => { rmSync(dir, { recursive: true, force: true }); });
test.run();
