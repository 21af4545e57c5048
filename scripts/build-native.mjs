#!/usr/bin/env node
// Builds the optional native kernel module (src/native/*.c → build/native/kdp_native.node) with the
// system C compiler and the N-API headers of the `node-api-headers` npm package: no download at install.
// Runs on `npm ci` after build-wasm. It never fails the install: on any problem it writes the reason to
// build/native/status.json, and the runtime uses the WASM kernels and says why (`kdp bench`,
// `kdp board check`).
//
//   node scripts/build-native.mjs [--force]      host build (skips when up to date)
//   node scripts/build-native.mjs --check        also build check_kernels for the host (tests)
//   --out DIR                                    write into DIR instead of build/native[/ARCH]
//   node scripts/build-native.mjs --arch arm64   cross-build with aarch64-linux-gnu-gcc into build/native/arm64/:
//                                                kdp_native.node and check_kernels (a Node-free bit-exactness
//                                                check of every arm64 variant, for qemu-aarch64 or a board)
// KDP_NATIVE_BUILD=0 skips the build (the runtime then reports "not built"); CC overrides the compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'native');
const args = process.argv.slice(2);
const force = args.includes('--force');
const cross = args.includes('--arch') ? args[args.indexOf('--arch') + 1] : null;
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : cross ? join(root, 'build', 'native', cross) : join(root, 'build', 'native');
const withCheck = Boolean(cross) || args.includes('--check');
const out = join(outDir, 'kdp_native.node');
const statusFile = join(outDir, 'status.json');
// -ffp-contract=off: no fused multiply-add, so the float kernel rounds exactly like the WASM one
const FLAGS = ['-O3', '-std=c11', '-fPIC', '-ffp-contract=off', '-fvisibility=hidden', '-Wall', '-Wextra'];
const UNITS = ['kdp_native.c', 'kernels_scalar.c', 'kernels_x86.c', 'kernels_arm.c'];

const status = (s) => {
  try {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(statusFile, `${JSON.stringify({ ...s, time: new Date().toISOString() }, null, 2)}\n`);
  } catch { /* an unwritable build dir: the runtime reports "not built" */ }
};
// whatever goes wrong here, `npm ci` must go on with the WASM kernels
process.on('uncaughtException', (e) => give_up(`build script error: ${e.message}`));
const give_up = (reason) => {
  status({ ok: false, reason });
  console.error(`build-native: skipped (${reason}); the WASM kernels will run`);
  process.exit(0);
};

if (process.env.KDP_NATIVE_BUILD === '0') give_up('KDP_NATIVE_BUILD=0');
if (!cross && process.platform !== 'linux' && process.platform !== 'darwin') give_up(`platform ${process.platform} is not supported by the build script`);

let headers;
try {
  headers = dirname(createRequire(import.meta.url).resolve('node-api-headers/include/node_api.h'));
} catch {
  give_up('the node-api-headers package is not installed (npm ci installs it)');
}

const cc = process.env.CC ?? (cross === 'arm64' ? 'aarch64-linux-gnu-gcc' : cross ? null : 'cc');
if (!cc) give_up(`unknown --arch ${cross} (supported: arm64)`);
try {
  execFileSync(cc, ['--version'], { stdio: 'ignore' });
} catch {
  give_up(`no C compiler "${cc}" on PATH (Debian: apt-get install ${cross === 'arm64' ? 'gcc-aarch64-linux-gnu' : 'build-essential'})`);
}

const sources = UNITS.map((f) => join(srcDir, f));
const newest = Math.max(...readdirSync(srcDir).map((f) => statSync(join(srcDir, f)).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
const upToDate = (f) => existsSync(f) && statSync(f).mtimeMs > newest;
if (!force && upToDate(out) && (!withCheck || upToDate(join(outDir, 'check_kernels')))) process.exit(0);

const compile = (target, extra) => {
  const tmp = `${target}.tmp-${process.pid}`;
  execFileSync(cc, [...FLAGS, ...extra, '-o', tmp], { stdio: ['ignore', 'inherit', 'pipe'] });
  renameSync(tmp, target); // a half-written module is never loaded
};
try {
  mkdirSync(outDir, { recursive: true });
  // N-API symbols resolve against the node binary at load time; -shared leaves them undefined here
  compile(out, ['-shared', `-I${headers}`, ...sources, ...(process.platform === 'darwin' && !cross ? ['-undefined', 'dynamic_lookup'] : [])]);
  if (withCheck) {
    compile(join(outDir, 'check_kernels'), [...(cross ? ['-static'] : []), ...['check_kernels.c', 'kernels_scalar.c', 'kernels_x86.c', 'kernels_arm.c'].map((f) => join(srcDir, f))]);
  }
} catch (e) {
  const stderr = e.stderr ? e.stderr.toString().trim().split('\n').slice(-3).join(' | ') : e.message;
  give_up(`${cc} failed: ${stderr}`);
}
status({ ok: true, compiler: cc, flags: FLAGS.join(' '), headers: 'node-api-headers' });
console.error(`build-native: src/native/*.c -> ${relative(root, out)}`);
